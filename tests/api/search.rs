//! Search: ranked, over titles, tags, authors and only what the asker may
//! read, on both databases' own full-text engines.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{PAID_MARKER, TestApp, new_client, spawn_app},
    tiers::call,
};

async fn publish(app: &TestApp, key: &str, body: Value) -> Value {
    let mut body = body;
    body["publish"] = json!(true);
    let (status, made) = call(app, key, Method::POST, "/admin/api/articles", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    made
}

/// The titles `/api/search?q=` finds for `client`.
async fn found(app: &TestApp, client: &reqwest::Client, q: &str) -> Vec<String> {
    let (status, json) = app
        .get_json(client, &format!("/api/search?q={}", urlencoding(q)))
        .await;
    assert_eq!(status, StatusCode::OK, "{q}: {json}");
    json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap().to_owned())
        .collect()
}

fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn a_word_after_the_divider_is_found_only_by_readers_who_may_read_past_it() {
    let app = spawn_app().await;
    let key = app.editor_key().await;
    publish(
        &app,
        &key,
        json!({"title": "Open letter", "visibility": "public",
        "markdown": "Everyone reads about lighthouses here.\n\nAnd the keepers."}),
    )
    .await;
    publish(&app, &key, json!({"title": "Deep dive", "visibility": "paid",
        "markdown": format!("The free part mentions harbours.\n\n<!-- paywall -->\n\nOnly subscribers learn about zeppelins and {PAID_MARKER}.")})).await;

    let anonymous = new_client();
    let (free, _) = app.member("free-searcher@example.com").await;
    let (subscriber, user_id) = app.member("paying-searcher@example.com").await;
    app.add_subscription(user_id, "active", 30).await;

    for (who, client) in [
        ("anonymous", &anonymous),
        ("free member", &free),
        ("subscriber", &subscriber),
    ] {
        assert_eq!(
            found(&app, client, "lighthouses").await,
            ["Open letter"],
            "{who}: a public body"
        );
        assert_eq!(
            found(&app, client, "harbours").await,
            ["Deep dive"],
            "{who}: a paid post's preview"
        );
    }
    assert!(
        found(&app, &anonymous, "zeppelins").await.is_empty(),
        "the paid part hides from anonymous readers"
    );
    assert!(
        found(&app, &free, "zeppelins").await.is_empty(),
        "and from free members"
    );
    assert_eq!(
        found(&app, &subscriber, "zeppelins").await,
        ["Deep dive"],
        "a subscriber finds it"
    );

    let (_, json) = app.get_json(&subscriber, "/api/search?q=zeppelins").await;
    let snippet = json["results"][0]["snippet_html"].as_str().unwrap();
    assert!(snippet.contains("<mark>zeppelins</mark>"), "{snippet}");
    let (_, json) = app.get_json(&anonymous, "/api/search?q=harbours").await;
    let snippet = json["results"][0]["snippet_html"].as_str().unwrap();
    assert!(
        snippet.contains("<mark>harbours</mark>") && !snippet.contains("zeppelins"),
        "{snippet}"
    );

    // The page says the same.
    let (status, page) = app.get_text(&anonymous, "/search?q=zeppelins").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Nothing found") && !page.contains(PAID_MARKER));
    let (_, page) = app.get_text(&subscriber, "/search?q=zeppelins").await;
    assert!(page.contains("Deep dive") && page.contains("<mark>zeppelins</mark>"));
}

#[tokio::test]
async fn titles_tags_and_authors_are_searched_ranked_with_the_title_first() {
    let app = spawn_app().await;
    let key = app.editor_key().await;
    let editor_id = app.user_id("editor@example.com").await;
    call(
        &app,
        &key,
        Method::PATCH,
        &format!("/admin/api/authors/{editor_id}"),
        Some(json!({"name": "Hypatia Quill"})),
    )
    .await;
    publish(
        &app,
        &key,
        json!({"title": "Gardening notes", "visibility": "public",
        "markdown": "Soil, seeds and a word on tomatoes."}),
    )
    .await;
    publish(
        &app,
        &key,
        json!({"title": "Tomatoes", "visibility": "public", "markdown": "Red fruit."}),
    )
    .await;
    publish(
        &app,
        &key,
        json!({"title": "Kitchen", "visibility": "members", "tags": ["Preserves"],
        "markdown": "Jars."}),
    )
    .await;
    let anonymous = new_client();
    assert_eq!(
        found(&app, &anonymous, "tomatoes").await,
        ["Tomatoes", "Gardening notes"],
        "a title match ranks first"
    );
    assert_eq!(found(&app, &anonymous, "preserves").await, ["Kitchen"], "by tag");
    assert_eq!(found(&app, &anonymous, "quill").await.len(), 3, "by author");
    assert_eq!(
        found(&app, &anonymous, "tomat").await.len(),
        2,
        "the last word as a prefix"
    );
    assert_eq!(
        found(&app, &anonymous, "gardening tomatoes").await,
        ["Gardening notes"],
        "every word"
    );

    // Renaming the author and the tag is searchable at once.
    call(
        &app,
        &key,
        Method::PATCH,
        &format!("/admin/api/authors/{editor_id}"),
        Some(json!({"name": "Ada Byron"})),
    )
    .await;
    assert_eq!(found(&app, &anonymous, "byron").await.len(), 3);
    assert!(found(&app, &anonymous, "quill").await.is_empty());
    let (_, tags) = call(&app, &key, Method::GET, "/admin/api/tags", None).await;
    let tag_id = tags[0]["id"].as_i64().unwrap();
    call(
        &app,
        &key,
        Method::PATCH,
        &format!("/admin/api/tags/{tag_id}"),
        Some(json!({"name": "Pickles"})),
    )
    .await;
    assert_eq!(found(&app, &anonymous, "pickles").await, ["Kitchen"]);
}

