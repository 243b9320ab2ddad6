//! Attribution: each sign-up and each paid subscription records what
//! brought it (the post whose form or teaser was used, the gift link, the
//! offer, the newsletter post whose link was followed, the referring site's
//! host), carried through the reader's forms and Stripe Checkout without a
//! cookie, and each post's stats count the members it brought.

use std::time::Duration;

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::{
    billing::billing_app,
    email::{app_sending_to, link_in, wait_until_finished},
    gifts::{create_gift, gift_path},
    helpers::{TestApp, new_client},
    smtp::{Parsed, SmtpSink},
    stripe::{self, PRICE_MONTHLY},
    tiers::{admin_key, call},
};

/// Publishes a post of `visibility` (with a paid part when paid); returns
/// its (id, slug).
async fn publish(app: &TestApp, key: &str, title: &str, visibility: &str) -> (i64, String) {
    let markdown = "The opening.\n\n<!-- paywall -->\n\nThe rest.";
    let body = json!({"title": title, "visibility": visibility, "publish": true, "markdown": markdown});
    let response = app.post_article(key, body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let article: Value = response.json().await.unwrap();
    (
        article["id"].as_i64().unwrap(),
        article["slug"].as_str().unwrap().to_owned(),
    )
}

/// HTML attribute text as the browser reads it.
fn unescape(text: &str) -> String {
    text.replace("&amp;", "&")
        .replace("&#38;", "&")
        .replace("&#61;", "=")
        .replace("&#43;", "+")
        .replace("&#37;", "%")
}

/// The value of hidden field `name`, if the page has one.
fn field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = start + html[start..].find('"')?;
    Some(unescape(&html[start..end]))
}

/// GETs `path` as a browser that followed a link from `referer`.
async fn visit(
    app: &TestApp,
    browser: &reqwest::Client,
    path: &str,
    referer: Option<&str>,
) -> reqwest::Response {
    let mut request = browser.get(app.url(path));
    if let Some(referer) = referer {
        request = request.header(header::REFERER, referer);
    }
    request.send().await.unwrap()
}

