//! A member's data: downloaded as JSON, or deleted with their account.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, new_client, spawn_app, spawn_app_with},
    stripe::{self, FakeStripe},
};

async fn stripe_id_of(app: &TestApp, user_id: i32) -> String {
    app.db(move |conn| {
        Ok(broadsheet::db::billing::subscriptions_of(conn, user_id)?
            .remove(0)
            .stripe_subscription_id)
    })
    .await
}

/// Verifies the member and publishes a newsletter to everyone.
async fn publish_a_newsletter_for(app: &TestApp, user_id: i32) {
    app.db(move |conn| {
        Ok(broadsheet::db::users::mark_email_verified(
            conn,
            user_id,
            broadsheet::db::now(),
        )?)
    })
    .await;
    let key = app.editor_key().await;
    let response = app
        .post_article(
            &key,
            json!({"title": "Weekly", "markdown": "News.", "visibility": "public", "publish": true, "email": "all"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

/// Verifies the member and mails them one newsletter; waits until it is sent.
async fn mail_a_newsletter_to(app: &TestApp, user_id: i32) {
    publish_a_newsletter_for(app, user_id).await;
    for _ in 0..100 {
        if sent_deliveries(app).await == 1 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the newsletter was not sent");
}

/// Submits the delete-account form, typing `typed` to confirm.
async fn delete_account(app: &TestApp, client: &reqwest::Client, typed: &str) -> reqwest::Response {
    app.post_form(client, "/account/delete", &[("confirm_email", typed)])
        .await
}

async fn sent_deliveries(app: &TestApp) -> i64 {
    app.db(|conn| {
        use broadsheet::db::schema::deliveries;
        use diesel::prelude::*;
        Ok(deliveries::table
            .filter(deliveries::status.eq("sent"))
            .count()
            .get_result(conn)?)
    })
    .await
}

#[tokio::test]
async fn a_member_downloads_everything_we_hold_about_them_as_json() {
    let app = spawn_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let (member, user_id) = app.member("ada@example.com").await;
    app.add_subscription(user_id, "active", 30).await;
    member
        .post(app.url(&format!("/api/articles/{paid}/gift")))
        .send()
        .await
        .unwrap();
    mail_a_newsletter_to(&app, user_id).await;

    let response = app.get_with(&new_client(), "/account/data.json").await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "anonymous readers log in first"
    );
    assert_eq!(response.headers()["location"], "/login?next=/account");
    let response = app.get_with(&member, "/account/data.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let data: Value = response.json().await.unwrap();
    assert_eq!(data["account"]["email"], "ada@example.com");
    assert_eq!(data["subscriptions"][0]["status"], "active");
    assert_eq!(data["gift_links"][0]["article"], "Paid piece");
    assert_eq!(data["newsletters_received"][0]["article"], "Weekly");
    assert_eq!(data["newsletters_received"][0]["status"], "sent");
    assert!(!data["sessions"].as_array().unwrap().is_empty());
    assert!(
        data["emails_sent_to_you"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["subject"].as_str().unwrap().contains("onfirm")),
        "{data}"
    );
    let text = data.to_string();
    assert!(!text.contains("password"), "no password hash in the download");
}

#[tokio::test]
async fn deleting_an_account_stops_renewal_at_stripe_erases_the_person_and_keeps_delivery_counts() {
    let fake = FakeStripe::start().await;
    let app = spawn_app_with(stripe::billing_settings(&fake)).await;
    let (member, user_id) = app.member("ada@example.com").await;
    app.add_subscription(user_id, "active", 30).await;
    let subscription = stripe_id_of(&app, user_id).await;
    mail_a_newsletter_to(&app, user_id).await;

    let (status, page) = app.get_text(&member, "/account/delete").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Type your email address to confirm"));
    let response = delete_account(&app, &member, "Ada@Example.com").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/");

    let cancels = fake.requests(&format!("/v1/subscriptions/{subscription}"));
    assert_eq!(cancels.len(), 1);
    assert_eq!(cancels[0].form["cancel_at_period_end"], "true");

    let email_left = app
        .db(|conn| {
            use broadsheet::db::schema::{outbox, users};
            use diesel::prelude::*;
            let users_named: i64 = users::table
                .filter(users::email.eq("ada@example.com"))
                .count()
                .get_result(conn)?;
            let mail_to: i64 = outbox::table
                .filter(outbox::to_email.eq("ada@example.com"))
                .count()
                .get_result(conn)?;
            Ok(users_named + mail_to)
        })
        .await;
    assert_eq!(email_left, 0, "the address is gone from users and the outbox");
    let her_sessions = app
        .db(move |conn| {
            use broadsheet::db::schema::sessions;
            use diesel::prelude::*;
            Ok(sessions::table
                .filter(sessions::user_id.eq(user_id))
                .count()
                .get_result::<i64>(conn)?)
        })
        .await;
    assert_eq!(her_sessions, 0);
    assert_eq!(sent_deliveries(&app).await, 1, "the delivery count stays");

    let response = app.get_with(&member, "/account").await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "her browser is logged out"
    );
    let response = app
        .login(&new_client(), "ada@example.com", "correct horse battery")
        .await;
    assert_ne!(
        response.status(),
        StatusCode::SEE_OTHER,
        "the old password opens nothing"
    );
    let (again, _) = app.member("ada@example.com").await;
    let (_, account) = app.get_text(&again, "/account").await;
    assert!(account.contains("Free member"), "the address can start over");
}

#[tokio::test]
async fn a_wrong_confirmation_a_stripe_failure_or_a_staff_account_deletes_nothing() {
    let fake = FakeStripe::start().await;
    let app = spawn_app_with(stripe::billing_settings(&fake)).await;
    let (member, user_id) = app.member("ada@example.com").await;
    app.add_subscription(user_id, "active", 30).await;

    let response = delete_account(&app, &member, "someone@else.com").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Type the email address of this account")
    );

    fake.fail_updates(true);
    let response = delete_account(&app, &member, "ada@example.com").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.text().await.unwrap().contains("nothing was deleted"));
    let (_, account) = app.get_text(&member, "/account").await;
    assert!(
        account.contains("ada@example.com"),
        "still logged in, still there"
    );

    let (editor, editor_id) = app.member("editor@example.com").await;
    app.set_role(editor_id, broadsheet::domain::role::Role::Editor)
        .await;
    let response = delete_account(&app, &editor, "editor@example.com").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count_rows("users").await, 2);
}

#[tokio::test]
async fn a_newsletter_still_going_out_skips_an_account_deleted_meanwhile() {
    let app = crate::helpers::spawn_app_without_worker(Default::default()).await;
    let (member, user_id) = app.member("ada@example.com").await;
    publish_a_newsletter_for(&app, user_id).await;
    let response = delete_account(&app, &member, "ada@example.com").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let statuses = app
        .db(move |conn| {
            use broadsheet::db::schema::deliveries;
            use diesel::prelude::*;
            Ok(deliveries::table
                .filter(deliveries::user_id.eq(user_id))
                .select(deliveries::status)
                .load::<String>(conn)?)
        })
        .await;
    assert_eq!(statuses, ["suppressed"]);
}