#[tokio::test]
async fn only_live_posts_are_found_and_edits_unpublishing_and_deleting_show_at_once() {
    let app = spawn_app().await;
    let key = app.editor_key().await;
    let post = publish(
        &app,
        &key,
        json!({"title": "Weather", "visibility": "public", "markdown": "Cumulus clouds."}),
    )
    .await;
    let id = post["id"].as_i64().unwrap();
    let (_, _) = call(
        &app,
        &key,
        Method::POST,
        "/admin/api/articles",
        Some(json!({"title": "Draft cumulus", "visibility": "public", "markdown": "Cumulus too."})),
    )
    .await;
    publish(
        &app,
        &key,
        json!({"title": "Inbox cumulus", "visibility": "public", "markdown": "Cumulus.",
        "site": false, "email": "all"}),
    )
    .await;
    let anonymous = new_client();
    assert_eq!(
        found(&app, &anonymous, "cumulus").await,
        ["Weather"],
        "no drafts, no email-only posts"
    );
    let (_, page) = app.get_text(&anonymous, "/search?q=cumulus").await;
    assert!(page.contains("1 result for “cumulus”."), "{page}");

    call(
        &app,
        &key,
        Method::PATCH,
        &format!("/admin/api/articles/{id}"),
        Some(json!({"markdown": "Stratus clouds."})),
    )
    .await;
    assert!(
        found(&app, &anonymous, "cumulus").await.is_empty(),
        "an edit reindexes"
    );
    let (_, page) = app.get_text(&anonymous, "/search?q=cumulus").await;
    assert!(
        page.contains("Nothing found for “cumulus”."),
        "the page an anonymous reader was served before the edit is not served after it: {page}"
    );
    assert_eq!(found(&app, &anonymous, "stratus").await, ["Weather"]);
    call(
        &app,
        &key,
        Method::POST,
        &format!("/admin/api/articles/{id}/unpublish"),
        None,
    )
    .await;
    assert!(found(&app, &anonymous, "stratus").await.is_empty(), "unpublished");
    let (status, _) = call(
        &app,
        &key,
        Method::DELETE,
        &format!("/admin/api/articles/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(found(&app, &anonymous, "stratus").await.is_empty(), "deleted");
}

#[tokio::test]
async fn bad_queries_answer_400_or_nothing_never_500() {
    let app = spawn_app().await;
    let key = app.editor_key().await;
    publish(
        &app,
        &key,
        json!({"title": "Anything", "visibility": "public", "markdown": "Words."}),
    )
    .await;
    let anonymous = new_client();
    for q in [
        "\"unbalanced",
        "NEAR(",
        "a OR",
        "title:words",
        "*",
        "^",
        "-",
        "(((",
        "AND",
        "{title}: x",
        "words\"*",
        "'; DROP TABLE articles; --",
        "\u{0}",
        "🙂",
    ] {
        let (status, json) = app
            .get_json(&anonymous, &format!("/api/search?q={}", urlencoding(q)))
            .await;
        assert!(
            status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
            "{q:?}: {status} {json}"
        );
        let (status, _) = app
            .get_text(&anonymous, &format!("/search?q={}", urlencoding(q)))
            .await;
        assert!(
            status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
            "{q:?}: {status}"
        );
    }
    let long = "word ".repeat(2048);
    let (status, json) = app
        .get_json(&anonymous, &format!("/api/search?q={}", urlencoding(&long)))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
    assert_eq!(json["error"]["field"], "q");
    let (status, page) = app
        .get_text(&anonymous, &format!("/search?q={}", urlencoding(&long)))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("A search is at most 300 characters"),
        "a page with the form: {page}"
    );
    assert_eq!(app.get("/api/search").await.status(), StatusCode::BAD_REQUEST);
    let (status, page) = app.get_text(&anonymous, "/search").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("role=\"search\""));
    assert!(found(&app, &anonymous, "Anything").await.len() == 1);
}
