//! Static pages (About, Terms…): at `/{slug}`, under the same access rules
//! as posts, and never listed, fed or emailed.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{
    helpers::{PAID_MARKER, new_client, spawn_app},
    tiers::call,
};

#[tokio::test]
async fn a_page_lives_at_its_own_address_and_is_never_listed_fed_or_emailed() {
    let app = spawn_app().await;
    let editor = app.editor_key().await;
    app.publish_one_of_each().await;
    let (status, about) = call(
        &app,
        &editor,
        Method::POST,
        "/admin/api/articles",
        Some(
            json!({"title": "About us", "slug": "about", "type": "page", "visibility": "public",
            "markdown": "We write about ABOUTPAGEWORDS.", "publish": true}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{about}");
    assert_eq!(about["type"], "page");
    assert!(about["url"].as_str().unwrap().ends_with("/about"));
    assert_eq!(about["send_id"], serde_json::Value::Null);

    let (status, page) = app.get_text(&new_client(), "/about").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("ABOUTPAGEWORDS") && page.contains("<h1>About us</h1>"));
    assert!(!page.contains("class=\"byline\""), "a page has no byline or date");
    let response = app.get("/p/about").await;
    assert_eq!(response.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(response.headers()["location"], "/about");

    let (_, staff) = call(&app, &editor, Method::GET, "/admin/api/authors", None).await;
    let author_page = format!("/author/{}", staff[0]["slug"].as_str().unwrap());
    for listing in [
        "/",
        "/archive",
        "/feed.xml",
        "/api/articles",
        author_page.as_str(),
    ] {
        let (_, body) = app.get_text(&new_client(), listing).await;
        assert!(
            !body.contains("ABOUTPAGEWORDS") && !body.contains("About us"),
            "{listing} lists the page"
        );
    }
    let (_, sitemap) = app.get_text(&new_client(), "/sitemap.xml").await;
    assert!(
        sitemap.contains("/about</loc>"),
        "the sitemap has pages too: {sitemap}"
    );

    let id = about["id"].as_i64().unwrap();
    let (status, refused) = call(
        &app,
        &editor,
        Method::POST,
        &format!("/admin/api/articles/{id}/email"),
        Some(json!({"email": "all"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let (status, refused) = call(
        &app,
        &editor,
        Method::POST,
        "/admin/api/articles",
        Some(
            json!({"title": "Terms", "type": "page", "visibility": "public", "markdown": "x",
            "email": "all", "publish": true}),
        ),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a page is never emailed: {refused}"
    );
    let sends: i64 = app
        .db(|conn| {
            use diesel::prelude::*;
            Ok(broadsheet::db::schema::sends::table.count().get_result(conn)?)
        })
        .await;
    assert_eq!(sends, 0);
}

#[tokio::test]
async fn a_page_cannot_take_an_address_the_site_keeps() {
    let app = spawn_app().await;
    let editor = app.editor_key().await;
    for slug in [
        "search", "admin", "p", "tag", "author", "archive", "login", "media",
    ] {
        let (status, refused) = call(&app, &editor, Method::POST, "/admin/api/articles",
            Some(json!({"title": "Kept", "slug": slug, "type": "page", "visibility": "public", "markdown": "x"}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{slug}: {refused}");
        assert_eq!(refused["error"]["field"], "slug");
    }
    let (status, search) = call(&app, &editor, Method::POST, "/admin/api/articles",
        Some(json!({"title": "Search", "type": "page", "visibility": "public", "markdown": "x", "publish": true}))).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a kept slug from a title gets another: {search}"
    );
    assert_eq!(search["slug"], "search-page");
    // A post may be called "search": it lives under /p/.
    let (status, _) = call(
        &app,
        &editor,
        Method::POST,
        "/admin/api/articles",
        Some(json!({"title": "Search", "slug": "search", "visibility": "public", "markdown": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let post_id = {
        let (_, list) = call(&app, &editor, Method::GET, "/admin/api/articles", None).await;
        list["articles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["slug"] == "search")
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (status, refused) = call(
        &app,
        &editor,
        Method::PATCH,
        &format!("/admin/api/articles/{post_id}"),
        Some(json!({"type": "page"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "turning it into a page at /search: {refused}"
    );
}

#[tokio::test]
async fn a_paid_page_shows_its_teaser_to_readers_who_may_not_read_it_and_turning_it_into_a_post_moves_it() {
    let app = spawn_app().await;
    let editor = app.editor_key().await;
    let (status, guide) = call(&app, &editor, Method::POST, "/admin/api/articles",
        Some(json!({"title": "Subscriber guide", "type": "page", "visibility": "paid", "publish": true,
            "markdown": format!("How to use your subscription.\n\n<!-- paywall -->\n\nThe {PAID_MARKER} bits.")}))).await;
    assert_eq!(status, StatusCode::CREATED, "{guide}");
    let (status, page) = app.get_text(&new_client(), "/subscriber-guide").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("How to use your subscription.") && !page.contains(PAID_MARKER));
    assert!(page.contains("Already a subscriber? Log in"));
    let (subscriber, user_id) = app.member("guide@example.com").await;
    app.add_subscription(user_id, "active", 30).await;
    let (_, page) = app.get_text(&subscriber, "/subscriber-guide").await;
    assert!(page.contains(PAID_MARKER), "a subscriber reads the whole page");

    let id = guide["id"].as_i64().unwrap();
    let (status, _) = call(
        &app,
        &editor,
        Method::PATCH,
        &format!("/admin/api/articles/{id}"),
        Some(json!({"type": "post"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let response = app.get("/subscriber-guide").await;
    assert_eq!(response.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(response.headers()["location"], "/p/subscriber-guide");
    assert_eq!(app.get("/no-such-page").await.status(), StatusCode::NOT_FOUND);
}
