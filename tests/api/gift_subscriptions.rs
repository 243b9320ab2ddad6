//! Gift subscriptions: bought by anyone with a one-time Checkout, emailed
//! once Stripe says they are paid, redeemed once for a comp of the tier,
//! revoked by a refund.

use broadsheet::db::gift_subscriptions::StoredGift;
use reqwest::StatusCode;

use crate::{
    email::link_in,
    helpers::{PAID_MARKER, TestApp, new_client, spawn_app_with},
    smtp::{Parsed, SmtpSink},
    stripe::{self, FakeStripe},
};

async fn gift_app() -> (TestApp, FakeStripe, SmtpSink) {
    let fake = FakeStripe::start().await;
    let sink = SmtpSink::start().await;
    let mut settings = stripe::billing_settings(&fake);
    settings.insert("SMTP_URL", sink.url());
    (spawn_app_with(settings).await, fake, sink)
}

/// Orders a gift of the seeded tier (`paid`) from the site's form.
async fn order(app: &TestApp, months: &str, recipient: &str, deliver_on: &str) -> reqwest::Response {
    let option = format!("paid:{months}:usd");
    let fields = [
        ("option", option.as_str()),
        ("buyer_email", "ana@example.com"),
        ("buyer_name", "Ana"),
        ("recipient_email", recipient),
        ("message", "Happy birthday!"),
        ("deliver_on", deliver_on),
    ];
    app.post_form(&new_client(), "/gift", &fields).await
}

async fn stored_gift(app: &TestApp, id: i32) -> StoredGift {
    app.db(move |conn| Ok(broadsheet::db::gift_subscriptions::find(conn, id)?.unwrap()))
        .await
}

/// Stripe's `checkout.session.completed` for gift `id`, as Stripe would send it.
async fn pay(app: &TestApp, id: i32) -> StatusCode {
    let gift = stored_gift(app, id).await;
    let session = stripe::gift_session_completed(
        gift.checkout_session_id.as_deref().unwrap(),
        id,
        &gift.currency,
        gift.amount,
        &format!("pi_gift_{id}"),
    );
    let event = stripe::event(
        &format!("evt_gift_paid_{id}"),
        "checkout.session.completed",
        stripe::now(),
        session,
    );
    app.webhook(&event).await
}

/// The redeem link in the newest email to `to`, once one has arrived.
async fn redeem_link_to(sink: &SmtpSink, to: &str) -> String {
    let deadline = tokio::time::Instant::now() + crate::email::WAIT;
    while !sink.received().iter().any(|m| m.to[0] == to) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    link_in(sink, to, "/redeem/")
}

/// How many emails of `kind` were queued for `to`.
async fn queued(app: &TestApp, kind: &'static str, to: &'static str) -> i64 {
    app.db(move |conn| {
        use broadsheet::db::schema::outbox;
        use diesel::prelude::*;
        Ok(outbox::table
            .filter(outbox::to_email.eq(to))
            .filter(outbox::kind.eq(kind))
            .count()
            .get_result(conn)?)
    })
    .await
}

async fn refund(app: &TestApp, id: i32, amount: i64) -> StatusCode {
    let charge = stripe::guest_charge(&format!("ch_gift_{id}"), &format!("pi_gift_{id}"), amount, amount);
    let event = stripe::event(
        &format!("evt_gift_refund_{id}"),
        "charge.refunded",
        stripe::now(),
        charge,
    );
    app.webhook(&event).await
}

#[tokio::test]
async fn a_gift_is_paid_for_emailed_to_both_and_redeemed_once_for_its_months() {
    let (app, fake, sink) = gift_app().await;
    let (status, page) = app.get_text(&new_client(), "/gift").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("6 months for $48") && page.contains("12 months for $80"),
        "{page}"
    );

    let response = order(&app, "6", "friend@example.com", "").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let form = &fake.requests("/v1/checkout/sessions")[0].form;
    assert_eq!(form["mode"], "payment");
    assert_eq!(form["line_items[0][price_data][unit_amount]"], "4800");
    assert_eq!(form["line_items[0][price_data][currency]"], "usd");
    assert_eq!(
        form["line_items[0][price_data][product_data][name]"],
        "6 months of Paid, a gift"
    );
    assert_eq!(form["customer_email"], "ana@example.com");
    assert_eq!(form["metadata[broadsheet_gift_id]"], "1");
    assert!(
        !form.contains_key("customer"),
        "anyone may buy: no customer of ours"
    );

    // A completed session that is not the one we opened changes nothing.
    let forged = stripe::gift_session_completed("cs_forged", 1, "usd", 4800, "pi_forged");
    let event = stripe::event("evt_forged", "checkout.session.completed", stripe::now(), forged);
    assert_eq!(app.webhook(&event).await, StatusCode::OK);
    assert_eq!(stored_gift(&app, 1).await.status, "pending");

    assert_eq!(pay(&app, 1).await, StatusCode::OK);
    let link = redeem_link_to(&sink, "ana@example.com").await;
    assert_eq!(redeem_link_to(&sink, "friend@example.com").await, link);
    let to_friend = sink
        .received()
        .into_iter()
        .find(|m| m.to[0] == "friend@example.com")
        .unwrap();
    let (text, _) = to_friend.bodies();
    assert!(
        text.contains("Ana gave you 6 months of Paid") && text.contains("Happy birthday!"),
        "{text}"
    );

    let (status, page) = app.get_text(&new_client(), &link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Create a free account to redeem it"), "{page}");

    // Two members try the link at once: exactly one gets the gift.
    let (_, _, paid) = app.publish_one_of_each().await;
    let (friend, _) = app.member("friend@example.com").await;
    let (cousin, _) = app.member("cousin@example.com").await;
    let (a, b) = tokio::join!(
        app.post_form(&friend, &link, &[]),
        app.post_form(&cousin, &link, &[])
    );
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::SEE_OTHER, StatusCode::GONE]);
    let winner = if a.status() == StatusCode::SEE_OTHER {
        &friend
    } else {
        &cousin
    };
    let loser = if a.status() == StatusCode::SEE_OTHER {
        &cousin
    } else {
        &friend
    };
    let (_, article) = app.get_text(winner, &format!("/p/{paid}")).await;
    assert!(article.contains(PAID_MARKER), "the gift gives the tier's posts");
    let (_, article) = app.get_text(loser, &format!("/p/{paid}")).await;
    assert!(!article.contains(PAID_MARKER));
    let (status, page) = app.get_text(loser, &link).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("This gift has been redeemed"), "{page}");

    // A redelivered payment sends nothing twice.
    assert_eq!(pay(&app, 1).await, StatusCode::OK);
    assert_eq!(queued(&app, "gift_bought", "ana@example.com").await, 1);
    assert_eq!(queued(&app, "gift_received", "friend@example.com").await, 1);
}

