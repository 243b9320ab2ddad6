//! The metered paywall: free members read a few paid articles a month in
//! full, counted in the database so every instance agrees.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PAID_MARKER, TestApp, new_client, spawn_app_with};

async fn metered_app(allowance: u32) -> TestApp {
    spawn_app_with([("METERED_FREE_ARTICLES", allowance.to_string())].into()).await
}

/// Publishes `n` paid articles, each hiding the paid marker; returns slugs.
async fn publish_paid(app: &TestApp, n: usize) -> Vec<String> {
    let key = app.editor_key().await;
    let mut slugs = Vec::new();
    for i in 0..n {
        let response = app
            .post_article(
                &key,
                json!({"title": format!("Paid number {i}"), "visibility": "paid", "publish": true,
                       "markdown": format!("Intro {i}.\n\n<!-- paywall -->\n\nThe {PAID_MARKER} part.")}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: serde_json::Value = response.json().await.unwrap();
        slugs.push(body["slug"].as_str().unwrap().to_owned());
    }
    slugs
}

#[tokio::test]
async fn a_free_member_reads_the_allowance_in_full_then_sees_the_teaser_with_what_is_left() {
    let app = metered_app(2).await;
    let slugs = publish_paid(&app, 3).await;
    let (member, _) = app.member("free@example.com").await;

    let (_, list) = app.get_json(&member, "/api/articles").await;
    let message = list["articles"][0]["cta"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with("You have 2 free articles left this month."),
        "{message}"
    );

    let (_, page) = app.get_text(&member, &format!("/p/{}", slugs[0])).await;
    assert!(page.contains(PAID_MARKER));
    assert!(page.contains("You have 1 free article left this month."));
    // Reading the same article again does not count twice.
    let (_, page) = app.get_text(&member, &format!("/p/{}", slugs[0])).await;
    assert!(page.contains(PAID_MARKER));
    assert_eq!(app.count_rows("meter_reads").await, 1);

    let (_, json) = app
        .get_json(&member, &format!("/api/articles/{}", slugs[1]))
        .await;
    assert_eq!(json["access"], "full", "the API spends the meter too");
    let (_, page) = app.get_text(&member, &format!("/p/{}", slugs[2])).await;
    assert!(
        !page.contains(PAID_MARKER),
        "past the allowance the paid part is hidden"
    );
    assert!(page.contains("You have 0 free articles left this month."));
    assert!(page.contains("Subscribe to keep reading"));
    // Articles already read stay readable for the rest of the month.
    let (_, page) = app.get_text(&member, &format!("/p/{}", slugs[1])).await;
    assert!(page.contains(PAID_MARKER));
    assert_eq!(app.count_rows("meter_reads").await, 2);
}

#[tokio::test]
async fn the_meter_is_counted_in_the_database_so_a_second_instance_agrees() {
    let app = metered_app(1).await;
    let slugs = publish_paid(&app, 2).await;
    let (member, _) = app.member("free@example.com").await;
    let (_, page) = app.get_text(&member, &format!("/p/{}", slugs[0])).await;
    assert!(page.contains(PAID_MARKER));

    let other = app.second_instance().await;
    let page = member
        .get(format!("{other}/p/{}", slugs[1]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !page.contains(PAID_MARKER),
        "the other instance knew the read was spent"
    );
    assert!(page.contains("You have 0 free articles left this month."));
}

#[tokio::test]
async fn concurrent_opens_never_spend_more_than_the_allowance() {
    let app = metered_app(3).await;
    let slugs = publish_paid(&app, 8).await;
    let (member, _) = app.member("free@example.com").await;
    let opens = slugs.iter().map(|slug| {
        let (app, member) = (&app, &member);
        async move {
            app.get_text(member, &format!("/p/{slug}"))
                .await
                .1
                .contains(PAID_MARKER)
        }
    });
    let full = futures::future::join_all(opens)
        .await
        .into_iter()
        .filter(|full| *full)
        .count();
    assert_eq!(full, 3);
    assert_eq!(app.count_rows("meter_reads").await, 3);
}

#[tokio::test]
async fn the_meter_does_not_open_articles_for_anonymous_readers_or_count_subscribers() {
    let app = metered_app(5).await;
    let slugs = publish_paid(&app, 1).await;
    let (_, page) = app.get_text(&new_client(), &format!("/p/{}", slugs[0])).await;
    assert!(!page.contains(PAID_MARKER));
    assert!(page.contains("Already a subscriber? Log in"));
    let (subscriber, _) = app.subscriber_with_session_token("paying@example.com").await;
    let (_, page) = app.get_text(&subscriber, &format!("/p/{}", slugs[0])).await;
    assert!(page.contains(PAID_MARKER));
    assert!(!page.contains("free article"));
    assert_eq!(app.count_rows("meter_reads").await, 0);
}
