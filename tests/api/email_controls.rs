//! A post's email under the writer's control: its own subject and
//! preheader, test sends to staff, email-only posts, emailing a published
//! post later, and an email time of its own.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    email::{WAIT, app_sending_to, wait_until_finished},
    helpers::{PAID_MARKER, TestApp, new_client},
    smtp::{Parsed, Received, SmtpSink},
    tiers::call,
};

/// A paid post with the marker after its divider; `extra` adds or
/// overrides fields.
fn paid_post(title: &str, extra: Value) -> Value {
    let mut body = json!({
        "title": title,
        "visibility": "paid",
        "markdown": format!("The free part.\n\n<!-- paywall -->\n\nThe {PAID_MARKER} part."),
    });
    for (field, value) in extra.as_object().unwrap() {
        body[field] = value.clone();
    }
    body
}

async fn create(app: &TestApp, key: &str, body: Value) -> Value {
    let response = app.post_article(key, body).await;
    let status = response.status();
    let json: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{json}");
    json
}

/// The messages to `to` whose subject is `subject`.
fn mail_to(sink: &SmtpSink, to: &str, subject: &str) -> Vec<Received> {
    sink.received()
        .into_iter()
        .filter(|m| m.to[0] == to && m.header("Subject").as_deref() == Some(subject))
        .collect()
}

/// A server mailing `sink`, and an editor's key.
async fn emailing_app(sink: &SmtpSink) -> (TestApp, String) {
    let app = app_sending_to(sink, &[]).await;
    let key = app.editor_key().await;
    (app, key)
}

/// One paying and one free member, verified and on the default newsletter.
async fn paying_and_free(app: &TestApp) -> (String, String) {
    let members = app.add_verified_members("reader", 2).await;
    let paying = app.user_id(&members[0]).await;
    app.add_subscription(paying, "active", 30).await;
    (members[0].clone(), members[1].clone())
}

