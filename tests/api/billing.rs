//! Billing: Checkout and the portal through the real async-stripe client
//! against a fake Stripe, and webhooks signed as Stripe signs them.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{
    helpers::{PAID_MARKER, TestApp, new_client, spawn_app, spawn_app_with},
    stripe::{self, FakeStripe, PRICE_MONTHLY, PRICE_YEARLY, WEBHOOK_SECRET},
};

pub(crate) async fn billing_app() -> (TestApp, FakeStripe) {
    let fake = FakeStripe::start().await;
    let app = spawn_app_with(stripe::billing_settings(&fake)).await;
    (app, fake)
}

impl TestApp {
    /// Delivers a signed webhook; returns the status.
    pub(crate) async fn webhook(&self, payload: &str) -> StatusCode {
        let header = stripe::signature_header(WEBHOOK_SECRET, stripe::now(), payload);
        self.webhook_with(payload, Some(&header)).await
    }

    async fn webhook_with(&self, payload: &str, header: Option<&str>) -> StatusCode {
        let mut request = new_client()
            .post(self.url("/stripe/webhook"))
            .body(payload.to_owned());
        if let Some(header) = header {
            request = request.header("Stripe-Signature", header);
        }
        request.send().await.unwrap().status()
    }

    /// Stores `customer` as the member's Stripe customer, as `/subscribe`
    /// does before it sends them to Checkout.
    pub(crate) async fn link_customer(&self, user_id: i32, customer: &'static str) {
        self.db(move |conn| Ok(broadsheet::db::billing::set_customer(conn, user_id, customer)?))
            .await;
    }

    async fn stored_customer(&self, user_id: i32) -> Option<String> {
        self.db(
            move |conn| Ok(broadsheet::db::users::find(conn, user_id)?.and_then(|u| u.stripe_customer_id)),
        )
        .await
    }

    /// Runs `broadsheet admin stripe-sync` against `fake`.
    pub(crate) fn stripe_sync(&self, fake: &FakeStripe) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_broadsheet"))
            .args(["admin", "stripe-sync"])
            .envs(stripe::billing_settings(fake))
            .env("DATABASE_URL", &self.config.database_url)
            .env("BROADSHEET_DATA_DIR", self.data_dir.path())
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    }

    pub(crate) async fn stored_status(&self, subscription_id: &'static str) -> Option<String> {
        self.db(move |conn| {
            Ok(broadsheet::db::billing::subscription(conn, subscription_id)?.map(|s| s.status))
        })
        .await
    }
}

pub(crate) fn days(n: i64) -> i64 {
    stripe::now() + n * 86_400
}

