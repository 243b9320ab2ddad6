//! RSS feeds, the sitemap and the meta tags.

use reqwest::StatusCode;

use crate::helpers::{PAID_MARKER, new_client, spawn_app};

pub(crate) fn private_feed_path(account_html: &str) -> String {
    let start = account_html
        .find("/feed/")
        .expect("the account page shows the private feed");
    let end = start + account_html[start..].find(".xml").unwrap() + 4;
    account_html[start..end].to_owned()
}

#[tokio::test]
async fn the_public_feed_has_the_full_text_of_public_posts_and_previews_of_the_rest() {
    let app = spawn_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let response = app.get("/feed.xml").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/rss+xml")
    );
    let xml = response.text().await.unwrap();
    let channel = rss::Channel::read_from(xml.as_bytes()).expect("valid RSS");
    assert_eq!(channel.items().len(), 3);
    assert!(xml.contains(&format!("/p/{paid}")));
    assert!(!xml.contains(PAID_MARKER));
    assert!(xml.contains("All of it."), "a public post in full");
    assert!(
        !xml.contains("Members only rest."),
        "a members post as its preview"
    );
}

#[tokio::test]
async fn feed_items_carry_their_cover_image_as_an_enclosure() {
    let app = spawn_app().await;
    let key = app.editor_key().await;
    let response = app
        .post_article(
            &key,
            serde_json::json!({"title": "Pictured", "markdown": "Words.", "visibility": "public", "publish": true,
                "feature_image": "/media/cover.png"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let (_, xml) = app.get_text(&new_client(), "/feed.xml").await;
    let channel = rss::Channel::read_from(xml.as_bytes()).expect("valid RSS");
    let enclosure = channel.items()[0].enclosure().expect("an enclosure");
    assert!(
        enclosure.url().starts_with("http") && enclosure.url().ends_with("/media/cover.png"),
        "an absolute address: {}",
        enclosure.url()
    );
    assert_eq!(enclosure.mime_type(), "image/png");
}

/// The JSON-LD block of a page, parsed.
fn json_ld(html: &str) -> serde_json::Value {
    let start = html
        .find(r#"<script type="application/ld+json">"#)
        .expect("a JSON-LD block")
        + r#"<script type="application/ld+json">"#.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).expect("valid JSON")
}

#[tokio::test]
async fn post_pages_carry_sharing_tags_and_structured_data_marking_the_paywalled_part() {
    let app = spawn_app().await;
    let key = app.editor_key().await;
    let response = app
        .post_article(
            &key,
            serde_json::json!({"title": "Deep dive", "visibility": "paid", "publish": true,
                "markdown": format!("Free intro.\n\n<!-- paywall -->\n\nThe {PAID_MARKER} part."),
                "feature_image": "/media/deep.jpg", "feature_image_alt": "A diver", "tags": ["Oceans"]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let (_, html) = app.get_text(&new_client(), "/p/deep-dive").await;
    // Absolute addresses on the configured origin.
    let origin = html
        .split(r#"<link rel="canonical" href=""#)
        .nth(1)
        .and_then(|rest| rest.split("/p/deep-dive\"").next())
        .expect("a canonical link to the post")
        .to_owned();
    assert!(origin.starts_with("http"), "{origin}");
    for tag in [
        format!(r#"<meta property="og:url" content="{origin}/p/deep-dive">"#),
        format!(r#"<meta property="og:image" content="{origin}/media/deep.jpg">"#),
        r#"<meta property="og:image:alt" content="A diver">"#.to_owned(),
        r#"<meta name="twitter:card" content="summary_large_image">"#.to_owned(),
        r#"<meta property="article:tag" content="Oceans">"#.to_owned(),
        r#"<meta property="article:published_time" content=""#.to_owned(),
    ] {
        assert!(html.contains(&tag), "missing {tag}");
    }
    let data = json_ld(&html);
    assert_eq!(data["@type"], "Article");
    assert_eq!(data["headline"], "Deep dive");
    assert_eq!(data["isAccessibleForFree"], false);
    assert_eq!(data["hasPart"]["isAccessibleForFree"], false);
    let selector = data["hasPart"]["cssSelector"].as_str().unwrap();
    assert!(
        html.contains(r#"<div class="body teaser">"#) && selector.ends_with(".body"),
        "{selector}"
    );
    assert_eq!(data["image"][0], format!("{origin}/media/deep.jpg"));
    assert!(!html.contains(PAID_MARKER));

    let (open, _, _) = app.publish_one_of_each().await;
    let (_, html) = app.get_text(&new_client(), &format!("/p/{open}")).await;
    let data = json_ld(&html);
    assert_eq!(data["isAccessibleForFree"], true);
    assert!(
        data.get("hasPart").is_none(),
        "nothing is paywalled on a public post"
    );
    assert!(html.contains(r#"<meta name="twitter:card" content="summary">"#));
}

#[tokio::test]
async fn a_subscribers_private_feed_has_full_text_until_the_subscription_lapses() {
    let app = spawn_app().await;
    app.publish_one_of_each().await;
    let (client, user_id) = app.member("feedreader@example.com").await;
    app.add_subscription(user_id, "active", 30).await;
    let (_, account) = app.get_text(&client, "/account").await;
    let feed = private_feed_path(&account);

    let (status, xml) = app.get_text(&new_client(), &feed).await;
    assert_eq!(status, StatusCode::OK, "the feed works with no cookie");
    assert!(xml.contains(PAID_MARKER), "a subscriber's feed has the full text");

    app.db(move |conn| {
        use diesel::prelude::*;
        diesel::update(
            broadsheet::db::schema::subscriptions::table
                .filter(broadsheet::db::schema::subscriptions::user_id.eq(user_id)),
        )
        .set(broadsheet::db::schema::subscriptions::status.eq("canceled"))
        .execute(conn)?;
        Ok(())
    })
    .await;
    let (_, xml) = app.get_text(&new_client(), &feed).await;
    assert!(
        !xml.contains(PAID_MARKER),
        "a lapsed subscriber's feed turns to previews"
    );
}

#[tokio::test]
async fn replacing_the_private_feed_address_retires_the_old_one() {
    let app = spawn_app().await;
    let (client, _) = app.member("rotate@example.com").await;
    let (_, account) = app.get_text(&client, "/account").await;
    let old = private_feed_path(&account);
    let response = app.post_form(&client, "/account/feed", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, account) = app.get_text(&client, "/account").await;
    let new = private_feed_path(&account);
    assert_ne!(old, new);
    assert_eq!(app.get(&old).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get(&new).await.status(), StatusCode::OK);
    assert_eq!(
        app.get("/feed/forged-token.xml").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_sitemap_lists_published_articles_only() {
    let app = spawn_app().await;
    let (public, members, paid) = app.publish_one_of_each().await;
    let key = app.editor_key().await;
    app.post_article(
        &key,
        serde_json::json!({"title": "Secret draft", "markdown": "x", "visibility": "public"}),
    )
    .await;
    let (status, xml) = app.get_text(&new_client(), "/sitemap.xml").await;
    assert_eq!(status, StatusCode::OK);
    for slug in [&public, &members, &paid] {
        assert!(xml.contains(&format!("/p/{slug}</loc>")), "{slug}");
    }
    assert!(!xml.contains("secret-draft"));
}

#[tokio::test]
async fn article_pages_carry_opengraph_and_meta_description_from_the_preview_only() {
    let app = spawn_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let (_, html) = app.get_text(&new_client(), &format!("/p/{paid}")).await;
    assert!(
        html.contains("<meta name=\"description\" content=\"Free intro.\">"),
        "{html}"
    );
    assert!(html.contains("<meta property=\"og:description\" content=\"Free intro.\">"));
    assert!(html.contains("<meta property=\"og:title\" content=\"Paid piece\">"));
}
