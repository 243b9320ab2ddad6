//! The paid part of a paid article never reaches a reader who may not read it.

use reqwest::StatusCode;

use crate::helpers::{PAID_MARKER, new_client, spawn_app};

#[tokio::test]
async fn the_paid_marker_never_appears_in_any_response_to_an_unentitled_reader() {
    let app = spawn_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let (free_member, free_id) = app.member("free@example.com").await;
    let (lapsed, lapsed_id) = app.member("lapsed@example.com").await;
    app.add_subscription(lapsed_id, "canceled", -5).await;
    let (card_failed, failed_id) = app.member("failed@example.com").await;
    app.add_subscription(failed_id, "past_due", -30).await;
    // Active, but a dispute of their payment suspends it.
    let (disputed, disputed_id) = app.member("disputed@example.com").await;
    app.add_subscription(disputed_id, "active", 30).await;
    app.db(move |conn| {
        use broadsheet::db::billing::{IncidentNews, record_incident};
        let news = IncidentNews {
            user_id: disputed_id,
            kind: "dispute",
            stripe_id: "dp_leak",
            charge_id: "ch_leak",
            amount: 800,
            currency: "usd",
            status: "needs_response",
            suspends_access: true,
        };
        Ok(record_incident(conn, &news, broadsheet::db::now())?)
    })
    .await;
    // Active, but its period ended three weeks ago and Stripe never said more.
    let (stale, stale_id) = app.member("stale@example.com").await;
    app.add_subscription(stale_id, "active", -21).await;

    // A paid page and the author page of the writer of everything.
    let editor = app.editor_key().await;
    let made = app
        .post_article(
            &editor,
            serde_json::json!({"title": "Members handbook", "type": "page", "visibility": "paid", "publish": true,
                "markdown": format!("How it works.\n\n<!-- paywall -->\n\nThe {PAID_MARKER} details.")}),
        )
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let (_, staff) =
        crate::tiers::call(&app, &editor, reqwest::Method::GET, "/admin/api/authors", None).await;
    let author = staff[0]["slug"].as_str().unwrap().to_owned();
    let paths = [
        // Searches for words only after the divider, and in the preview.
        // The marker is searched for in lower case (search ignores case):
        // the page repeats the query as typed, which is not a leak.
        "/search?q=secret".to_owned(),
        format!("/search?q={}", PAID_MARKER.to_lowercase()),
        "/search?q=free%20intro".to_owned(),
        "/api/search?q=secret".to_owned(),
        format!("/api/search?q={}", PAID_MARKER.to_lowercase()),
        "/api/search?q=free%20intro".to_owned(),
        "/api/search?q=details".to_owned(),
        "/members-handbook".to_owned(),
        format!("/author/{author}"),
        format!("/api/articles?author={author}"),
        "/".to_owned(),
        "/?page=1".to_owned(),
        "/archive".to_owned(),
        format!("/p/{paid}"),
        "/api/articles".to_owned(),
        "/api/articles?per_page=100".to_owned(),
        format!("/api/articles/{paid}"),
        "/account".to_owned(),
        "/feed.xml".to_owned(),
        "/sitemap.xml".to_owned(),
        "/join".to_owned(),
        "/embed/subscribe".to_owned(),
        "/admin/settings".to_owned(),
        // The attribution trail's pages: the post as a newsletter link
        // lands on it, the plans and sign-up a teaser leads to.
        format!("/p/{paid}?ref=newsletter:{paid}"),
        format!("/subscribe?trail=post%3D{paid}"),
        format!("/signup?next=%2Fsubscribe%3Ftrail%3Dpost%253D{paid}"),
    ];
    // A member's "view in browser" copy of a paid post, for every state
    // that does not read it.
    for (who, user_id) in [
        ("free member", free_id),
        ("lapsed", lapsed_id),
        ("card failed", failed_id),
        ("disputed", disputed_id),
        ("renewal news missed", stale_id),
    ] {
        let path = app.email_copy_path(user_id, &paid).await;
        let (status, body) = app.get_text(&new_client(), &path).await;
        assert_eq!(status, StatusCode::OK, "{who}: {path}");
        assert!(
            !body.contains(PAID_MARKER),
            "{who} saw the paid part in their email copy"
        );
    }
    for (who, client) in [
        ("anonymous", new_client()),
        ("free member", free_member),
        ("lapsed", lapsed),
        ("card failed", card_failed),
        ("disputed", disputed),
        ("renewal news missed", stale),
    ] {
        for path in &paths {
            let response = app.get_with(&client, path).await;
            let status = response.status();
            let body = response.text().await.unwrap();
            assert!(
                !body.contains(PAID_MARKER),
                "{who} saw the paid part at {path} ({status})"
            );
        }
    }
}

#[tokio::test]
async fn the_paid_marker_does_reach_a_subscriber_so_the_scan_above_means_something() {
    let app = spawn_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let (client, user_id) = app.member("paying@example.com").await;
    app.add_subscription(user_id, "active", 30).await;
    let (status, body) = app.get_text(&client, "/api/articles").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(PAID_MARKER));
    let (_, body) = app.get_text(&client, &format!("/p/{paid}")).await;
    assert!(body.contains(PAID_MARKER));
    let (_, body) = app
        .get_text(&client, &format!("/api/search?q={}", PAID_MARKER.to_lowercase()))
        .await;
    assert!(body.contains(PAID_MARKER), "their search snippet: {body}");
    let (_, body) = app
        .get_text(&new_client(), &app.email_copy_path(user_id, &paid).await)
        .await;
    assert!(body.contains(PAID_MARKER), "their email copy");
}