#[tokio::test]
async fn subscribing_end_to_end_opens_the_paywall_and_a_failed_card_then_cancellation_close_it() {
    let (app, fake) = billing_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let (reader, user_id) = app.member("subscriber@example.com").await;

    // Subscribe: a customer is created and stored, Checkout carries our user id.
    let response = app.post_form(&reader, "/subscribe", &[("plan", "yearly")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("https://checkout.stripe.test/pay/cs_"),
        "{location}"
    );
    let customers = fake.requests("/v1/customers");
    assert_eq!(customers.len(), 1);
    assert_eq!(customers[0].form["email"], "subscriber@example.com");
    let checkout = &fake.requests("/v1/checkout/sessions")[0];
    assert_eq!(checkout.form["client_reference_id"], user_id.to_string());
    assert_eq!(checkout.form["line_items[0][price]"], PRICE_YEARLY);
    assert_eq!(checkout.form["mode"], "subscription");
    let customer = checkout.form["customer"].clone();
    assert!(checkout.form["success_url"].ends_with("/account?checkout=success"));
    assert!(checkout.form["cancel_url"].contains("/subscribe"));

    // Subscribing again reuses the customer.
    app.post_form(&reader, "/subscribe", &[("plan", "monthly")]).await;
    assert_eq!(fake.requests("/v1/customers").len(), 1);

    // Checkout completes: Stripe sends its events.
    let completed = stripe::event(
        "evt_1",
        "checkout.session.completed",
        stripe::now(),
        stripe::checkout_session_completed(&customer, &user_id.to_string(), "sub_e2e"),
    );
    assert_eq!(app.webhook(&completed).await, StatusCode::OK);
    let created = stripe::event(
        "evt_2",
        "customer.subscription.created",
        stripe::now(),
        stripe::subscription("sub_e2e", &customer, "active", PRICE_YEARLY, days(365)),
    );
    assert_eq!(app.webhook(&created).await, StatusCode::OK);
    let (_, html) = app.get_text(&reader, &format!("/p/{paid}")).await;
    assert!(html.contains(PAID_MARKER), "an active subscriber reads in full");
    let (_, account) = app.get_text(&reader, "/account").await;
    assert!(
        account.contains("Subscriber · Paid, $80 a year"),
        "the plan is named by its tier and Stripe's amount: {account}"
    );
    assert!(account.contains("Renews on"));
    assert!(account.contains("Manage billing"));

    // The card fails: still full within grace, with a banner.
    let failed = stripe::event(
        "evt_3",
        "invoice.payment_failed",
        stripe::now(),
        stripe::invoice(&customer),
    );
    assert_eq!(app.webhook(&failed).await, StatusCode::OK);
    let past_due = stripe::event(
        "evt_4",
        "customer.subscription.updated",
        stripe::now(),
        // Stripe invoiced the renewal two days ago (the period moved on)
        // and the card was declined.
        stripe::with_period_start(
            stripe::subscription("sub_e2e", &customer, "past_due", PRICE_YEARLY, days(363)),
            days(-2),
        ),
    );
    assert_eq!(app.webhook(&past_due).await, StatusCode::OK);
    let (_, html) = app.get_text(&reader, &format!("/p/{paid}")).await;
    assert!(html.contains(PAID_MARKER) && html.contains("Your last payment failed"));
    let queued: i64 = app.count_rows("outbox").await;
    assert!(
        queued >= 3,
        "welcome and payment-failed emails are queued besides the verification"
    );

    // After grace: the teaser with the update-card call and the portal button.
    let later = stripe::event(
        "evt_5",
        "customer.subscription.updated",
        stripe::now() + 1,
        // The failed renewal period in fact began ten days ago.
        stripe::with_period_start(
            stripe::subscription("sub_e2e", &customer, "past_due", PRICE_YEARLY, days(355)),
            days(-10),
        ),
    );
    assert_eq!(app.webhook(&later).await, StatusCode::OK);
    let (_, html) = app.get_text(&reader, &format!("/p/{paid}")).await;
    assert!(!html.contains(PAID_MARKER));
    assert!(html.contains("Your card on file needs updating"));
    assert!(html.contains("action=\"/billing/portal\""));
    let portal = app.post_form(&reader, "/billing/portal", &[]).await;
    assert_eq!(portal.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        portal.headers()["location"],
        "https://billing.stripe.test/session/portal"
    );
    assert_eq!(
        fake.requests("/v1/billing_portal/sessions")[0].form["customer"],
        customer
    );

    // Canceled: back to "Subscribe".
    let deleted = stripe::event(
        "evt_6",
        "customer.subscription.deleted",
        stripe::now() + 2,
        stripe::subscription("sub_e2e", &customer, "canceled", PRICE_YEARLY, days(-10)),
    );
    assert_eq!(app.webhook(&deleted).await, StatusCode::OK);
    let (_, html) = app.get_text(&reader, &format!("/p/{paid}")).await;
    assert!(!html.contains(PAID_MARKER));
    assert!(html.contains("Subscribe to keep reading"));
}

#[tokio::test]
async fn webhook_signatures_are_checked_before_anything_is_read() {
    let (app, _) = billing_app().await;
    let (_, user_id) = app.member("sig@example.com").await;
    let payload = stripe::event(
        "evt_sig",
        "checkout.session.completed",
        stripe::now(),
        stripe::checkout_session_completed("cus_sig", &user_id.to_string(), "sub_sig"),
    );
    let now = stripe::now();
    let valid = stripe::signature_header(WEBHOOK_SECRET, now, &payload);
    let cases: Vec<(&str, String, Option<String>, StatusCode)> = vec![
        ("missing header", payload.clone(), None, StatusCode::BAD_REQUEST),
        (
            "wrong secret",
            payload.clone(),
            Some(stripe::signature_header("whsec_wrong", now, &payload)),
            StatusCode::BAD_REQUEST,
        ),
        (
            "too old",
            payload.clone(),
            Some(stripe::signature_header(WEBHOOK_SECRET, now - 301, &payload)),
            StatusCode::BAD_REQUEST,
        ),
        (
            "body altered after signing",
            payload.replace("cus_sig", "cus_evil"),
            Some(valid.clone()),
            StatusCode::BAD_REQUEST,
        ),
        (
            "garbage header",
            payload.clone(),
            Some("t=abc,v1=zz".into()),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (case, body, header, expected) in cases {
        assert_eq!(
            app.webhook_with(&body, header.as_deref()).await,
            expected,
            "case: {case}"
        );
    }
    assert_eq!(
        app.count_rows("stripe_events").await,
        0,
        "nothing was recorded for a bad signature"
    );

    let rotated = format!("{},v1={}", valid, "00".repeat(32));
    let two = format!(
        "t={now},v1={},{}",
        "ab".repeat(32),
        valid.split(',').nth(1).unwrap()
    );
    assert_eq!(
        app.webhook_with(&payload, Some(&two)).await,
        StatusCode::OK,
        "one of two v1 values matches"
    );
    assert_eq!(app.webhook_with(&payload, Some(&rotated)).await, StatusCode::OK);
}

#[tokio::test]
async fn a_duplicate_event_answers_200_and_changes_nothing() {
    let (app, _) = billing_app().await;
    let (_, user_id) = app.member("dup@example.com").await;
    let completed = stripe::event(
        "evt_dup",
        "checkout.session.completed",
        stripe::now(),
        stripe::checkout_session_completed("cus_dup", &user_id.to_string(), "sub_dup"),
    );
    assert_eq!(app.webhook(&completed).await, StatusCode::OK);
    let emails = app.count_rows("outbox").await;
    assert_eq!(app.webhook(&completed).await, StatusCode::OK);
    assert_eq!(
        app.count_rows("outbox").await,
        emails,
        "the welcome email is not queued twice"
    );
    assert_eq!(app.count_rows("stripe_events").await, 1);
}

#[tokio::test]
async fn events_arriving_out_of_order_never_roll_a_subscription_back() {
    let (app, _) = billing_app().await;
    let (_, user_id) = app.member("order@example.com").await;
    app.link_customer(user_id, "cus_order").await;
    let link = stripe::event(
        "evt_o0",
        "checkout.session.completed",
        stripe::now(),
        stripe::checkout_session_completed("cus_order", &user_id.to_string(), "sub_order"),
    );
    app.webhook(&link).await;
    let t = stripe::now() - 100;
    let newer = stripe::event(
        "evt_o2",
        "customer.subscription.updated",
        t + 50,
        stripe::subscription("sub_order", "cus_order", "past_due", PRICE_MONTHLY, days(20)),
    );
    let older = stripe::event(
        "evt_o1",
        "customer.subscription.updated",
        t,
        stripe::subscription("sub_order", "cus_order", "active", PRICE_MONTHLY, days(20)),
    );
    assert_eq!(app.webhook(&newer).await, StatusCode::OK);
    assert_eq!(app.webhook(&older).await, StatusCode::OK);
    assert_eq!(
        app.stored_status("sub_order").await.as_deref(),
        Some("past_due"),
        "an older update changes nothing"
    );

    let deleted = stripe::event(
        "evt_o3",
        "customer.subscription.deleted",
        t + 60,
        stripe::subscription("sub_order", "cus_order", "canceled", PRICE_MONTHLY, days(20)),
    );
    let stale_update = stripe::event(
        "evt_o4",
        "customer.subscription.updated",
        t + 55,
        stripe::subscription("sub_order", "cus_order", "active", PRICE_MONTHLY, days(20)),
    );
    assert_eq!(app.webhook(&deleted).await, StatusCode::OK);
    assert_eq!(app.webhook(&stale_update).await, StatusCode::OK);
    assert_eq!(
        app.stored_status("sub_order").await.as_deref(),
        Some("canceled"),
        "deleted stays deleted"
    );
}

#[tokio::test]
async fn unknown_event_types_and_other_products_prices_are_ignored() {
    let (app, _) = billing_app().await;
    let (reader, user_id) = app.member("shared@example.com").await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let link = stripe::event(
        "evt_s0",
        "checkout.session.completed",
        stripe::now(),
        stripe::checkout_session_completed("cus_shared", &user_id.to_string(), "sub_other"),
    );
    app.webhook(&link).await;
    let unknown = stripe::event("evt_s1", "price.created", stripe::now(), stripe::fixture("price"));
    assert_eq!(app.webhook(&unknown).await, StatusCode::OK);
    let other_product = stripe::event(
        "evt_s2",
        "customer.subscription.created",
        stripe::now(),
        stripe::subscription(
            "sub_other",
            "cus_shared",
            "active",
            "price_of_another_product",
            days(30),
        ),
    );
    assert_eq!(app.webhook(&other_product).await, StatusCode::OK);
    assert_eq!(app.stored_status("sub_other").await, None);
    let (_, html) = app.get_text(&reader, &format!("/p/{paid}")).await;
    assert!(
        !html.contains(PAID_MARKER),
        "a subscription to something else grants nothing here"
    );
}

#[tokio::test]
async fn a_failing_event_answers_500_stays_unprocessed_and_its_retry_succeeds() {
    let (app, _) = billing_app().await;
    let (_, user_id) = app.member("early@example.com").await;
    // The subscription event overtakes the commit that stores the customer
    // `/subscribe` created: nobody has that customer yet.
    let created = stripe::event(
        "evt_f1",
        "customer.subscription.created",
        stripe::now(),
        stripe::subscription("sub_early", "cus_new", "active", PRICE_MONTHLY, days(30)),
    );
    assert_eq!(app.webhook(&created).await, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(app.stored_status("sub_early").await, None, "nothing half written");
    app.link_customer(user_id, "cus_new").await;
    assert_eq!(
        app.webhook(&created).await,
        StatusCode::OK,
        "Stripe's retry is processed"
    );
    assert_eq!(app.stored_status("sub_early").await.as_deref(), Some("active"));
}

#[tokio::test]
async fn without_stripe_settings_billing_says_it_is_not_configured_and_the_rest_works() {
    let app = spawn_app().await;
    let (reader, _) = app.member("nobilling@example.com").await;
    let response = app.get_with(&reader, "/subscribe").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Billing is not configured")
    );
    let response = app.post_form(&reader, "/subscribe", &[("plan", "monthly")]).await;
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Billing is not configured")
    );
    let response = app.post_form(&reader, "/billing/portal", &[]).await;
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Billing is not configured")
    );
    assert_eq!(app.webhook("{}").await, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/").await.status(), StatusCode::OK);
    let anonymous = app
        .post_form(&new_client(), "/subscribe", &[("plan", "monthly")])
        .await;
    assert_eq!(anonymous.headers()["location"], "/signup?next=/subscribe");
}

#[tokio::test]
async fn a_price_or_plan_not_on_sale_is_refused_clearly() {
    let (app, fake) = billing_app().await;
    let (reader, _) = app.member("plan@example.com").await;
    for form in [
        [("plan", "lifetime")],
        [("price", "price_of_another_product")],
        [("price", "")],
    ] {
        let response = app.post_form(&reader, "/subscribe", &form).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Choose one of the prices")
        );
    }
    assert!(fake.requests("/v1/customers").is_empty());
}

#[tokio::test]
async fn stripe_sync_fixes_drift_from_what_stripe_says_now() {
    let (app, fake) = billing_app().await;
    let (_, user_id) = app.member("drift@example.com").await;
    app.link_customer(user_id, "cus_drift").await;
    let link = stripe::event(
        "evt_d0",
        "checkout.session.completed",
        stripe::now(),
        stripe::checkout_session_completed("cus_drift", &user_id.to_string(), "sub_drift"),
    );
    app.webhook(&link).await;
    let created = stripe::event(
        "evt_d1",
        "customer.subscription.created",
        stripe::now(),
        stripe::subscription("sub_drift", "cus_drift", "active", PRICE_MONTHLY, days(30)),
    );
    app.webhook(&created).await;
    // A cancellation whose webhook we never got:
    fake.set_subscriptions(
        "cus_drift",
        vec![stripe::subscription(
            "sub_drift",
            "cus_drift",
            "canceled",
            PRICE_MONTHLY,
            days(30),
        )],
    );

    let output = app.stripe_sync(&fake);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("sub_drift active") && stdout.contains("→ canceled"),
        "{stdout}"
    );
    assert!(stdout.contains("1 subscription(s) corrected."));
    assert_eq!(app.stored_status("sub_drift").await.as_deref(), Some("canceled"));
}

