//! Welcome emails in the admin's words: the free one when a new member
//! confirms their address, at most once; switched off, none; and the test
//! button on the settings page.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{
    email::{WAIT, app_sending_to, link_in},
    helpers::TestApp,
    member_list::timeline_of,
    smtp::{Parsed, SmtpSink},
    tiers::{admin_key, call},
};

/// The messages to `to` whose subject is `subject`.
fn received(sink: &SmtpSink, to: &str, subject: &str) -> Vec<(String, String)> {
    sink.received()
        .into_iter()
        .filter(|m| m.to[0] == to && m.header("Subject").as_deref() == Some(subject))
        .map(|m| m.bodies())
        .collect()
}

async fn patch_settings(app: &TestApp, key: &str, body: serde_json::Value) {
    let (status, settings) = call(app, key, Method::PATCH, "/admin/api/settings", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{settings}");
}

/// Waits until `n` messages arrived, then a little longer so that a message
/// that should not come has had its chance.
async fn settle(sink: &SmtpSink, n: usize) {
    sink.wait_for(n, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn the_free_welcome_arrives_once_when_a_new_member_confirms_in_the_admins_words() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[]).await;
    let key = admin_key(&app).await;
    patch_settings(
        &app,
        &key,
        json!({"welcome_free": {"enabled": true, "subject": "Hello from {publication}", "markdown": "**Glad** you joined {publication}."}}),
    )
    .await;
    let (browser, id) = app.member("new@example.com").await;
    sink.wait_for(2, WAIT).await; // the owner's and the member's confirmations
    let link = link_in(&sink, "new@example.com", "/verify/");
    assert_eq!(app.get_text(&browser, &link).await.0, StatusCode::OK);
    settle(&sink, 3).await;
    let welcomes = received(&sink, "new@example.com", "Hello from Broadsheet");
    assert_eq!(welcomes.len(), 1, "{:?}", sink.received());
    let (text, html) = &welcomes[0];
    assert!(
        html.contains("<strong>Glad</strong> you joined Broadsheet."),
        "{html}"
    );
    assert!(text.contains("**Glad** you joined Broadsheet."), "{text}");

    // Proving the address again (a sign-in link) sends no second welcome.
    let response = app
        .post_form(&browser, "/login/link", &[("email", "new@example.com")])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    sink.wait_for(4, WAIT).await;
    let sign_in = link_in(&sink, "new@example.com", "/login/link/");
    assert_eq!(
        app.post_form(&browser, &sign_in, &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    settle(&sink, 4).await;
    assert_eq!(
        received(&sink, "new@example.com", "Hello from Broadsheet").len(),
        1
    );
    let timeline = timeline_of(&app, &key, id).await;
    assert!(timeline.contains("Sent the free welcome email"), "{timeline}");
}

#[tokio::test]
async fn a_switched_off_welcome_is_not_sent_and_the_test_button_sends_the_saved_one_to_the_admin() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[]).await;
    let key = admin_key(&app).await;
    let (_, settings) = call(&app, &key, Method::GET, "/admin/api/settings", None).await;
    assert_eq!(
        settings["welcome_free"]["enabled"], true,
        "on by default: {settings}"
    );
    let mut off = settings["welcome_free"].clone();
    off["enabled"] = json!(false);
    patch_settings(&app, &key, json!({"welcome_free": off})).await;
    let (status, refused) = call(
        &app,
        &key,
        Method::PATCH,
        "/admin/api/settings",
        Some(json!({"welcome_paid": {"enabled": true, "subject": " ", "markdown": "x"}})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");

    let (browser, _) = app.member("quiet@example.com").await;
    sink.wait_for(2, WAIT).await;
    let link = link_in(&sink, "quiet@example.com", "/verify/");
    assert_eq!(app.get_text(&browser, &link).await.0, StatusCode::OK);

    let (admin, admin_id) = app.member("boss@example.com").await;
    app.set_role(admin_id, broadsheet::domain::role::Role::Admin)
        .await;
    let sent = app
        .post_form(&admin, "/admin/settings/welcome-test?which=welcome_paid", &[])
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    settle(&sink, 4).await;
    let test = received(
        &sink,
        "boss@example.com",
        "[Test] Thank you for subscribing to Broadsheet",
    );
    assert_eq!(test.len(), 1, "{:?}", sink.received());
    assert!(
        sink.received().iter().all(|m| m.to[0] != "quiet@example.com"
            || m.header("Subject").as_deref() == Some("Confirm your email address")),
        "no welcome when it is switched off"
    );
}
