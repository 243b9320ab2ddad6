//! Pages rendered once for anonymous readers (`web::page_cache`): shared only
//! by readers who would see the same page, and never staler than the reads
//! they were rendered from.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{PAID_MARKER, client_at, new_client, spawn_app};

const WAIT: Duration = Duration::from_secs(120);

async fn publish(app: &crate::helpers::TestApp, key: &str, title: &str, visibility: &str) -> (i64, String) {
    let markdown = format!("Free intro.\n\n<!-- paywall -->\n\nThe secret {PAID_MARKER} part.");
    let response = app
        .post_article(
            key,
            json!({"title": title, "markdown": markdown, "visibility": visibility, "publish": true}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let article: serde_json::Value = response.json().await.unwrap();
    (
        article["id"].as_i64().unwrap(),
        article["slug"].as_str().unwrap().to_owned(),
    )
}

/// A fresh app with one paid post; the post's address.
async fn app_with_paid_post() -> (crate::helpers::TestApp, String) {
    let app = spawn_app().await;
    let key = app.editor_key().await;
    let (_, slug) = publish(&app, &key, "Paid piece", "paid").await;
    (app, format!("/p/{slug}"))
}

#[tokio::test]
async fn an_edit_shows_to_anonymous_readers_at_once_here_and_within_the_cache_lifetime_on_another_instance() {
    let app = spawn_app().await;
    let key = app.editor_key().await;
    let (id, slug) = publish(&app, &key, "First headline", "public").await;
    let path = format!("/p/{slug}");
    let stranger = new_client();
    for _ in 0..3 {
        let (status, page) = app.get_text(&stranger, &path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("<h1>First headline</h1>"), "{page}");
    }

    let response = app
        .admin(
            Method::PATCH,
            Some(&key),
            &format!("/admin/api/articles/{id}"),
            Some(json!({"title": "Second headline"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let (_, page) = app.get_text(&stranger, &path).await;
    assert!(
        page.contains("<h1>Second headline</h1>"),
        "an edit here shows at once: {page}"
    );

    // The same edit made through another instance empties only that
    // instance's cache; this one shows it once its reads are renewed.
    let other = app.second_instance().await;
    let response = client_at(&other)
        .patch(format!("{other}/admin/api/articles/{id}"))
        .bearer_auth(&key)
        .json(&json!({"title": "Third headline"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, page) = app.get_text(&stranger, &path).await;
        if page.contains("<h1>Third headline</h1>") {
            break;
        }
        assert!(page.contains("<h1>Second headline</h1>"), "{page}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the edit never showed here"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_shared_page_is_only_shared_by_readers_who_would_see_the_same_page() {
    let (app, path) = app_with_paid_post().await;
    let stranger = new_client();
    let (_, teaser) = app.get_text(&stranger, &path).await;
    assert!(teaser.contains("Already a subscriber? Log in") && !teaser.contains(PAID_MARKER));

    // A subscriber and a free member get their own pages, and strangers
    // still get the teaser after them.
    let (subscriber, _) = app.subscriber_with_session_token("payer@example.com").await;
    let (_, full) = app.get_text(&subscriber, &path).await;
    assert!(full.contains(PAID_MARKER), "the subscriber reads it all");
    assert!(full.contains("payer@example.com"), "in a page of their own");
    let (member, _) = app.member("free@example.com").await;
    let (_, members_teaser) = app.get_text(&member, &path).await;
    assert!(!members_teaser.contains(PAID_MARKER) && members_teaser.contains("free@example.com"));
    for client in [&stranger, &new_client()] {
        let (_, page) = app.get_text(client, &path).await;
        assert_eq!(page, teaser, "every stranger gets the one teaser");
    }

    // Arriving another way is another page: its links carry the trail.
    let (_, referred) = app.get_text(&stranger, &format!("{path}?ref=podcast")).await;
    assert!(referred.contains("ref%3Dpodcast"), "{referred}");
    let (_, plain) = app.get_text(&stranger, &path).await;
    assert!(!plain.contains("podcast"), "{plain}");
    let from_elsewhere = stranger
        .get(app.url(&path))
        .header("Referer", "https://news.example.org/item?id=1")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(from_elsewhere.contains("news.example.org"), "{from_elsewhere}");
    let (_, plain) = app.get_text(&stranger, &path).await;
    assert!(!plain.contains("news.example.org"), "{plain}");
}

#[tokio::test]
async fn strangers_reading_at_the_same_moment_as_a_subscriber_never_get_the_subscribers_page() {
    let (app, path) = app_with_paid_post().await;
    let (subscriber, _) = app.subscriber_with_session_token("payer@example.com").await;
    let stranger = new_client();
    let opens: Vec<_> = (0..40)
        .map(|i| {
            let client = if i % 2 == 0 {
                subscriber.clone()
            } else {
                stranger.clone()
            };
            (client, path.clone())
        })
        .collect();
    assert_eq!(
        app.full_reads_at_once(opens).await,
        20,
        "the subscriber's twenty reads are whole, the strangers' twenty are teasers"
    );
}

/// The form token a page carries.
fn form_token(page: &str) -> String {
    const FIELD: &str = "name=\"csrf_token\" value=\"";
    let start = page.find(FIELD).expect("a CSRF field") + FIELD.len();
    page[start..start + 43].to_owned()
}

/// Members share one rendering of a post per access decision (the page is
/// rendered with stand-ins for the reader's own details): each still gets
/// their own email and a form token that works for them and nobody else.
#[tokio::test]
async fn subscribers_reading_a_post_at_the_same_moment_each_get_their_own_email_and_working_form_token() {
    let (app, path) = app_with_paid_post().await;
    let (ann, _) = app.subscriber_with_session_token("ann@example.com").await;
    let (bob, _) = app.subscriber_with_session_token("bob@example.com").await;
    let (free, _) = app.member("free@example.com").await;
    let (_, anns) = app.get_text(&ann, &path).await;
    let (_, bobs) = app.get_text(&bob, &path).await;
    let (_, frees) = app.get_text(&free, &path).await;
    for (page, own, others) in [
        (&anns, "ann@example.com", ["bob@example.com", "free@example.com"]),
        (&bobs, "bob@example.com", ["ann@example.com", "free@example.com"]),
        (&frees, "free@example.com", ["ann@example.com", "bob@example.com"]),
    ] {
        assert!(
            page.contains(&format!("title=\"{own}\"")),
            "{own} sees their own email"
        );
        assert!(
            others.iter().all(|other| !page.contains(other)),
            "{own} sees nobody else's"
        );
    }
    assert!(anns.contains(PAID_MARKER) && bobs.contains(PAID_MARKER));
    assert!(!frees.contains(PAID_MARKER), "a free member's page is the teaser");
    let (anns_token, bobs_token) = (form_token(&anns), form_token(&bobs));
    assert_ne!(anns_token, bobs_token);
    assert_eq!(
        anns.replace("ann@example.com", "bob@example.com")
            .replace(&anns_token, &bobs_token),
        bobs,
        "the two pages differ by the reader's details alone"
    );

    // Ann's token logs Bob out of nothing; his own does.
    let log_out = |client: &reqwest::Client, token: &str| {
        client
            .post(app.url("/logout"))
            .form(&[("csrf_token", token.to_owned())])
            .send()
    };
    assert_eq!(
        log_out(&bob, &anns_token).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        log_out(&bob, &bobs_token).await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    let (_, after) = app.get_text(&bob, &path).await;
    assert!(
        !after.contains(PAID_MARKER) && !after.contains("bob@example.com"),
        "Bob is signed out"
    );
}