/// Sends the subscribe form on `page` for `email`, then confirms it from
/// the emailed link in the same browser.
async fn subscribe_with_form_on(
    app: &TestApp,
    sink: &SmtpSink,
    browser: &reqwest::Client,
    page: &str,
    email: &str,
) {
    let fields = [
        ("email", email.to_owned()),
        ("source", field(page, "source").expect("a subscribe form")),
        ("shown", field(page, "shown").unwrap()),
        ("trail", field(page, "trail").unwrap_or_default()),
        ("website", String::new()),
    ];
    let answer = browser.post(app.url("/join")).form(&fields).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let mut link = None;
    for _ in 0..400 {
        let wanted = |m: &crate::smtp::Received| m.to[0] == email && m.bodies().0.contains("/join/");
        if sink.received().iter().any(wanted) {
            link = Some(link_in(sink, email, "/join/"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let link = link.unwrap_or_else(|| panic!("no confirmation for {email}"));
    let confirmed = app.post_form(browser, &link, &[]).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
}

async fn member_json(app: &TestApp, key: &str, email: &str) -> Value {
    let id = app.user_id(email).await;
    let (status, member) = call(app, key, Method::GET, &format!("/admin/api/members/{id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{member}");
    member
}

async fn post_stats(app: &TestApp, key: &str, article_id: i64) -> Value {
    let path = format!("/admin/api/articles/{article_id}/stats");
    let (status, stats) = call(app, key, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    stats
}

/// Completes the Checkout the reader was sent to, as Stripe reports it:
/// the session carries the metadata it was created with.
async fn complete_checkout(app: &TestApp, fake: &stripe::FakeStripe, n: usize) {
    let form = fake.requests("/v1/checkout/sessions")[n].form.clone();
    let mut session = stripe::checkout_session_completed(
        &form["customer"],
        &form["client_reference_id"],
        &format!("sub_attr_{n}"),
    );
    session["metadata"] = json!({"broadsheet_trail": form.get("metadata[broadsheet_trail]")});
    let event = stripe::event(
        &format!("evt_attr_{n}"),
        "checkout.session.completed",
        stripe::now(),
        session,
    );
    assert_eq!(app.webhook(&event).await, StatusCode::OK);
}

#[tokio::test]
async fn a_free_sign_up_from_a_post_or_a_gift_link_is_counted_for_that_post_with_the_referring_site() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[("BROADSHEET_SUBSCRIBE_MIN_FILL_MS", "0")]).await;
    let key = app.editor_key().await;
    let (open_id, open) = publish(&app, &key, "On tides", "public").await;
    let (members_id, members) = publish(&app, &key, "Members memo", "members").await;

    // From a link on another site: only its host is kept.
    let browser = new_client();
    let referer = Some("https://www.news.ycombinator.com/item?id=42");
    let page = visit(&app, &browser, &format!("/p/{open}"), referer)
        .await
        .text()
        .await
        .unwrap();
    subscribe_with_form_on(&app, &sink, &browser, &page, "tides@example.com").await;

    // Through a subscriber's gift link to a members' post.
    let (gifter, _) = app.subscriber_with_session_token("giver@example.com").await;
    let (status, gift) = create_gift(&app, &gifter, &members, None).await;
    assert_eq!(status, StatusCode::CREATED, "{gift}");
    let stranger = new_client();
    let page = visit(&app, &stranger, &gift_path(&gift), None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Members only") || page.contains("The rest."),
        "the gifted post: {page}"
    );
    subscribe_with_form_on(&app, &sink, &stranger, &page, "gifted@example.com").await;

    let tides = member_json(&app, &key, "tides@example.com").await;
    let attribution = &tides["attribution"];
    assert_eq!(attribution.as_array().unwrap().len(), 1, "{tides}");
    assert_eq!(attribution[0]["kind"], "signup");
    assert_eq!(attribution[0]["post"], open.as_str());
    assert_eq!(
        attribution[0]["referrer"], "news.ycombinator.com",
        "the host alone"
    );
    assert_eq!(attribution[0]["gift_link_id"], Value::Null);
    let gifted = member_json(&app, &key, "gifted@example.com").await;
    assert_eq!(gifted["attribution"][0]["post"], members.as_str(), "{gifted}");
    assert!(gifted["attribution"][0]["gift_link_id"].is_i64(), "{gifted}");

    for (id, who) in [(open_id, "the open post"), (members_id, "the gifted post")] {
        let stats = post_stats(&app, &key, id).await;
        assert_eq!(stats["signups"], 1, "{who}: {stats}");
        assert_eq!(stats["paid_conversions"], 0, "{who}: {stats}");
    }
    // The reader's own record says so too, and nobody else's address is in it.
    let export = app.get_json(&browser, "/account/data.json").await.1;
    assert_eq!(export["attribution"][0]["post"], open.as_str(), "{export}");
}

#[tokio::test]
async fn a_reader_who_subscribes_from_a_paid_posts_teaser_is_its_sign_up_and_its_paid_conversion() {
    let (app, fake) = billing_app().await;
    let key = app.editor_key().await;
    let (id, slug) = publish(&app, &key, "The ledger", "paid").await;
    let browser = new_client();
    let page = visit(&app, &browser, &format!("/p/{slug}"), Some("https://t.co/abc"))
        .await
        .text()
        .await
        .unwrap();
    let start = page
        .find("href=\"/subscribe?trail=")
        .expect("the teaser's subscribe link")
        + 6;
    let subscribe = unescape(&page[start..start + page[start..].find('"').unwrap()]);

    // Not signed in: sign up first, then back to the plans, the trail kept.
    let response = visit(&app, &browser, &subscribe, None).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let signup = response.headers()[header::LOCATION].to_str().unwrap().to_owned();
    assert!(
        signup.starts_with("/signup?next=%2Fsubscribe%3Ftrail"),
        "{signup}"
    );
    let page = visit(&app, &browser, &signup, None).await.text().await.unwrap();
    let trail = field(&page, "trail").expect("the sign-up form carries the trail");
    assert_eq!(trail, format!("post={slug}&ref=t.co"));
    let next = field(&page, "next").unwrap();
    let fields = [
        ("email", "ledger@example.com"),
        ("password", "a long enough password"),
        ("next", next.as_str()),
        ("trail", trail.as_str()),
    ];
    let response = app.post_form(&browser, "/signup", &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], next.as_str());

    let page = visit(&app, &browser, &next, None).await.text().await.unwrap();
    let trail = field(&page, "trail").expect("the plans carry the trail");
    let fields = [("price", PRICE_MONTHLY), ("trail", trail.as_str())];
    let response = app.post_form(&browser, "/subscribe", &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "to Checkout");
    let form = &fake.requests("/v1/checkout/sessions")[0].form;
    assert_eq!(
        form["metadata[broadsheet_trail]"],
        format!("post={slug}&ref=t.co")
    );
    complete_checkout(&app, &fake, 0).await;

    let member = member_json(&app, &key, "ledger@example.com").await;
    let attribution = member["attribution"].as_array().unwrap();
    let kinds: Vec<&str> = attribution.iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["signup", "paid"], "{member}");
    for a in attribution {
        assert_eq!(a["post"], slug.as_str(), "{a}");
        assert_eq!(a["referrer"], "t.co", "{a}");
    }
    let stats = post_stats(&app, &key, id).await;
    assert_eq!(
        (stats["signups"].as_i64(), stats["paid_conversions"].as_i64()),
        (Some(1), Some(1)),
        "{stats}"
    );

    // Stripe delivers the same event again: counted once.
    complete_checkout(&app, &fake, 0).await;
    assert_eq!(post_stats(&app, &key, id).await["paid_conversions"], 1);
}

#[tokio::test]
async fn claiming_an_offer_from_a_shared_link_counts_the_offer_and_where_it_was_shared() {
    let (app, fake) = billing_app().await;
    fake.add_discount(stripe::coupon("BF40", Some(40.0), None, "repeating", Some(3)));
    let key = admin_key(&app).await;
    let body = json!({"code": "black-friday", "name": "Black Friday", "stripe_price_id": PRICE_MONTHLY, "coupon": "BF40"});
    let (status, offer) = call(&app, &key, Method::POST, "/admin/api/offers", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{offer}");

    let (reader, _) = app.member("bargain@example.com").await;
    let page = visit(&app, &reader, "/offer/black-friday?ref=Podcast", None)
        .await
        .text()
        .await
        .unwrap();
    let trail = field(&page, "trail").expect("the claim form carries the trail");
    assert_eq!(trail, "ref=podcast");
    // A trail is only a hint: a made-up offer id in it is replaced.
    let edited = format!("{trail}&offer=999999");
    let response = app
        .post_form(&reader, "/offer/black-friday", &[("trail", &edited)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    complete_checkout(&app, &fake, 0).await;

    let member = member_json(&app, &key, "bargain@example.com").await;
    let paid = &member["attribution"][1];
    assert_eq!(paid["kind"], "paid", "{member}");
    assert_eq!(paid["offer"], "black-friday", "{member}");
    assert_eq!(paid["referrer"], "podcast", "{member}");
    assert_eq!(member["attribution"][0]["kind"], "signup", "{member}");
    assert_eq!(
        member["attribution"][0]["post"],
        Value::Null,
        "signed up on the site itself"
    );
}

#[tokio::test]
async fn a_reader_who_follows_a_newsletter_link_and_subscribes_is_counted_for_that_newsletter_post() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[("BROADSHEET_SUBSCRIBE_MIN_FILL_MS", "0")]).await;
    app.add_verified_members("reader", 1).await;
    let key = app.editor_key().await;
    let response = app
        .post_article(
            &key,
            json!({"title": "Monday notes", "visibility": "public", "publish": true, "email": "all",
                   "markdown": "Tell a friend: [subscribe here](/)."}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let article: Value = response.json().await.unwrap();
    wait_until_finished(&app, &key, &article["send_id"]).await;
    let slug = article["slug"].as_str().unwrap();

    // The recipient forwards the email; the friend follows the link.
    let (_, html) = sink.newsletters()[0].bodies();
    let start = html
        .find("http://127.0.0.1:8080/?bs_click=")
        .expect("the tracked link to the site");
    let link =
        unescape(&html[start + "http://127.0.0.1:8080".len()..start + html[start..].find('"').unwrap()]);
    let friend = new_client();
    let response = visit(&app, &friend, &link, Some("https://mail.example.com/")).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let landing = response.headers()[header::LOCATION].to_str().unwrap().to_owned();
    assert_eq!(
        landing,
        format!("/?ref=newsletter%3A{slug}"),
        "no token, the post named"
    );
    let page = visit(&app, &friend, &landing, Some("https://mail.example.com/"))
        .await
        .text()
        .await
        .unwrap();
    subscribe_with_form_on(&app, &sink, &friend, &page, "friend@example.com").await;

    let member = member_json(&app, &key, "friend@example.com").await;
    let signup = &member["attribution"][0];
    assert_eq!(signup["newsletter"], slug, "{member}");
    assert_eq!(
        signup["referrer"],
        Value::Null,
        "the newsletter, not the webmail, brought them"
    );
    let stats = post_stats(&app, &key, article["id"].as_i64().unwrap()).await;
    assert_eq!(stats["signups"], 1, "{stats}");
}
