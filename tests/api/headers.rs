//! What every answer says about itself, and who may write through the
//! reader API: caching, cookies, CSRF tokens bound to the session, JSON
//! writes from this site only, and outages answered as such.

use reqwest::{StatusCode, header};
use serde_json::json;

use crate::helpers::{new_client, spawn_app};

fn cache_control(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(header::CACHE_CONTROL)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn personal_answers_are_private_and_public_answers_never_set_a_cookie() {
    let app = spawn_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let (subscriber, token) = app.subscriber_with_session_token("reader@example.com").await;

    // The reader API answers a signed-in subscriber (by cookie or by
    // bearer token): never storable by a shared cache.
    for path in [
        format!("/api/articles/{paid}"),
        "/api/articles".to_owned(),
        "/api/gifts".to_owned(),
    ] {
        let by_cookie = app.get_with(&subscriber, &path).await;
        assert_eq!(cache_control(&by_cookie), "private, no-store", "{path} by cookie");
        let by_token = new_client()
            .get(app.url(&path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(cache_control(&by_token), "private, no-store", "{path} by token");
    }
    for path in ["/", "/account", "/healthz", "/nothing-here"] {
        let response = app.get_with(&subscriber, path).await;
        assert_eq!(cache_control(&response), "private, no-store", "{path}");
    }

    // What is the same for everyone may be cached publicly, and so carries
    // no cookie, not even to a visitor who has none yet.
    for path in [
        "/feed.xml",
        "/sitemap.xml",
        "/static/style.v7.css",
        "/static/admin.v2.js",
    ] {
        let response = new_client().get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(cache_control(&response).starts_with("public"), "{path}");
        assert!(
            response.headers().get(header::SET_COOKIE).is_none(),
            "{path} sets a cookie"
        );
    }
    // A page with a form gives a new visitor the CSRF cookie.
    let login = new_client().get(app.url("/login")).send().await.unwrap();
    assert!(
        login.cookies().any(|c| c.name() == "bs_csrf"),
        "a form page sets the CSRF cookie"
    );
}

#[tokio::test]
async fn a_csrf_token_is_bound_to_the_session_it_was_shown_to() {
    let app = spawn_app().await;
    let (victim, session) = app.subscriber_with_session_token("victim@example.com").await;
    // Someone who can plant a cookie (a sibling subdomain) sets a CSRF
    // cookie of their choosing and submits the same value as the token.
    let planted = "A".repeat(43);
    let forged = new_client()
        .post(app.url("/account/newsletters"))
        .header(header::COOKIE, format!("bs_session={session}; bs_csrf={planted}"))
        .form(&[("csrf_token", planted.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    let (other, _) = app.member("other@example.com").await;
    let others_token = app.csrf_token(&other).await;
    let victims_token = app.csrf_token(&victim).await;
    assert_ne!(victims_token, others_token, "each session has its own token");
    let genuine = app.post_form(&victim, "/account/newsletters", &[]).await;
    assert_eq!(
        genuine.status(),
        StatusCode::SEE_OTHER,
        "the page's own token works"
    );
}

#[tokio::test]
async fn cookie_authenticated_api_writes_must_be_json_from_this_site() {
    let app = spawn_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let (subscriber, _) = app.subscriber_with_session_token("giver@example.com").await;
    let path = app.url(&format!("/api/articles/{paid}/gift"));

    let text_plain = subscriber
        .post(&path)
        .header(header::CONTENT_TYPE, "text/plain")
        .body(json!({"max_reads": 1}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(text_plain.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let foreign_origin = subscriber
        .post(&path)
        .header(header::ORIGIN, "https://evil.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign_origin.status(), StatusCode::FORBIDDEN);

    let cross_site = subscriber
        .post(&path)
        .header("Sec-Fetch-Site", "cross-site")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count_rows("gift_links").await, 0, "nothing was written");

    let origin = app.url("");
    let same_site = subscriber
        .post(&path)
        .header(header::ORIGIN, origin.trim_end_matches('/'))
        .header("Sec-Fetch-Site", "same-origin")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(same_site.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_write_kept_waiting_by_a_long_outside_write_on_sqlite_is_a_503_with_retry_after() {
    let app = spawn_app().await;
    if app.backend_name() != "sqlite" {
        eprintln!("SQLite only: PostgreSQL writers queue on row locks, not a file lock");
        return;
    }
    let lock = app.hold_write_lock("").await;
    let response = app
        .signup(&new_client(), "patient@example.com", "correct horse battery")
        .await;
    lock.release();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key(header::RETRY_AFTER));
    assert_eq!(app.count_rows("users").await, 0, "nothing half written");
}
