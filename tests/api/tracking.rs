//! Click and open tracking in newsletters: each recipient's links are
//! their own, a click is counted once per recipient and link and leads only
//! to the address the post had, and the open pixel counts the first open.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::{
    email::{app_sending_to, one_click_unsubscribe, unsubscribe_path, wait_until_finished},
    helpers::{TestApp, new_client},
    smtp::{Parsed, SmtpSink},
};

/// The public address emails link to in tests (`BROADSHEET_PUBLIC_URL`'s default).
const PUBLIC: &str = "http://127.0.0.1:8080";
const ELSEWHERE: &str = "https://elsewhere.example.org/report?year=2026&part=2";

/// Publishes a free post with a link to another site and one to this site,
/// emailed to everyone, and waits for the send to finish.
async fn publish_with_links(app: &TestApp) -> Value {
    let key = app.editor_key().await;
    let response = app
        .post_article(
            &key,
            json!({"title": "Links", "visibility": "public", "publish": true, "email": "all",
                   "markdown": format!("Read [the report]({ELSEWHERE}) and [our archive](/archive#2026).")}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let article: Value = response.json().await.unwrap();
    let progress = wait_until_finished(app, &key, &article["send_id"]).await;
    assert_eq!(progress["status"], "finished", "{progress}");
    article
}

/// Every `href` of an HTML part, entities decoded.
fn hrefs(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|href| href.replace("&amp;", "&"))
        .collect()
}

/// The open pixel's address in an HTML part.
fn pixel(html: &str) -> Option<String> {
    html.split("src=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|src| src.starts_with(&format!("{PUBLIC}/o/")))
        .map(str::to_owned)
}

/// The path and query of one of our absolute links, to ask the test server.
fn local(link: &str) -> &str {
    link.strip_prefix(PUBLIC)
        .unwrap_or_else(|| panic!("{link} is not ours"))
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[header::LOCATION].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn each_recipients_first_click_on_each_link_is_counted_once_and_leads_to_the_address_the_post_had() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[]).await;
    app.add_verified_members("reader", 2).await;
    publish_with_links(&app).await;

    let messages = sink.newsletters();
    assert_eq!(messages.len(), 2);
    let mut tracked_by_recipient = Vec::new();
    for message in &messages {
        let (text, html) = message.bodies();
        let links = hrefs(&html);
        assert!(
            !html.contains("elsewhere.example.org"),
            "the outside link is wrapped: {html}"
        );
        assert!(text.contains(ELSEWHERE), "the plain-text part keeps the address");
        let external: Vec<_> = links
            .iter()
            .filter(|l| l.starts_with(&format!("{PUBLIC}/r/")))
            .collect();
        let on_site: Vec<_> = links.iter().filter(|l| l.contains("bs_click=")).collect();
        assert_eq!(external.len(), 1, "{links:?}");
        assert_eq!(on_site.len(), 1, "{links:?}");
        assert!(
            on_site[0].starts_with(&format!("{PUBLIC}/archive?bs_click=")),
            "{}",
            on_site[0]
        );
        assert!(
            on_site[0].ends_with("#2026"),
            "the fragment stays last: {}",
            on_site[0]
        );
        assert!(
            links
                .iter()
                .any(|l| l.starts_with(&format!("{PUBLIC}/unsubscribe/"))),
            "the recipient's own links are not wrapped"
        );
        assert!(links.contains(&format!("{PUBLIC}/account")), "nor the footer's");
        tracked_by_recipient.push((external[0].clone(), on_site[0].clone()));
        let delivery = message
            .header("X-Broadsheet-Delivery")
            .expect("the delivery header");
        assert!(delivery.parse::<i32>().is_ok(), "{delivery}");
    }
    assert_ne!(
        tracked_by_recipient[0], tracked_by_recipient[1],
        "each recipient has their own links"
    );

    let client = new_client();
    for (external, on_site) in &tracked_by_recipient {
        for _ in 0..3 {
            let response = app.get_with(&client, local(external)).await;
            assert_eq!(response.status(), StatusCode::FOUND);
            assert_eq!(location(&response), ELSEWHERE);
            assert_eq!(response.headers()[header::CACHE_CONTROL], "private, no-store");
        }
        let response = app.get_with(&client, local(on_site)).await;
        assert_eq!(response.status(), StatusCode::FOUND);
        assert_eq!(
            location(&response),
            "/archive?ref=newsletter%3Alinks",
            "the token is taken off the address; the newsletter post is named for attribution"
        );
    }
    assert_eq!(
        app.count_rows("link_clicks").await,
        4,
        "two links, two recipients, once each"
    );
    assert_eq!(app.count_rows("send_links").await, 2);

    // A reader whose mail client drops the parameter still lands on the page.
    let (status, _) = app.get_text(&client, "/archive").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_changed_or_made_up_click_token_is_a_not_found_page_and_never_a_redirect() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[]).await;
    app.add_verified_members("reader", 1).await;
    publish_with_links(&app).await;
    let (_, html) = sink.newsletters()[0].bodies();
    let external = hrefs(&html)
        .into_iter()
        .find(|l| l.starts_with(&format!("{PUBLIC}/r/")))
        .unwrap();
    let token = external.rsplit('/').next().unwrap().to_owned();

    let mut tries = vec![
        "nothing".to_owned(),
        String::new(),
        "A".repeat(38),
        "A".repeat(600),
        format!("{token}A"),
        token[..token.len() - 1].to_owned(),
    ];
    // Every one-character change of the real token.
    for (at, original) in token.char_indices() {
        let replacement = if original == 'B' { 'C' } else { 'B' };
        let mut changed = token.clone();
        changed.replace_range(at..at + 1, &replacement.to_string());
        tries.push(changed);
    }
    let client = new_client();
    for attempt in tries {
        let response = app.get_with(&client, &format!("/r/{attempt}")).await;
        assert!(
            response.headers().get(header::LOCATION).is_none(),
            "/r/{attempt} redirected"
        );
        if !attempt.is_empty() {
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "/r/{attempt}");
            let body = response.text().await.unwrap();
            assert!(body.contains("Link not found"), "a page for people: {body}");
        }
    }
    // A site link with a made-up token still leads to the page, uncounted.
    let response = app.get_with(&client, "/archive?bs_click=made-up&year=2026").await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response), "/archive?year=2026");
    assert_eq!(app.count_rows("link_clicks").await, 0);
    let response = app.get_with(&client, local(&external)).await;
    assert_eq!(location(&response), ELSEWHERE, "the real token still works");
}