#[tokio::test]
async fn a_lapsed_subscribers_private_feed_and_an_authors_key_never_carry_the_paid_part() {
    let app = spawn_app().await;
    app.publish_one_of_each().await;

    let (lapsed, lapsed_id) = app.member("lapsed-feed@example.com").await;
    app.add_subscription(lapsed_id, "canceled", -1).await;
    let (_, account) = app.get_text(&lapsed, "/account").await;
    let start = account.find("/feed/").unwrap();
    let feed = &account[start..start + account[start..].find(".xml").unwrap() + 4];
    let (status, xml) = app.get_text(&new_client(), feed).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !xml.contains(PAID_MARKER),
        "a lapsed subscriber's private feed leaked"
    );

    let author = app.author_key().await;
    let list = app
        .admin(reqwest::Method::GET, Some(&author), "/admin/api/articles", None)
        .await;
    assert!(
        !list.text().await.unwrap().contains(PAID_MARKER),
        "an author's list leaked another's article"
    );
    for id in 1..=3 {
        let response = app
            .admin(
                reqwest::Method::GET,
                Some(&author),
                &format!("/admin/api/articles/{id}"),
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(!response.text().await.unwrap().contains(PAID_MARKER));
    }
}

#[tokio::test]
async fn a_posts_stats_and_its_tracked_links_carry_no_part_of_the_body() {
    let sink = crate::smtp::SmtpSink::start().await;
    let app = crate::email::app_sending_to(&sink, &[("BROADSHEET_TRACK_OPENS", "true")]).await;
    let readers = app.add_verified_members("reader", 2).await;
    let paying = app.user_id(&readers[0]).await;
    app.add_subscription(paying, "active", 30).await;
    let editor = app.editor_key().await;
    let response = app
        .post_article(
            &editor,
            serde_json::json!({"title": "Paid with links", "visibility": "paid", "publish": true, "email": "all",
                "markdown": format!("See [the intro](https://elsewhere.example.org/intro).\n\n<!-- paywall -->\n\nThe {PAID_MARKER} part, [more](/archive).")}),
        )
        .await;
    let article: serde_json::Value = response.json().await.unwrap();
    crate::email::wait_until_finished(&app, &editor, &article["send_id"]).await;
    let path = format!("/admin/api/articles/{}/stats", article["id"]);
    let stats = app.admin(reqwest::Method::GET, Some(&editor), &path, None).await;
    assert_eq!(stats.status(), StatusCode::OK);
    assert!(
        !stats.text().await.unwrap().contains(PAID_MARKER),
        "stats are counts"
    );
    // Every tracked link and pixel the free reader got, followed.
    let free_copy = sink
        .newsletters()
        .into_iter()
        .find(|m| m.to[0] == readers[1])
        .unwrap();
    let (_, html) = crate::smtp::Parsed::bodies(&free_copy);
    assert!(!html.contains(PAID_MARKER));
    for quoted in html
        .split('"')
        .filter(|s| s.starts_with("http://127.0.0.1:8080/"))
    {
        let path = quoted
            .trim_start_matches("http://127.0.0.1:8080")
            .replace("&amp;", "&");
        let response = app.get_with(&new_client(), &path).await;
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = response.text().await.unwrap();
        assert!(
            !body.contains(PAID_MARKER) && !location.contains(PAID_MARKER),
            "{path}"
        );
    }
}

#[tokio::test]
async fn webhook_payloads_and_their_delivery_log_carry_no_part_of_a_paid_body() {
    use broadsheet_testkit::webhook_receiver::WebhookReceiver;
    let receiver = WebhookReceiver::start().await;
    let sink = crate::smtp::SmtpSink::start().await;
    let app = crate::email::app_sending_to(&sink, &[("BROADSHEET_WEBHOOKS_ALLOW_PRIVATE", "true")]).await;
    app.add_verified_members("reader", 2).await;
    let admin = crate::webhooks::admin_key(&app).await;
    let events = ["article.published", "send.finished"];
    let (id, _) = crate::webhooks::register(&app, &admin, &receiver, &events).await;
    for (title, visibility) in [("Paid leak check", "paid"), ("Members leak check", "members")] {
        let response = app
            .post_article(
                &admin,
                serde_json::json!({"title": title, "visibility": visibility, "publish": true, "email": "all",
                    "markdown": format!("Opening.\n\n<!-- paywall -->\n\nThe {PAID_MARKER} part.")}),
            )
            .await;
        let article: serde_json::Value = response.json().await.unwrap();
        crate::email::wait_until_finished(&app, &admin, &article["send_id"]).await;
    }
    let received = crate::webhooks::wait_for(&receiver, "two posts and two sends", |r| r.len() >= 4).await;
    for got in received {
        assert!(!got.body.contains(PAID_MARKER), "{}", got.body);
    }
    let path = format!("/admin/api/webhooks/{id}/deliveries");
    let log = app.admin(reqwest::Method::GET, Some(&admin), &path, None).await;
    assert_eq!(log.status(), StatusCode::OK);
    assert!(!log.text().await.unwrap().contains(PAID_MARKER));
}
