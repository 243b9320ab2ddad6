//! Tags: made on first use, shown on cards and posts, each with its page,
//! feed and API filter; renamed without breaking old links.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{PAID_MARKER, TestApp, new_client, spawn_app},
    tiers::call,
};

async fn post(app: &TestApp, key: &str, title: &str, tags: Value, extra: Value) -> Value {
    let mut body = json!({"title": title, "visibility": "public", "publish": true, "tags": tags,
        "markdown": format!("All of {title}.")});
    for (field, value) in extra.as_object().unwrap() {
        body[field] = value.clone();
    }
    let (status, made) = call(app, key, Method::POST, "/admin/api/articles", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    made
}

/// The tags' (slug, posts) from the admin API.
async fn tag_counts(app: &TestApp, key: &str) -> Vec<(String, i64)> {
    let (status, tags) = call(app, key, Method::GET, "/admin/api/tags", None).await;
    assert_eq!(status, StatusCode::OK, "{tags}");
    tags.as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["slug"].as_str().unwrap().to_owned(),
                t["posts"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn tags_are_made_on_first_use_shown_on_cards_and_posts_and_each_has_a_page_a_feed_and_a_filter() {
    let app = spawn_app().await;
    let key = app.editor_key().await;
    let first = post(
        &app,
        &key,
        "Borrowing explained",
        json!(["Rust", "Web dev", "rust"]),
        json!({}),
    )
    .await;
    assert_eq!(
        first["tags"],
        json!([{"slug": "rust", "name": "Rust"}, {"slug": "web-dev", "name": "Web dev"}]),
        "in order, each once"
    );
    let paid = json!({"visibility": "paid",
        "markdown": format!("Free part.\n\n<!-- paywall -->\n\nThe {PAID_MARKER} part.")});
    post(&app, &key, "Paid lifetimes", json!(["RUST"]), paid).await;
    post(
        &app,
        &key,
        "Unfinished",
        json!(["Rust"]),
        json!({"publish": false}),
    )
    .await;
    post(
        &app,
        &key,
        "Inbox only",
        json!(["Rust"]),
        json!({"site": false, "email": "all"}),
    )
    .await;
    assert_eq!(
        tag_counts(&app, &key).await,
        [("rust".to_owned(), 4), ("web-dev".to_owned(), 1)],
        "one tag for every spelling, counting drafts"
    );

    let reader = new_client();
    let (_, home) = app.get_text(&reader, "/").await;
    assert!(
        home.contains(r#"<a href="/tag/web-dev">Web dev</a>"#),
        "tags on the cards"
    );
    let (_, article) = app.get_text(&reader, "/p/borrowing-explained").await;
    assert!(
        article.contains(r#"<a href="/tag/rust">Rust</a>"#),
        "tags on the post"
    );

    let (status, page) = app.get_text(&reader, "/tag/rust").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<h1>Rust</h1>"));
    assert!(page.contains("Borrowing explained") && page.contains("Paid lifetimes"));
    assert!(
        !page.contains("Unfinished") && !page.contains("Inbox only"),
        "drafts and email-only posts are not listed"
    );
    let (_, feed) = app.get_text(&reader, "/tag/rust/feed.xml").await;
    assert!(feed.contains("<category>Rust</category>") && feed.contains("Paid lifetimes"));
    assert!(!feed.contains("Unfinished"));
    let (status, listed) = app.get_json(&reader, "/api/articles?tag=web-dev").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["articles"].as_array().unwrap().len(), 1);
    assert_eq!(listed["articles"][0]["tags"][1]["name"], "Web dev");
    for body in [&page, &feed, &listed.to_string()] {
        assert!(
            !body.contains(PAID_MARKER),
            "a tag's lists carry only what the reader may read"
        );
    }
    for missing in [
        "/tag/nothing",
        "/tag/nothing/feed.xml",
        "/api/articles?tag=nothing",
        "/tag/rust?page=2",
    ] {
        let (status, _) = app.get_text(&reader, missing).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    }

    let (status, error) = call(
        &app,
        &key,
        Method::PATCH,
        &format!("/admin/api/articles/{}", first["id"]),
        Some(json!({"tags": ["!!!"]})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let (_, cleared) = call(
        &app,
        &key,
        Method::PATCH,
        &format!("/admin/api/articles/{}", first["id"]),
        Some(json!({"tags": null})),
    )
    .await;
    assert_eq!(cleared["tags"], json!([]));
}

#[tokio::test]
async fn renaming_a_tag_moves_its_pages_and_the_old_address_answers_301() {
    let app = spawn_app().await;
    let key = app.editor_key().await;
    post(&app, &key, "On rivers", json!(["Rivers", "Maps"]), json!({})).await;
    let tags = call(&app, &key, Method::GET, "/admin/api/tags", None).await.1;
    let rivers = tags
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "rivers")
        .unwrap()["id"]
        .clone();
    let path = format!("/admin/api/tags/{rivers}");

    let author = app.author_key().await;
    let (status, _) = call(
        &app,
        &author,
        Method::PATCH,
        &path,
        Some(json!({"name": "Streams"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "authors do not rename tags");
    let (status, _) = call(&app, &key, Method::PATCH, &path, Some(json!({"name": "maps"}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "another tag goes by that slug");
    let (status, _) = call(&app, &key, Method::PATCH, &path, Some(json!({"name": "???"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (status, renamed) = call(
        &app,
        &key,
        Method::PATCH,
        &path,
        Some(json!({"name": "Waterways"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["slug"], "waterways");
    assert_eq!(renamed["posts"], 1);
    for (old, new) in [
        ("/tag/rivers", "/tag/waterways"),
        ("/tag/rivers/feed.xml", "/tag/waterways/feed.xml"),
    ] {
        let response = app.get_with(&new_client(), old).await;
        assert_eq!(response.status(), StatusCode::MOVED_PERMANENTLY, "{old}");
        assert_eq!(response.headers()["location"], new);
    }
    let (_, article) = app.get_text(&new_client(), "/p/on-rivers").await;
    assert!(
        article.contains(r#"<a href="/tag/waterways">Waterways</a>"#),
        "the post shows the new name"
    );
    let (status, listed) = app.get_json(&new_client(), "/api/articles?tag=rivers").await;
    assert_eq!(status, StatusCode::OK, "the old slug still filters");
    assert_eq!(listed["articles"].as_array().unwrap().len(), 1);
}