#[tokio::test]
async fn with_clicks_off_links_stay_as_written_and_with_opens_on_the_pixel_counts_the_first_open() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(
        &sink,
        &[
            ("BROADSHEET_TRACK_CLICKS", "false"),
            ("BROADSHEET_TRACK_OPENS", "true"),
        ],
    )
    .await;
    app.add_verified_members("reader", 1).await;
    publish_with_links(&app).await;
    let (_, html) = sink.newsletters()[0].bodies();
    assert!(
        html.contains("https://elsewhere.example.org/report?year=2026&amp;part=2"),
        "{html}"
    );
    assert!(!html.contains("bs_click="));
    let pixel = pixel(&html).expect("an open pixel");
    assert!(pixel.ends_with(".gif"));

    async fn opened_at(app: &TestApp) -> Vec<Option<time::PrimitiveDateTime>> {
        app.db(|conn| {
            use broadsheet::db::schema::deliveries;
            use diesel::prelude::*;
            Ok(deliveries::table.select(deliveries::opened_at).load(conn)?)
        })
        .await
    }
    assert_eq!(opened_at(&app).await, vec![None]);
    let client = new_client();
    let response = app.get_with(&client, local(&pixel)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "image/gif");
    assert_eq!(response.headers()[header::CACHE_CONTROL], "private, no-store");
    let first = opened_at(&app).await;
    assert!(first[0].is_some());
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    app.get_with(&client, local(&pixel)).await;
    assert_eq!(opened_at(&app).await, first, "only the first open is kept");

    let response = app.get_with(&client, "/o/made-up.gif").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_test_send_is_not_tracked() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[("BROADSHEET_TRACK_OPENS", "true")]).await;
    let key = app.editor_key().await;
    let response = app
        .post_article(
            &key,
            json!({"title": "Draft with a link", "visibility": "public",
                   "markdown": format!("See [the report]({ELSEWHERE}).")}),
        )
        .await;
    let article: Value = response.json().await.unwrap();
    let response = app
        .admin(
            reqwest::Method::POST,
            Some(&key),
            &format!("/admin/api/articles/{}/test-email", article["id"]),
            Some(json!({"to": ["editor@example.com"]})),
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{}",
        response.text().await.unwrap()
    );
    let message = sink
        .received()
        .into_iter()
        .find(|m| m.header("Subject").is_some_and(|s| s.starts_with("[Test]")))
        .expect("the test copy");
    let (_, html) = message.bodies();
    assert!(html.contains("https://elsewhere.example.org/report"), "{html}");
    assert!(!html.contains("/r/") && !html.contains("/o/"), "{html}");
    assert!(message.header("X-Broadsheet-Delivery").is_none());
}

