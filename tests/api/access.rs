//! Every row of the access table (DESIGN §4), over HTTP, as HTML and JSON.

use broadsheet::domain::role::Role;
use reqwest::StatusCode;

use crate::helpers::{PAID_MARKER, TestApp, new_client, spawn_app};

#[derive(Debug, Clone, Copy)]
enum Setup {
    Anonymous,
    Member,
    Subscription(&'static str, i64),
    Comp(Option<i64>),
    Staff(Role),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Full,
    FullWithCardBanner,
    Preview(&'static str),
}

const TABLE: &[(&str, Setup, Expect)] = &[
    ("anonymous", Setup::Anonymous, Expect::Preview("login")),
    (
        "member without a plan",
        Setup::Member,
        Expect::Preview("subscribe"),
    ),
    ("active", Setup::Subscription("active", 20), Expect::Full),
    ("trialing", Setup::Subscription("trialing", 10), Expect::Full),
    (
        "past_due inside grace",
        Setup::Subscription("past_due", -3),
        Expect::FullWithCardBanner,
    ),
    (
        "past_due after grace",
        Setup::Subscription("past_due", -9),
        Expect::Preview("update_card"),
    ),
    (
        "unpaid",
        Setup::Subscription("unpaid", -30),
        Expect::Preview("update_card"),
    ),
    (
        "paused",
        Setup::Subscription("paused", 5),
        Expect::Preview("update_card"),
    ),
    (
        "canceled",
        Setup::Subscription("canceled", -2),
        Expect::Preview("subscribe"),
    ),
    ("comp", Setup::Comp(None), Expect::Full),
    ("comp until next month", Setup::Comp(Some(30)), Expect::Full),
    (
        "expired comp",
        Setup::Comp(Some(-1)),
        Expect::Preview("subscribe"),
    ),
    ("editor", Setup::Staff(Role::Editor), Expect::Full),
];

async fn reader_for(app: &TestApp, case: &str, setup: Setup) -> reqwest::Client {
    if let Setup::Anonymous = setup {
        return new_client();
    }
    let email = format!("reader-{}@example.com", case.replace(' ', "-"));
    let (client, user_id) = app.member(&email).await;
    match setup {
        Setup::Subscription(status, days) => app.add_subscription(user_id, status, days).await,
        Setup::Comp(days) => app.add_comp(user_id, days).await,
        Setup::Staff(role) => app.set_role(user_id, role).await,
        Setup::Anonymous | Setup::Member => {}
    }
    client
}

fn cta_text(kind: &str) -> &'static str {
    match kind {
        "login" => "Already a subscriber? Log in",
        "subscribe" => "Subscribe to keep reading",
        "update_card" => "Your card on file needs updating",
        other => panic!("unknown cta {other}"),
    }
}

#[tokio::test]
async fn every_row_of_the_access_table_holds_for_a_paid_article_on_the_site_and_the_api() {
    let app = spawn_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    for &(case, setup, expected) in TABLE {
        let client = reader_for(&app, case, setup).await;

        let (status, html) = app.get_text(&client, &format!("/p/{paid}")).await;
        assert_eq!(status, StatusCode::OK, "case: {case}");
        let (status, json) = app.get_json(&client, &format!("/api/articles/{paid}")).await;
        assert_eq!(status, StatusCode::OK, "case: {case}");

        match expected {
            Expect::Full | Expect::FullWithCardBanner => {
                assert!(
                    html.contains(PAID_MARKER),
                    "case {case}: the site hid the paid part"
                );
                assert!(
                    !html.contains("class=\"cta"),
                    "case {case}: a full article showed a call to action"
                );
                assert_eq!(json["access"], "full", "case: {case}");
                assert!(json["cta"].is_null(), "case: {case}");
                assert!(
                    json["html"].as_str().unwrap().contains(PAID_MARKER),
                    "case: {case}"
                );
                let banner = html.contains("Your last payment failed");
                assert_eq!(
                    banner,
                    expected == Expect::FullWithCardBanner,
                    "case {case}: card banner"
                );
            }
            Expect::Preview(kind) => {
                assert!(
                    !html.contains(PAID_MARKER),
                    "case {case}: the site leaked the paid part"
                );
                assert!(
                    html.contains("Free intro."),
                    "case {case}: the teaser lost its preview"
                );
                assert!(
                    html.contains(cta_text(kind)),
                    "case {case}: expected the {kind} call to action"
                );
                assert_eq!(json["access"], "preview", "case: {case}");
                assert_eq!(json["cta"]["kind"], kind, "case: {case}");
                assert_eq!(json["cta"]["message"], cta_text(kind), "case: {case}");
                assert!(
                    !json["html"].as_str().unwrap().contains(PAID_MARKER),
                    "case: {case}"
                );
            }
        }
    }
}

#[tokio::test]
async fn an_anonymous_reader_of_a_members_post_is_asked_to_log_in_and_comes_back_after() {
    let app = spawn_app().await;
    let (_, members, _) = app.publish_one_of_each().await;
    let (_, html) = app.get_text(&new_client(), &format!("/p/{members}")).await;
    assert!(html.contains("Already a subscriber? Log in"));
    assert!(
        html.contains(&format!("href=\"/login?next=/p/{members}\"")),
        "{html}"
    );
    assert!(!html.contains("Members only rest."));

    let (member, _) = app.member("reader@example.com").await;
    let (_, html) = app.get_text(&member, &format!("/p/{members}")).await;
    assert!(html.contains("Members only rest."));
}

#[tokio::test]
async fn a_public_post_is_read_in_full_by_everyone() {
    let app = spawn_app().await;
    let (public, _, _) = app.publish_one_of_each().await;
    let (_, html) = app.get_text(&new_client(), &format!("/p/{public}")).await;
    assert!(html.contains("All of it."));
    let (_, json) = app
        .get_json(&new_client(), &format!("/api/articles/{public}"))
        .await;
    assert_eq!(json["access"], "full");
}

#[tokio::test]
async fn the_grace_period_is_configurable() {
    let app = crate::helpers::spawn_app_with([("PAST_DUE_GRACE_DAYS", "1".to_owned())].into()).await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let (client, user_id) = app.member("late@example.com").await;
    app.add_subscription(user_id, "past_due", -3).await;
    let (_, json) = app.get_json(&client, &format!("/api/articles/{paid}")).await;
    assert_eq!(json["cta"]["kind"], "update_card");
}

#[tokio::test]
async fn a_session_token_as_a_bearer_header_identifies_the_reader_on_the_api() {
    let app = spawn_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let (_, token) = app.subscriber_with_session_token("app@example.com").await;
    let json: serde_json::Value = new_client()
        .get(app.url(&format!("/api/articles/{paid}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["access"], "full");
}

#[tokio::test]
async fn a_subscription_written_behind_the_servers_back_opens_the_paywall_once_the_read_cache_lapses() {
    // Another instance, the CLI or a manual SQL fix writes without this
    // server knowing: its read cache may answer from memory, but only for
    // BROADSHEET_READ_CACHE_MS.
    let app = crate::helpers::spawn_app_with([("BROADSHEET_READ_CACHE_MS", "300".to_owned())].into()).await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let (client, user_id) = app.member("elsewhere@example.com").await;
    let (_, before) = app.get_text(&client, &format!("/p/{paid}")).await;
    assert!(!before.contains(PAID_MARKER));
    app.add_subscription(user_id, "active", 30).await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let (_, after) = app.get_text(&client, &format!("/p/{paid}")).await;
    assert!(
        after.contains(PAID_MARKER),
        "the cached session lapsed and was read again"
    );
}

#[tokio::test]
async fn logging_out_ends_the_session_at_once_even_though_it_was_cached() {
    let app = crate::helpers::spawn_app_with([("BROADSHEET_READ_CACHE_MS", "60000".to_owned())].into()).await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let (client, token) = app.subscriber_with_session_token("leaving@example.com").await;
    let read_with_token = || {
        new_client()
            .get(app.url(&format!("/api/articles/{paid}")))
            .bearer_auth(token.clone())
            .send()
    };
    let json: serde_json::Value = read_with_token().await.unwrap().json().await.unwrap();
    assert_eq!(json["access"], "full", "the session is now in the read cache");
    let response = app.post_form(&client, "/logout", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let json: serde_json::Value = read_with_token().await.unwrap().json().await.unwrap();
    assert_eq!(
        json["access"], "preview",
        "the logged-out token reads as a visitor"
    );
}