#[tokio::test]
async fn a_post_goes_out_under_its_own_subject_and_preheader_and_null_gives_back_the_defaults() {
    let sink = SmtpSink::start().await;
    let (app, key) = emailing_app(&sink).await;
    let (paying, _) = paying_and_free(&app).await;
    let post = create(
        &app,
        &key,
        paid_post(
            "What the river remembers",
            json!({"publish": true, "email": "all", "email_subject": "The river, remembered",
                   "preheader": "Seventy years after the flood", "feature_image": "/media/river.webp",
                   "feature_image_alt": "The river in flood"}),
        ),
    )
    .await;
    assert_eq!(post["email_subject"], "The river, remembered");
    assert_eq!(post["preheader"], "Seventy years after the flood");
    assert_eq!(post["site"], true);
    wait_until_finished(&app, &key, &post["send_id"]).await;
    let message = mail_to(&sink, &paying, "The river, remembered")
        .pop()
        .expect("the issue under its own subject");
    let (_, html) = message.bodies();
    assert!(
        html.contains("Seventy years after the flood"),
        "the preheader leads the HTML"
    );
    assert!(
        html.contains(r#"src="http://127.0.0.1:8080/media/river.webp""#)
            && html.contains("The river in flood"),
        "the cover image, with an absolute address and its alt text"
    );
    assert!(
        html.contains(r#"<p style="#),
        "the stylesheet is inlined for clients that drop <style>"
    );

    let (status, patched) = call(
        &app,
        &key,
        Method::PATCH,
        &format!("/admin/api/articles/{}", post["id"]),
        Some(json!({"email_subject": null, "preheader": null, "feature_image": null})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["email_subject"], Value::Null);
    assert_eq!(patched["feature_image"], Value::Null);
    assert_eq!(
        patched["feature_image_alt"],
        Value::Null,
        "removing the image removes its words"
    );
    for bad in [
        json!({"email_subject": " "}),
        json!({"preheader": "two\nlines"}),
        json!({"feature_image": "javascript:alert(1)"}),
        json!({"site": null}),
    ] {
        let (status, error) = call(
            &app,
            &key,
            Method::PATCH,
            &format!("/admin/api/articles/{}", post["id"]),
            Some(bad.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {error}");
    }
}

#[tokio::test]
async fn a_test_email_reaches_the_staff_address_with_the_segments_body_and_leaves_no_delivery_row() {
    let sink = SmtpSink::start().await;
    let (app, key) = emailing_app(&sink).await;
    let author_key = app.author_key().await;
    let draft = create(&app, &key, paid_post("Draft for testing", json!({}))).await;
    let path = format!("/admin/api/articles/{}/test-email", draft["id"]);

    let (status, sent) = call(
        &app,
        &key,
        Method::POST,
        &path,
        Some(json!({"to": ["editor@example.com"], "as": "free"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["sent_to"], json!(["editor@example.com"]));
    let (status, _) = call(
        &app,
        &key,
        Method::POST,
        &path,
        Some(json!({"to": ["Editor@Example.com", "author@example.com"], "as": "paid"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let tests = mail_to(&sink, "editor@example.com", "[Test] Draft for testing");
    assert_eq!(tests.len(), 2, "one per send, sent at once");
    let free_copy = tests
        .iter()
        .find(|m| m.bodies().0.contains("free members"))
        .expect("the free copy");
    let paid_copy = tests
        .iter()
        .find(|m| m.bodies().0.contains("paid subscribers"))
        .expect("the paid copy");
    let (free_text, free_html) = free_copy.bodies();
    assert!(
        !free_text.contains(PAID_MARKER) && !free_html.contains(PAID_MARKER),
        "the free copy stops at the divider"
    );
    assert!(free_html.contains("Subscribe to keep reading"));
    let (paid_text, paid_html) = paid_copy.bodies();
    assert!(paid_text.contains(PAID_MARKER) && paid_html.contains(PAID_MARKER));
    assert!(paid_text.contains("TEST EMAIL"), "marked as a test: {paid_text}");
    assert!(!paid_copy.is_newsletter(), "not a delivery of a send");
    assert_eq!(
        mail_to(&sink, "author@example.com", "[Test] Draft for testing").len(),
        1
    );
    assert_eq!(app.count_rows("deliveries").await, 0, "no delivery row");
    assert_eq!(app.count_rows("sends").await, 0);

    app.member("reader@example.com").await;
    for (body, expected) in [
        (
            json!({"to": ["reader@example.com"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"to": []}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"to": ["a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com", "f@example.com"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"to": ["not an address"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"to": ["editor@example.com"], "as": "gold"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (status, error) = call(&app, &key, Method::POST, &path, Some(body.clone())).await;
        assert_eq!(status, expected, "{body}: {error}");
    }
    let (status, _) = call(
        &app,
        &author_key,
        Method::POST,
        &path,
        Some(json!({"to": ["author@example.com"]})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an author tests only their own posts"
    );
    assert!(
        mail_to(&sink, "reader@example.com", "[Test] Draft for testing").is_empty(),
        "nothing went to a reader"
    );
}

#[tokio::test]
async fn an_email_only_post_is_delivered_and_absent_from_the_site_json_and_feeds() {
    let sink = SmtpSink::start().await;
    let (app, key) = emailing_app(&sink).await;
    let (paying, free) = paying_and_free(&app).await;
    let (status, refused) = call(
        &app,
        &key,
        Method::POST,
        "/admin/api/articles",
        Some(paid_post("Nobody gets it", json!({"site": false}))),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an email-only post must be emailed: {refused}"
    );

    let draft = create(
        &app,
        &key,
        paid_post("Only in your inbox", json!({"email": "all"})),
    )
    .await;
    let (status, post) = call(
        &app,
        &key,
        Method::POST,
        &format!("/admin/api/articles/{}/publish", draft["id"]),
        Some(json!({"site": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{post}");
    assert_eq!(post["site"], false);
    assert_eq!(post["status"], "published");
    wait_until_finished(&app, &key, &post["send_id"]).await;

    let slug = post["slug"].as_str().unwrap();
    let (reader, _) = app.member(&free).await;
    for client in [new_client(), reader] {
        for path in ["/", "/feed.xml", "/sitemap.xml", "/api/articles"] {
            let (_, body) = app.get_text(&client, path).await;
            assert!(
                !body.contains("Only in your inbox") && !body.contains(slug),
                "{path} lists the email-only post"
            );
            assert!(!body.contains(PAID_MARKER), "{path}");
        }
        for path in [format!("/p/{slug}"), format!("/api/articles/{slug}")] {
            let (status, body) = app.get_text(&client, &path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert!(!body.contains(PAID_MARKER));
        }
    }

    // Each recipient reads it on the web through their own signed link, as
    // their plan allows.
    let mut links = Vec::new();
    for (to, full) in [(&paying, true), (&free, false)] {
        let message = mail_to(&sink, to, "Only in your inbox").pop().expect("delivered");
        let (text, _) = message.bodies();
        let link = text
            .split_whitespace()
            .find(|word| word.starts_with("http://127.0.0.1:8080/email/"))
            .expect("a view-in-browser link")
            .trim_start_matches("http://127.0.0.1:8080")
            .to_owned();
        let response = app.get_with(&new_client(), &link).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["cache-control"],
            "private, no-store",
            "a recipient's copy is never cached"
        );
        assert_eq!(response.headers()["referrer-policy"], "no-referrer");
        let page = response.text().await.unwrap();
        assert!(page.contains("Only in your inbox"));
        assert_eq!(
            page.contains(PAID_MARKER),
            full,
            "{to}: the body their plan allows"
        );
        let mut tampered = link.clone();
        tampered.pop();
        tampered.push(if link.ends_with('A') { 'B' } else { 'A' });
        let (status, _) = app.get_text(&new_client(), &tampered).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "a link we did not sign opens nothing"
        );
        links.push(link);
    }
    let admin = app
        .api_key_for("owner@example.com", broadsheet::domain::role::Role::Admin)
        .await;
    let free_id = app.user_id(&free).await;
    let (status, _) = call(
        &app,
        &admin,
        Method::DELETE,
        &format!("/admin/api/members/{free_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get_text(&new_client(), &links[1]).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a deleted account's link dies with it"
    );
}

#[tokio::test]
async fn a_published_post_is_emailed_later_once_and_only_once_published() {
    let sink = SmtpSink::start().await;
    let (app, key) = emailing_app(&sink).await;
    let members = app.add_verified_members("reader", 2).await;
    let draft = create(&app, &key, paid_post("Sent afterwards", json!({}))).await;
    let email_path = format!("/admin/api/articles/{}/email", draft["id"]);
    let (status, _) = call(
        &app,
        &key,
        Method::POST,
        &email_path,
        Some(json!({"email": "all"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a draft is emailed by publishing it"
    );

    let (status, published) = call(
        &app,
        &key,
        Method::POST,
        &format!("/admin/api/articles/{}/publish", draft["id"]),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(published["send_id"], Value::Null, "published without email");
    let (status, error) = call(&app, &key, Method::POST, &email_path, None).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "it names no audience: {error}"
    );

    let author = app.author_key().await;
    let (status, _) = call(
        &app,
        &author,
        Method::POST,
        &email_path,
        Some(json!({"email": "all"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only editors send");
    let (status, emailed) = call(
        &app,
        &key,
        Method::POST,
        &email_path,
        Some(json!({"email": "all"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{emailed}");
    assert_eq!(emailed["email"], "all");
    let progress = wait_until_finished(&app, &key, &emailed["send_id"]).await;
    assert_eq!(progress["sent"], 2);
    let (status, again) = call(&app, &key, Method::POST, &email_path, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    for member in &members {
        assert_eq!(mail_to(&sink, member, "Sent afterwards").len(), 1, "{member}");
    }
}

#[tokio::test]
async fn an_email_time_of_its_own_holds_the_email_until_then() {
    let sink = SmtpSink::start().await;
    let (app, key) = emailing_app(&sink).await;
    let members = app.add_verified_members("reader", 1).await;
    let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(3);
    let at = at.format(&time::format_description::well_known::Rfc3339).unwrap();
    let post = create(
        &app,
        &key,
        paid_post(
            "Out now, in inboxes soon",
            json!({"publish": true, "email": "all", "email_at": at}),
        ),
    )
    .await;
    assert_eq!(post["status"], "published");
    assert_eq!(post["send_id"], Value::Null, "the email waits for its time");
    let (status, _) = app
        .get_text(&new_client(), &format!("/p/{}", post["slug"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK, "the post is on the site already");

    let deadline = tokio::time::Instant::now() + WAIT;
    let send_id = loop {
        let (_, now) = call(
            &app,
            &key,
            Method::GET,
            &format!("/admin/api/articles/{}", post["id"]),
            None,
        )
        .await;
        if !now["send_id"].is_null() || tokio::time::Instant::now() > deadline {
            break now["send_id"].clone();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(!send_id.is_null(), "the scheduler sent it at its time");
    wait_until_finished(&app, &key, &send_id).await;
    assert_eq!(mail_to(&sink, &members[0], "Out now, in inboxes soon").len(), 1);
}

#[tokio::test]
async fn the_editor_page_sets_the_newsletter_subject_preheader_cover_and_email_only() {
    let app = crate::helpers::spawn_app().await;
    let key = app.editor_key().await;
    let (status, weekly) = call(
        &app,
        &app.api_key_for("owner@example.com", broadsheet::domain::role::Role::Admin)
            .await,
        Method::POST,
        "/admin/api/newsletters",
        Some(json!({"name": "The Weekly"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{weekly}");
    let weekly_id = weekly["id"].to_string();
    let (browser, editor_id) = app.member("writer@example.com").await;
    app.set_role(editor_id, broadsheet::domain::role::Role::Editor)
        .await;

    let (_, page) = app.get_text(&browser, "/admin/articles/new").await;
    assert!(
        page.contains("Newsletter (default)") && page.contains(&format!(r#"value="{weekly_id}">The Weekly"#)),
        "{page}"
    );
    let fields = |cover: &'static str| {
        vec![
            ("title", "Letters only"),
            ("markdown", "Dear reader."),
            ("visibility", "public"),
            ("email", "all"),
            ("newsletter_id", weekly_id.as_str()),
            ("email_subject", "A letter for you"),
            ("preheader", "Not on the site"),
            ("email_only", "on"),
            ("feature_image", cover),
            ("feature_image_alt", "A letterbox"),
            ("action", "save"),
        ]
    };
    let refused = app
        .post_form(&browser, "/admin/articles", &fields("ftp://example.com/a.png"))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("feature_image must be a path on this site") && page.contains("A letter for you"),
        "the error, and everything typed kept: {page}"
    );

    let saved = app
        .post_form(
            &browser,
            "/admin/articles",
            &fields("https://images.example.com/box.jpg"),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, article) = call(&app, &key, Method::GET, "/admin/api/articles/1", None).await;
    assert_eq!(article["newsletter_id"], weekly["id"]);
    assert_eq!(article["email_subject"], "A letter for you");
    assert_eq!(article["preheader"], "Not on the site");
    assert_eq!(article["site"], false);
    assert_eq!(article["feature_image"], "https://images.example.com/box.jpg");
    assert_eq!(article["feature_image_alt"], "A letterbox");
    let (_, page) = app.get_text(&browser, "/admin/articles/1").await;
    assert!(
        page.contains(r#"id="email_only" checked"#) && page.contains(r#"value="A letter for you""#),
        "the page shows what was saved: {page}"
    );
}
