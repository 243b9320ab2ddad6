//! The front page and the reader JSON API.

use reqwest::StatusCode;

use crate::helpers::{new_client, spawn_app};

#[tokio::test]
async fn the_front_page_lists_published_articles_newest_first_with_badges() {
    let app = spawn_app().await;
    let (public, members, paid) = app.publish_one_of_each().await;
    let (_, html) = app.get_text(&new_client(), "/").await;
    let at = |slug: &str| {
        html.find(&format!("/p/{slug}"))
            .unwrap_or_else(|| panic!("{slug} is listed"))
    };
    assert!(
        at(&paid) < at(&members) && at(&members) < at(&public),
        "newest first"
    );
    for badge in ["badge-public", "badge-members", "badge-paid"] {
        assert!(html.contains(badge), "{badge}");
    }
    assert!(html.contains("Log in"), "anonymous readers see a Log in link");
}

#[tokio::test]
async fn an_unknown_slug_is_a_404_page_on_the_site_and_json_on_the_api() {
    let app = spawn_app().await;
    let response = app.get("/p/no-such-article").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("There is no article at /p/no-such-article")
    );

    for bad in ["/api/articles/no-such-article", "/api/articles/Bad%20Slug!"] {
        let (status, json) = app.get_json(&new_client(), bad).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
        assert_eq!(json["error"]["code"], "not_found");
    }
}

#[tokio::test]
async fn the_article_json_has_the_documented_shape() {
    let app = spawn_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let (_, json) = app
        .get_json(&new_client(), &format!("/api/articles/{paid}"))
        .await;
    for field in [
        "slug",
        "title",
        "author",
        "published_at",
        "visibility",
        "access",
        "html",
        "cta",
    ] {
        assert!(json.get(field).is_some(), "missing {field} in {json}");
    }
    assert_eq!(json["visibility"], "paid");
    assert!(
        json["cta"]["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/login?next=/p/{paid}"))
    );
}

#[tokio::test]
async fn the_article_list_is_paged_and_refuses_bad_paging() {
    let app = spawn_app().await;
    app.publish_one_of_each().await;
    let (_, json) = app.get_json(&new_client(), "/api/articles?per_page=2").await;
    assert_eq!(json["articles"].as_array().unwrap().len(), 2);
    let (_, json) = app
        .get_json(&new_client(), "/api/articles?per_page=2&page=2")
        .await;
    assert_eq!(json["articles"].as_array().unwrap().len(), 1);
    for bad in ["?page=0", "?per_page=1000", "?page=abc", "?colour=blue"] {
        let (status, json) = app.get_json(&new_client(), &format!("/api/articles{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {json}");
        assert!(json["error"]["message"].as_str().is_some());
    }
}