#[tokio::test]
async fn a_refund_revokes_an_unredeemed_gift_and_ends_a_redeemed_one() {
    let (app, _fake, sink) = gift_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    for _ in 0..2 {
        assert_eq!(order(&app, "1", "", "").await.status(), StatusCode::SEE_OTHER);
    }
    assert_eq!(pay(&app, 1).await, StatusCode::OK);
    let first = redeem_link_to(&sink, "ana@example.com").await;
    sink.clear();
    assert_eq!(pay(&app, 2).await, StatusCode::OK);
    let second = redeem_link_to(&sink, "ana@example.com").await;
    assert_ne!(first, second);

    let (reader, _) = app.member("friend@example.com").await;
    assert_eq!(
        app.post_form(&reader, &second, &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    let (_, article) = app.get_text(&reader, &format!("/p/{paid}")).await;
    assert!(article.contains(PAID_MARKER));

    assert_eq!(refund(&app, 1, 800).await, StatusCode::OK);
    let (status, page) = app.get_text(&reader, &first).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("This gift was refunded"), "{page}");
    assert_eq!(
        app.post_form(&reader, &first, &[]).await.status(),
        StatusCode::GONE
    );

    assert_eq!(refund(&app, 2, 800).await, StatusCode::OK);
    let (_, article) = app.get_text(&reader, &format!("/p/{paid}")).await;
    assert!(!article.contains(PAID_MARKER), "a refunded gift's comp has ended");
}

#[tokio::test]
async fn a_gift_for_a_later_date_waits_and_a_bad_order_comes_back_with_the_form() {
    let (app, _fake, sink) = gift_app().await;
    let later = (time::OffsetDateTime::now_utc().date() + time::Duration::days(10)).to_string();
    assert_eq!(
        order(&app, "12", "friend@example.com", &later).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(pay(&app, 1).await, StatusCode::OK);
    redeem_link_to(&sink, "ana@example.com").await;
    let to_buyer = sink
        .received()
        .into_iter()
        .find(|m| m.to[0] == "ana@example.com")
        .unwrap();
    assert!(
        to_buyer
            .bodies()
            .0
            .contains("We will email it to friend@example.com on")
    );
    let waiting = app
        .db(|conn| {
            use broadsheet::db::schema::outbox;
            use diesel::prelude::*;
            Ok(outbox::table
                .filter(outbox::to_email.eq("friend@example.com"))
                .select((outbox::status, outbox::next_attempt_at))
                .first::<(String, time::PrimitiveDateTime)>(conn)?)
        })
        .await;
    assert_eq!(waiting.0, "pending");
    assert!(waiting.1.date().to_string() == later, "{waiting:?}");
    assert!(sink.received().iter().all(|m| m.to[0] != "friend@example.com"));

    let before = app.count_rows("gift_subscriptions").await;
    for (months, recipient, deliver_on, says) in [
        ("5", "", "", "choose one of the gifts"),
        ("6", "not-an-email", "", "valid email address"),
        ("6", "", &later, "give the recipient"),
        ("6", "friend@example.com", "2020-01-01", "today or within a year"),
    ] {
        let response = order(&app, months, recipient, deliver_on).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = response.text().await.unwrap();
        assert!(page.contains(says), "{says}: {page}");
        assert!(page.contains("value=\"ana@example.com\""), "what was typed stays");
    }
    // A currency the tier is not sold in is no gift either.
    let fields = [("option", "paid:6:eur"), ("buyer_email", "ana@example.com")];
    let response = app.post_form(&new_client(), "/gift", &fields).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count_rows("gift_subscriptions").await, before);
    let (status, _) = app.get_text(&new_client(), "/redeem/not-a-code").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn gift_orders_from_one_network_are_rate_limited_like_sign_ups() {
    let fake = FakeStripe::start().await;
    let mut settings = stripe::billing_settings(&fake);
    settings.insert("BROADSHEET_SIGNUPS_PER_IP_PER_HOUR", "1".to_owned());
    let app = spawn_app_with(settings).await;
    assert_eq!(order(&app, "3", "", "").await.status(), StatusCode::SEE_OTHER);
    let refused = order(&app, "3", "", "").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(app.count_rows("gift_subscriptions").await, 1);
}
