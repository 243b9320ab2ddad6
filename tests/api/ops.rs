use reqwest::StatusCode;

use crate::helpers::{new_client, spawn_app};

#[tokio::test]
async fn healthz_says_the_process_is_alive() {
    let app = spawn_app().await;
    let (status, json) = app.get_json(&new_client(), "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["status"], "ok");
}

#[tokio::test]
async fn readyz_says_the_database_answers_and_migrations_are_applied() {
    let app = spawn_app().await;
    let (status, json) = app.get_json(&new_client(), "/readyz").await;
    assert_eq!(status, StatusCode::OK, "{json} on {}", app.backend_name());
    assert_eq!(json["migrations"], "applied");
}

#[tokio::test]
async fn an_unknown_page_is_a_friendly_404_page_and_an_unknown_api_path_a_json_404() {
    let app = spawn_app().await;
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(response.text().await.unwrap().contains("Back to the front page"));

    let (status, json) = app.get_json(&new_client(), "/api/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(json["error"]["code"], "not_found");
}

#[tokio::test]
async fn the_stylesheet_is_served_with_a_long_cache_lifetime() {
    let app = spawn_app().await;
    let response = app.get("/static/style.v1.css").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in ["/", "/login", "/api/articles", "/no/such/page", "/healthz"] {
        let response = app.get(path).await;
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
            "{path}: {csp}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(
            headers["referrer-policy"], "strict-origin-when-cross-origin",
            "{path}"
        );
    }
}