#[tokio::test]
async fn a_posts_stats_count_delivery_bounces_unsubscribes_opens_and_clicks_per_link() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[("BROADSHEET_TRACK_OPENS", "true")]).await;
    let readers = app.add_verified_members("reader", 4).await;
    sink.reject(&readers[3]);
    let article = publish_with_links(&app).await;
    let key = app.editor_key().await;

    let message_to = |n: usize| {
        sink.newsletters()
            .into_iter()
            .find(|m| m.to[0] == readers[n])
            .expect("a copy")
    };
    let client = new_client();
    let tracked = |n: usize| {
        let (_, html) = message_to(n).bodies();
        let links = hrefs(&html);
        let pick = |wanted: &dyn Fn(&String) -> bool| links.iter().find(|l| wanted(l)).cloned().unwrap();
        let external = pick(&|l| l.starts_with(&format!("{PUBLIC}/r/")));
        let on_site = pick(&|l| l.contains("bs_click="));
        (external, on_site, pixel(&html).unwrap())
    };
    // Reader 0 opens, follows both links, the outside one twice; reader 1
    // follows the outside link; reader 2 leaves through the email's link.
    let (external, on_site, pixel) = tracked(0);
    for path in [&pixel, &external, &external, &on_site] {
        app.get_with(&client, local(path)).await;
    }
    let (external, _, _) = tracked(1);
    app.get_with(&client, local(&external)).await;
    let response = one_click_unsubscribe(&app, &unsubscribe_path(&message_to(2))).await;
    assert_eq!(response.status(), StatusCode::OK);

    let path = format!("/admin/api/articles/{}/stats", article["id"]);
    let response = app.admin(reqwest::Method::GET, Some(&key), &path, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let stats: Value = response.json().await.unwrap();
    let email = &stats["email"];
    assert_eq!(stats["article_id"], article["id"]);
    assert_eq!(email["recipients"], 4, "{stats}");
    assert_eq!(email["delivered"], 3, "{stats}");
    assert_eq!(email["failed"], 1, "{stats}");
    assert_eq!(email["bounced"], 1, "the server refused reader 3: {stats}");
    assert_eq!(email["complained"], 0);
    assert_eq!(email["unsubscribed"], 1, "{stats}");
    assert_eq!(email["opened"], 1, "{stats}");
    assert_eq!(email["clicked"], 2, "two recipients clicked: {stats}");
    assert!((email["click_rate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(
        email["links"],
        json!([
            {"url": ELSEWHERE, "clicked": 2, "click_rate": 2.0 / 3.0},
            {"url": format!("{PUBLIC}/archive#2026"), "clicked": 1, "click_rate": 1.0 / 3.0},
        ]),
        "{stats}"
    );
    assert_eq!(email["send"]["status"], "finished");

    // The editor shows the same figures under the post.
    let (editor, editor_id) = app.member("boss@example.com").await;
    app.set_role(editor_id, broadsheet::domain::role::Role::Editor)
        .await;
    let (status, page) = app
        .get_text(&editor, &format!("/admin/articles/{}", article["id"]))
        .await;
    assert_eq!(status, StatusCode::OK);
    let figures = page
        .split("id=\"email-stats\"")
        .nth(1)
        .expect("the figures section");
    for shown in [
        "<dt>Delivered</dt><dd>3 of 4</dd>",
        "<dt>Opened</dt><dd>1 (33.3%)</dd>",
        "<dt>Clicked</dt><dd>2 (66.7%)</dd>",
        "<dt>Unsubscribed</dt><dd>1</dd>",
        "<dt>Bounced</dt><dd>1</dd>",
        r#"<meter min="0" max="100" value="66.7">"#,
        r#"<meter min="0" max="100" value="33.3">"#,
    ] {
        assert!(figures.contains(shown), "{shown} in {figures}");
    }

    // A draft was never emailed; an author sees only their own posts'.
    let draft = app
        .post_article(
            &key,
            json!({"title": "Draft", "markdown": "x", "visibility": "public"}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    let path = format!("/admin/api/articles/{}/stats", draft["id"]);
    let stats: Value = app
        .admin(reqwest::Method::GET, Some(&key), &path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stats["email"], Value::Null);
    let author = app.author_key().await;
    let path = format!("/admin/api/articles/{}/stats", article["id"]);
    let response = app.admin(reqwest::Method::GET, Some(&author), &path, None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app
        .admin(
            reqwest::Method::GET,
            Some(&key),
            "/admin/api/articles/999999/stats",
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app.admin(reqwest::Method::GET, None, &path, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