#[tokio::test]
async fn an_admin_comps_a_member_and_takes_it_back() {
    use broadsheet::domain::role::Role;
    let app = spawn_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let admin = app.api_key_for("admin@example.com", Role::Admin).await;
    let editor = app.editor_key().await;
    let (reader, user_id) = app.member("guest@example.com").await;
    let path = format!("/admin/api/members/{user_id}/comp");

    let forbidden = app.admin(Method::POST, Some(&editor), &path, None).await;
    assert_eq!(
        forbidden.status(),
        StatusCode::FORBIDDEN,
        "editors see members but do not change them"
    );
    let granted = app
        .admin(
            Method::POST,
            Some(&admin),
            &path,
            Some(json!({"reason": "press"})),
        )
        .await;
    assert_eq!(granted.status(), StatusCode::CREATED);
    let (_, html) = app.get_text(&reader, &format!("/p/{paid}")).await;
    assert!(html.contains(PAID_MARKER));

    assert_eq!(
        app.admin(Method::DELETE, Some(&admin), &path, None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let (_, html) = app.get_text(&reader, &format!("/p/{paid}")).await;
    assert!(!html.contains(PAID_MARKER));

    let expired = app
        .admin(
            Method::POST,
            Some(&admin),
            &path,
            Some(json!({"expires_at": "2020-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(expired.status(), StatusCode::CREATED);
    let (_, html) = app.get_text(&reader, &format!("/p/{paid}")).await;
    assert!(!html.contains(PAID_MARKER), "an expired comp grants nothing");

    let missing = app
        .admin(Method::POST, Some(&admin), "/admin/api/members/99999/comp", None)
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let bad = app
        .admin(
            Method::POST,
            Some(&admin),
            &path,
            Some(json!({"expires_at": "never"})),
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn webhook_events_are_counted_in_the_metrics_by_type_and_outcome() {
    let (app, _) = billing_app().await;
    let (_, user_id) = app.member("metrics@example.com").await;
    app.link_customer(user_id, "cus_metrics").await;
    let completed = stripe::event(
        "evt_metrics",
        "checkout.session.completed",
        stripe::now(),
        stripe::checkout_session_completed("cus_metrics", &user_id.to_string(), "sub_metrics"),
    );
    assert_eq!(app.webhook(&completed).await, StatusCode::OK);
    assert_eq!(app.webhook(&completed).await, StatusCode::OK);
    assert_eq!(
        app.webhook_with(&completed, Some("t=1,v1=00")).await,
        StatusCode::BAD_REQUEST
    );
    let samples = crate::metrics::scrape(&app).await;
    let count = |labels: &str| {
        samples
            .get(&format!("broadsheet_stripe_webhook_events_total{{{labels}}}"))
            .copied()
            .unwrap_or_else(|| panic!("no {labels} in {samples:#?}"))
    };
    assert_eq!(
        count(r#"type="checkout.session.completed",outcome="processed""#),
        1.0
    );
    assert_eq!(
        count(r#"type="checkout.session.completed",outcome="duplicate""#),
        1.0
    );
    assert_eq!(count(r#"type="unverified",outcome="bad_signature""#), 1.0);
}

#[tokio::test]
async fn a_reader_who_switched_to_a_price_no_longer_sold_follows_every_event_and_the_sync() {
    let (app, fake) = billing_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let (reader, user_id) = app.member("switcher@example.com").await;
    app.link_customer(user_id, "cus_switch").await;
    let created = stripe::event(
        "evt_p1",
        "customer.subscription.created",
        stripe::now() - 30,
        stripe::subscription("sub_switch", "cus_switch", "active", PRICE_MONTHLY, days(30)),
    );
    assert_eq!(app.webhook(&created).await, StatusCode::OK);
    // The reader moves to last year's price (or the publisher changes the
    // configured prices): no longer one we sell to new subscribers.
    let switched = stripe::event(
        "evt_p2",
        "customer.subscription.updated",
        stripe::now() - 20,
        stripe::subscription(
            "sub_switch",
            "cus_switch",
            "active",
            "price_legacy_2025",
            days(30),
        ),
    );
    assert_eq!(app.webhook(&switched).await, StatusCode::OK);
    let (_, html) = app.get_text(&reader, &format!("/p/{paid}")).await;
    assert!(html.contains(PAID_MARKER), "still a paying reader");
    let cancelled = stripe::event(
        "evt_p3",
        "customer.subscription.deleted",
        stripe::now() - 10,
        stripe::subscription(
            "sub_switch",
            "cus_switch",
            "canceled",
            "price_legacy_2025",
            days(30),
        ),
    );
    assert_eq!(app.webhook(&cancelled).await, StatusCode::OK);
    assert_eq!(app.stored_status("sub_switch").await.as_deref(), Some("canceled"));
    let (_, html) = app.get_text(&reader, &format!("/p/{paid}")).await;
    assert!(
        !html.contains(PAID_MARKER),
        "a cancelled reader on an old price reads no more"
    );

    // A reactivation on the old price that only the sync learns about, then
    // its cancellation: the sync follows a known subscription whatever its price.
    fake.set_subscriptions(
        "cus_switch",
        vec![stripe::subscription(
            "sub_switch",
            "cus_switch",
            "unpaid",
            "price_legacy_2025",
            days(30),
        )],
    );
    let output = app.stripe_sync(&fake);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(app.stored_status("sub_switch").await.as_deref(), Some("unpaid"));
}

#[tokio::test]
async fn a_failed_renewal_keeps_access_for_the_grace_period_from_when_it_failed_not_to_the_new_period_end() {
    let (app, _) = billing_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let (reader, user_id) = app.member("renewal@example.com").await;
    app.link_customer(user_id, "cus_renewal").await;
    // Stripe invoiced the renewal nine days ago, which moved the period end
    // a month ahead, and the card has been failing since.
    let past_due = stripe::event(
        "evt_r1",
        "customer.subscription.updated",
        stripe::now(),
        stripe::with_period_start(
            stripe::subscription("sub_renewal", "cus_renewal", "past_due", PRICE_MONTHLY, days(21)),
            days(-9),
        ),
    );
    assert_eq!(app.webhook(&past_due).await, StatusCode::OK);
    let (_, html) = app.get_text(&reader, &format!("/p/{paid}")).await;
    assert!(
        !html.contains(PAID_MARKER),
        "nine days unpaid is past the 7-day grace"
    );
    assert!(html.contains("Your card on file needs updating"));
}

#[tokio::test]
async fn a_completed_checkout_never_moves_a_member_to_another_customer() {
    let (app, _) = billing_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let (reader, user_id) = app.member("victim@example.com").await;
    app.link_customer(user_id, "cus_victim").await;
    // (case, customer, mode)
    let cases = [
        ("someone else's customer", "cus_attacker", "subscription"),
        ("a one-off payment", "cus_victim", "payment"),
    ];
    for (n, (case, customer, mode)) in cases.into_iter().enumerate() {
        let mut session = stripe::checkout_session_completed(customer, &user_id.to_string(), "sub_attacker");
        session["mode"] = json!(mode);
        let event = stripe::event(
            &format!("evt_c{n}"),
            "checkout.session.completed",
            stripe::now(),
            session,
        );
        let response = new_client()
            .post(app.url("/stripe/webhook"))
            .header(
                "Stripe-Signature",
                stripe::signature_header(WEBHOOK_SECRET, stripe::now(), &event),
            )
            .body(event.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "case {case}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["outcome"], "refused", "case {case}");
    }
    assert_eq!(app.stored_customer(user_id).await.as_deref(), Some("cus_victim"));
    let refusals = app
        .db(|conn| {
            use broadsheet::db::schema::stripe_events::dsl::*;
            use diesel::prelude::*;
            Ok(stripe_events.select(error).load::<Option<String>>(conn)?)
        })
        .await;
    assert!(
        refusals
            .iter()
            .all(|e| e.as_deref().is_some_and(|e| e.starts_with("refused"))),
        "{refusals:?}"
    );
    // The other customer's subscription is nobody's here.
    let theirs = stripe::event(
        "evt_c9",
        "customer.subscription.created",
        stripe::now(),
        stripe::subscription("sub_attacker", "cus_attacker", "active", PRICE_MONTHLY, days(30)),
    );
    assert_eq!(app.webhook(&theirs).await, StatusCode::INTERNAL_SERVER_ERROR);
    let (_, html) = app.get_text(&reader, &format!("/p/{paid}")).await;
    assert!(!html.contains(PAID_MARKER));
}

#[tokio::test]
async fn with_billing_on_the_header_sells_the_plans_and_free_members_see_upgrade() {
    let (app, _fake) = billing_app().await;
    let (_, home) = app.get_text(&new_client(), "/").await;
    assert!(
        home.contains("class=\"button\" href=\"/subscribe\">Subscribe</a>"),
        "{home}"
    );
    let (free, _) = app.member("free@example.com").await;
    let (_, home) = app.get_text(&free, "/").await;
    assert!(home.contains("href=\"/subscribe\">Upgrade</a>"), "{home}");
    let (paying, paying_id) = app.member("paying@example.com").await;
    app.add_subscription(paying_id, "active", 30).await;
    let (_, home) = app.get_text(&paying, "/").await;
    assert!(
        !home.contains(">Upgrade</a>"),
        "a subscriber is not asked to upgrade"
    );
}

#[tokio::test]
async fn serve_runs_stripe_sync_on_its_schedule_and_repairs_a_missed_cancellation() {
    let fake = FakeStripe::start().await;
    let mut settings = stripe::billing_settings(&fake);
    settings.insert("BROADSHEET_STRIPE_SYNC_SECS", "1".to_owned());
    let app = spawn_app_with(settings).await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let (reader, user_id) = app.member("scheduled@example.com").await;
    app.link_customer(user_id, "cus_sched").await;
    let created = stripe::event(
        "evt_s1",
        "customer.subscription.created",
        stripe::now(),
        stripe::subscription("sub_sched", "cus_sched", "active", PRICE_MONTHLY, days(30)),
    );
    assert_eq!(app.webhook(&created).await, StatusCode::OK);
    // Cancelled in Stripe while our endpoint was down: no webhook arrives.
    fake.set_subscriptions(
        "cus_sched",
        vec![stripe::subscription(
            "sub_sched",
            "cus_sched",
            "canceled",
            PRICE_MONTHLY,
            days(30),
        )],
    );
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while app.stored_status("sub_sched").await.as_deref() != Some("canceled") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the scheduled sync never ran"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let (_, html) = app.get_text(&reader, &format!("/p/{paid}")).await;
    assert!(!html.contains(PAID_MARKER));
    let holder = app
        .db(|conn| Ok(broadsheet::db::leases::holder(conn, "stripe-sync")?))
        .await;
    assert!(holder.is_some_and(|(who, _)| who.starts_with("instance-")));
}

#[tokio::test]
async fn a_lease_is_held_by_one_instance_until_it_runs_out() {
    use broadsheet::db::{self, leases};
    let app = spawn_app().await;
    let ttl = time::Duration::hours(1);
    let at = db::now();
    let (a, b, a_again, b_later) = app
        .db(move |conn| {
            Ok((
                leases::try_acquire(conn, "job", "a", at, ttl)?,
                leases::try_acquire(conn, "job", "b", at + time::Duration::minutes(1), ttl)?,
                leases::try_acquire(conn, "job", "a", at + time::Duration::minutes(2), ttl)?,
                leases::try_acquire(conn, "job", "b", at + time::Duration::hours(2), ttl)?,
            ))
        })
        .await;
    assert!(a, "a free lease is taken");
    assert!(!b, "a held lease is not");
    assert!(a_again, "the holder renews it");
    assert!(b_later, "an expired lease goes to whoever asks");
}

/// A subscriber on the monthly price whose customer is `customer`; returns
/// their browser.
pub(crate) async fn paying_reader(app: &TestApp, email: &str, customer: &'static str) -> reqwest::Client {
    let (reader, user_id) = app.member(email).await;
    app.link_customer(user_id, customer).await;
    let created = stripe::event(
        &format!("evt_{customer}_created"),
        "customer.subscription.created",
        stripe::now() - 100,
        stripe::subscription(
            &format!("sub_{customer}"),
            customer,
            "active",
            PRICE_MONTHLY,
            days(20),
        ),
    );
    assert_eq!(app.webhook(&created).await, StatusCode::OK);
    reader
}

#[tokio::test]
async fn a_dispute_suspends_access_until_it_is_won_and_every_outcome_is_in_the_billing_history() {
    let (app, fake) = billing_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let reader = paying_reader(&app, "disputer@example.com", "cus_dispute").await;
    let user_id = app.user_id("disputer@example.com").await;
    fake.add_charge("ch_disputed", "cus_dispute");
    let reads_in_full = async |client: &reqwest::Client| {
        let (_, html) = app.get_text(client, &format!("/p/{paid}")).await;
        html.contains(PAID_MARKER)
    };
    assert!(reads_in_full(&reader).await);

    let opened = stripe::event(
        "evt_dp1",
        "charge.dispute.created",
        stripe::now() - 50,
        stripe::dispute("dp_1", "ch_disputed", "needs_response", 800),
    );
    assert_eq!(app.webhook(&opened).await, StatusCode::OK);
    assert!(
        !reads_in_full(&reader).await,
        "an open dispute suspends paid access"
    );
    let (_, account) = app.get_text(&reader, "/account").await;
    assert!(account.contains("paid access is paused"), "{account}");
    assert!(account.contains("Dispute of $8: needs response"), "{account}");
    let key = app.editor_key().await;
    let billing: serde_json::Value = app
        .admin(
            Method::GET,
            Some(&key),
            &format!("/admin/api/members/{user_id}/billing"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(billing["suspended"], true, "{billing}");
    assert_eq!(billing["incidents"][0]["status"], "needs_response");
    assert_eq!(billing["subscriptions"][0]["status"], "active");

    let won = stripe::event(
        "evt_dp2",
        "charge.dispute.closed",
        stripe::now() - 10,
        stripe::dispute("dp_1", "ch_disputed", "won", 800),
    );
    assert_eq!(app.webhook(&won).await, StatusCode::OK);
    assert!(reads_in_full(&reader).await, "a won dispute restores access");
    // An older update arriving late does not reopen it.
    let late = stripe::event(
        "evt_dp3",
        "charge.dispute.updated",
        stripe::now() - 30,
        stripe::dispute("dp_1", "ch_disputed", "under_review", 800),
    );
    assert_eq!(app.webhook(&late).await, StatusCode::OK);
    assert!(reads_in_full(&reader).await);
    let (_, account) = app.get_text(&reader, "/account").await;
    assert!(
        account.contains("Dispute of $8: resolved in our favour"),
        "{account}"
    );

    // A lost dispute keeps access suspended.
    fake.add_charge("ch_second", "cus_dispute");
    for (id, status, at) in [("evt_dp4", "needs_response", 0), ("evt_dp5", "lost", 5)] {
        let event = stripe::event(
            id,
            if status == "lost" {
                "charge.dispute.closed"
            } else {
                "charge.dispute.created"
            },
            stripe::now() + at,
            stripe::dispute("dp_2", "ch_second", status, 800),
        );
        assert_eq!(app.webhook(&event).await, StatusCode::OK);
    }
    assert!(!reads_in_full(&reader).await);
}

#[tokio::test]
async fn with_on_dispute_keep_a_dispute_is_recorded_and_access_stays() {
    let fake = FakeStripe::start().await;
    let mut settings = stripe::billing_settings(&fake);
    settings.insert("BROADSHEET_ON_DISPUTE", "keep".to_owned());
    let app = spawn_app_with(settings).await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let reader = paying_reader(&app, "kept@example.com", "cus_keep").await;
    fake.add_charge("ch_kept", "cus_keep");
    let opened = stripe::event(
        "evt_k1",
        "charge.dispute.created",
        stripe::now(),
        stripe::dispute("dp_k", "ch_kept", "needs_response", 800),
    );
    assert_eq!(app.webhook(&opened).await, StatusCode::OK);
    let (_, html) = app.get_text(&reader, &format!("/p/{paid}")).await;
    assert!(html.contains(PAID_MARKER));
    let (_, account) = app.get_text(&reader, "/account").await;
    assert!(
        account.contains("Dispute of $8") && !account.contains("paused"),
        "{account}"
    );
}

#[tokio::test]
async fn refunds_of_a_members_payments_appear_in_their_billing_history() {
    let (app, _fake) = billing_app().await;
    let reader = paying_reader(&app, "refunded@example.com", "cus_refund").await;
    for (id, refunded, at) in [("evt_r1", 300, 0), ("evt_r2", 800, 5)] {
        let event = stripe::event(
            id,
            "charge.refunded",
            stripe::now() + at,
            stripe::charge("ch_refund", "cus_refund", 800, refunded),
        );
        assert_eq!(app.webhook(&event).await, StatusCode::OK);
    }
    let (_, account) = app.get_text(&reader, "/account").await;
    assert!(account.contains("Refund of $8"), "{account}");
    assert!(
        !account.contains("Partial refund"),
        "one line per charge, kept up to date"
    );
    // A charge of someone else's is not ours.
    let stranger = stripe::event(
        "evt_r3",
        "charge.refunded",
        stripe::now(),
        stripe::charge("ch_other", "cus_stranger", 800, 800),
    );
    assert_eq!(app.webhook(&stranger).await, StatusCode::OK);
    assert_eq!(app.count_rows("payment_incidents").await, 1);
}
