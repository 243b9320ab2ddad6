//! Finding the rest: the front page pages through every post, and the
//! archive lists them all by month.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PAID_MARKER, TestApp, new_client, spawn_app};

/// Publishes `n` public posts, "Post 1" the oldest.
async fn publish_many(app: &TestApp, key: &str, n: usize) {
    for i in 1..=n {
        let at = format!("2026-01-01T00:{:02}:{:02}Z", i / 60, i % 60);
        let response = app
            .post_article(
                key,
                json!({"title": format!("Post {i}"), "markdown": format!("Body {i}."), "visibility": "public", "publish_at": at}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
}

/// The post titles a page lists, in order.
fn titles(page: &str) -> Vec<String> {
    page.split("<h2><a href=\"/p/")
        .skip(1)
        .map(|rest| {
            let start = rest.find("\">").unwrap() + 2;
            rest[start..start + rest[start..].find("</a>").unwrap()].to_owned()
        })
        .collect()
}

#[tokio::test]
async fn the_front_page_pages_through_every_post_and_a_page_past_the_end_is_a_404() {
    let app = spawn_app().await;
    let key = app.editor_key().await;
    publish_many(&app, &key, 65).await;
    let browser = new_client();

    let (status, first) = app.get_text(&browser, "/").await;
    assert_eq!(status, StatusCode::OK);
    let listed = titles(&first);
    assert_eq!(listed.len(), 30);
    assert_eq!(listed[0], "Post 65", "newest first");
    assert!(first.contains(r#"<link rel="next" href="/?page=2">"#));
    assert!(!first.contains(r#"rel="prev""#));

    let (_, second) = app.get_text(&browser, "/?page=2").await;
    assert_eq!(titles(&second)[0], "Post 35");
    assert!(
        second.contains(r#"<link rel="prev" href="/">"#)
            && second.contains(r#"<link rel="next" href="/?page=3">"#)
    );
    assert!(
        !second.contains("action=\"/join\""),
        "the subscribe box is on the first page only"
    );

    let (_, third) = app.get_text(&browser, "/?page=3").await;
    assert_eq!(titles(&third), ["Post 5", "Post 4", "Post 3", "Post 2", "Post 1"]);
    assert!(third.contains(r#"<link rel="prev" href="/?page=2">"#) && !third.contains(r#"rel="next""#));

    for past in ["/?page=4", "/?page=0", "/?page=-1", "/?page=100001"] {
        let response = app.get_with(&browser, past).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{past}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("The archive lists every one"),
            "{past}: a page, in the layout"
        );
    }
    let (status, _) = app.get_text(&browser, "/?page=two").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_archive_lists_every_post_by_month_with_titles_and_dates_only() {
    let app = spawn_app().await;
    let key = app.editor_key().await;
    for (title, at, extra) in [
        ("Autumn opens", "2026-10-15T09:00:00Z", json!({})),
        ("November one", "2026-11-02T09:00:00Z", json!({})),
        (
            "November two",
            "2026-11-20T09:00:00Z",
            json!({"visibility": "paid"}),
        ),
        (
            "Only by email",
            "2026-11-21T09:00:00Z",
            json!({"site": false, "email": "all"}),
        ),
    ] {
        let mut body = json!({"title": title, "visibility": "public", "publish_at": at,
            "markdown": format!("Preview words.\n\n<!-- paywall -->\n\nThe {PAID_MARKER} part.")});
        for (field, value) in extra.as_object().unwrap() {
            body[field] = value.clone();
        }
        assert_eq!(app.post_article(&key, body).await.status(), StatusCode::CREATED);
    }
    app.post_article(
        &key,
        json!({"title": "Still a draft", "markdown": "x", "visibility": "public"}),
    )
    .await;

    let (status, page) = app.get_text(&new_client(), "/archive").await;
    assert_eq!(status, StatusCode::OK);
    let november = page.find("<h2>November 2026</h2>").expect("a November heading");
    let october = page.find("<h2>October 2026</h2>").expect("an October heading");
    assert!(november < october, "newest month first");
    let two = page.find("November two").unwrap();
    let one = page.find("November one").unwrap();
    assert!(
        november < two && two < one && one < october,
        "newest post first within a month"
    );
    assert!(page.contains(r#"<time datetime="2026-11-02T09:00:00Z">2 November 2026</time> <a href="/p/november-one">November one</a>"#), "{page}");
    assert!(page.contains("Autumn opens"));
    for absent in ["Still a draft", "Only by email", "Preview words", PAID_MARKER] {
        assert!(!page.contains(absent), "the archive shows {absent:?}");
    }
    let (_, sitemap) = app.get_text(&new_client(), "/sitemap.xml").await;
    assert!(sitemap.contains("/archive</loc>"));
}

#[tokio::test]
async fn the_archive_lists_a_hundred_posts_a_page_shows_a_new_post_at_once_and_a_page_past_the_end_is_a_404()
{
    let app = spawn_app().await;
    let key = app.editor_key().await;
    publish_many(&app, &key, 101).await;
    let browser = new_client();
    let archived = |page: &str| page.matches("<li><time datetime=").count();

    let (status, first) = app.get_text(&browser, "/archive").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(archived(&first), 100);
    assert!(first.contains(">Post 101</a>") && first.contains(">Post 2</a>"));
    assert!(!first.contains(">Post 1</a>"), "the oldest is on the next page");
    assert!(first.contains(r#"<link rel="next" href="/archive?page=2">"#));
    assert!(!first.contains(r#"rel="prev""#));

    let (_, second) = app.get_text(&browser, "/archive?page=2").await;
    assert_eq!(archived(&second), 1);
    assert!(second.contains(">Post 1</a>"));
    assert!(second.contains(r#"<link rel="prev" href="/archive">"#) && !second.contains(r#"rel="next""#));

    // Read again within the cache's lifetime: a post published through this
    // instance shows at once, pushing the oldest but one onto page two.
    let response = app
        .post_article(
            &key,
            json!({"title": "Just out", "markdown": "New.", "visibility": "public", "publish": true}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let (_, first) = app.get_text(&browser, "/archive").await;
    assert!(first.contains(">Just out</a>"), "{first}");
    assert!(!first.contains(">Post 2</a>"));
    let (_, second) = app.get_text(&browser, "/archive?page=2").await;
    assert_eq!(archived(&second), 2);

    for past in ["/archive?page=3", "/archive?page=0", "/archive?page=100001"] {
        let response = app.get_with(&browser, past).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{past}");
    }
    let (status, _) = app.get_text(&browser, "/archive?page=two").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
