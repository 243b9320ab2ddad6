//! `/metrics`: Prometheus text, scraped and parsed after a real flow.

use std::collections::HashMap;

use reqwest::StatusCode;

use crate::helpers::{TestApp, new_client, spawn_app, spawn_app_with};

/// Samples by full series name (`name{labels}`), from the text format.
fn parse(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a sample line");
            (series.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

pub(crate) async fn scrape(app: &TestApp) -> HashMap<String, f64> {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = response.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    parse(&text)
}

fn sample(samples: &HashMap<String, f64>, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("no {series} in {:#?}", samples.keys().collect::<Vec<_>>()))
}

#[tokio::test]
async fn metrics_count_requests_access_decisions_failed_logins_and_deliveries_after_a_flow() {
    let app = spawn_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    for _ in 0..3 {
        app.get_with(&new_client(), &format!("/p/{paid}")).await;
    }
    let (subscriber, _) = app.subscriber_with_session_token("paying@example.com").await;
    app.get_with(&subscriber, &format!("/p/{paid}")).await;
    app.get("/p/no-such-article").await;
    let intruder = new_client();
    app.login(&intruder, "paying@example.com", "wrong password").await;
    app.login(&intruder, "nobody@example.com", "wrong password").await;
    // A newsletter send, so the delivery counts have something to count.
    app.add_verified_members("reader", 3).await;
    let key = app.editor_key().await;
    app.post_article(
        &key,
        serde_json::json!({"title": "Mailed", "markdown": "Hello.", "visibility": "public", "publish": true, "email": "all"}),
    )
    .await;
    let mut samples = scrape(&app).await;
    for _ in 0..100 {
        if samples.get("broadsheet_deliveries{status=\"pending\"}") == Some(&0.0)
            && samples.get("broadsheet_deliveries{status=\"sending\"}") == Some(&0.0)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        samples = scrape(&app).await;
    }

    let teasers = r#"broadsheet_http_requests_total{method="GET",route="/p/{slug}",status="200"}"#;
    assert!(sample(&samples, teasers) >= 4.0);
    assert!(
        sample(
            &samples,
            r#"broadsheet_http_requests_total{method="GET",route="/p/{slug}",status="404"}"#
        ) >= 1.0
    );
    assert!(
        sample(
            &samples,
            r#"broadsheet_http_request_duration_seconds_count{method="GET",route="/p/{slug}"}"#
        ) >= 5.0
    );
    assert!(
        sample(
            &samples,
            r#"broadsheet_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/p/{slug}"}"#
        ) >= 5.0
    );
    assert_eq!(
        sample(
            &samples,
            r#"broadsheet_access_decisions_total{outcome="preview_login"}"#
        ),
        3.0
    );
    assert!(sample(&samples, r#"broadsheet_access_decisions_total{outcome="full"}"#) >= 1.0);
    assert_eq!(
        sample(
            &samples,
            r#"broadsheet_failed_logins_total{outcome="bad_credentials"}"#
        ),
        2.0
    );
    assert_eq!(sample(&samples, r#"broadsheet_deliveries{status="sent"}"#), 3.0);
    assert_eq!(sample(&samples, r#"broadsheet_deliveries{status="failed"}"#), 0.0);
    assert_eq!(
        sample(&samples, r#"broadsheet_deliveries{status="pending"}"#),
        0.0
    );
}

#[tokio::test]
async fn with_a_metrics_token_set_metrics_want_it() {
    let app = spawn_app_with([("BROADSHEET_METRICS_TOKEN", "s3cret-scrape".to_owned())].into()).await;
    assert_eq!(app.get("/metrics").await.status(), StatusCode::UNAUTHORIZED);
    let response = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("s3cret-scrape")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn odd_methods_and_unknown_paths_do_not_grow_the_label_sets() {
    let app = spawn_app().await;
    for i in 0..20 {
        app.get(&format!("/nothing/here/{i}")).await;
        app.client
            .request(
                reqwest::Method::from_bytes(format!("VERB{i}").as_bytes()).unwrap(),
                app.url("/"),
            )
            .send()
            .await
            .unwrap();
    }
    let samples = scrape(&app).await;
    let series = samples
        .keys()
        .filter(|k| k.starts_with("broadsheet_http_requests_total"))
        .count();
    assert!(series <= 4, "{:#?}", samples.keys().collect::<Vec<_>>());
}
