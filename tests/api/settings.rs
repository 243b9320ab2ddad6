//! The publication's own settings: stored in the database, changed by
//! admins, shown on every page, feed and email.

use std::{collections::HashMap, time::Duration};

use broadsheet::domain::role::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, client_at, spawn_app, spawn_app_with},
    smtp::{Parsed, SmtpSink},
};

const WAIT: Duration = Duration::from_secs(120);

async fn settings(app: &TestApp, key: &str) -> Value {
    let response = app
        .admin(Method::GET, Some(key), "/admin/api/settings", None)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn patch(app: &TestApp, key: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .admin(Method::PATCH, Some(key), "/admin/api/settings", Some(body))
        .await;
    (response.status(), response.json().await.unwrap())
}

fn the_ledger() -> Value {
    json!({
        "title": "The Ledger",
        "description": "Money, plainly.",
        "accent_color": "#123ABC",
        "sender_name": "Ledger Desk",
        "navigation": [{"label": "About", "url": "/about"}, {"label": "Shop", "url": "https://shop.example.com/"}],
        "footer": "Made in **Lyon**. <script>alert(1)</script>",
        "locale": "fr",
        "timezone": "Europe/Paris",
        "copyright": "© The Ledger SARL"
    })
}

#[tokio::test]
async fn a_new_publication_takes_its_name_and_sender_from_the_configuration() {
    let app = spawn_app_with(HashMap::from([
        ("BROADSHEET_SITE_TITLE", "Field Notes".to_owned()),
        ("MAIL_FROM", "Notes Desk <desk@example.com>".to_owned()),
    ]))
    .await;
    let key = app.api_key_for("admin@example.com", Role::Admin).await;
    let stored = settings(&app, &key).await;
    assert_eq!(stored["title"], "Field Notes");
    assert_eq!(stored["sender_name"], "Notes Desk");
    assert_eq!(stored["timezone"], "UTC");
    assert_eq!(stored["navigation"], json!([]));
    let (_, home) = app.get_text(&app.client, "/").await;
    assert!(home.contains("<title>Field Notes</title>"), "{home}");
}

#[tokio::test]
async fn an_admin_changes_the_settings_and_pages_feeds_and_emails_show_them() {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with(HashMap::from([("SMTP_URL", sink.url())])).await;
    let key = app.api_key_for("admin@example.com", Role::Admin).await;

    let (status, changed) = patch(&app, &key, the_ledger()).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        changed["accent_color"], "#123abc",
        "colours are stored in lower case"
    );
    assert_eq!(
        changed,
        settings(&app, &key).await,
        "what PATCH answers is what GET reads"
    );

    let (_, home) = app.get_text(&app.client, "/").await;
    for expected in [
        "<html lang=\"fr\">",
        "<title>The Ledger</title>",
        "Money, plainly.",
        "<meta property=\"og:site_name\" content=\"The Ledger\">",
        "href=\"/about\">About</a>",
        "href=\"https://shop.example.com/\">Shop</a>",
        "Made in <strong>Lyon</strong>",
        "© The Ledger SARL",
        "/theme.css?accent=123abc",
        "/favicon.svg?initial=T&#38;accent=123abc",
    ] {
        assert!(
            home.contains(expected),
            "the home page shows {expected:?}:\n{home}"
        );
    }
    assert!(!home.contains("<script>alert"), "the footer is sanitized");

    let theme = app.get("/theme.css?accent=123abc").await;
    assert_eq!(theme.status(), StatusCode::OK);
    assert!(
        theme.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("public")
    );
    assert!(theme.text().await.unwrap().contains("--accent: #123abc"));
    assert_eq!(
        app.get("/theme.css?accent=red;}body{").await.status(),
        StatusCode::NOT_FOUND
    );
    let icon = app.get("/favicon.svg?initial=T&accent=123abc").await;
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");

    let feed = app.get("/feed.xml").await.text().await.unwrap();
    let channel = rss::Channel::read_from(feed.as_bytes()).expect("valid RSS");
    assert_eq!(channel.title(), "The Ledger");
    assert_eq!(channel.description(), "Money, plainly.");
    assert_eq!(channel.language(), Some("fr"));

    // A verification email (transactional) and a newsletter (the worker).
    app.member("signing-up@example.com").await;
    app.add_verified_members("reader", 1).await;
    let published = app
        .post_article(
            &key,
            json!({"title": "Rates", "markdown": "Rates went up.", "visibility": "public", "publish": true, "email": "all"}),
        )
        .await;
    assert_eq!(published.status(), StatusCode::CREATED);
    // The admin's own verification email may have gone before the change.
    let ours =
        |m: &crate::smtp::Received| m.to[0] == "signing-up@example.com" || m.to[0] == "reader0@example.com";
    let deadline = tokio::time::Instant::now() + WAIT;
    while sink.received().iter().filter(|m| ours(m)).count() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the verification email and the newsletter"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for message in sink.received().into_iter().filter(ours) {
        let from = message.header("From").unwrap();
        assert!(
            from.contains("Ledger Desk"),
            "From names the sender: {from} (to {:?})",
            message.to
        );
        assert!(
            from.contains("newsletter@localhost"),
            "the address stays MAIL_FROM: {from}"
        );
    }
    let newsletter = &sink.newsletters()[0];
    let (_, html) = newsletter.bodies();
    assert!(
        html.contains("The Ledger"),
        "the email's header names the publication"
    );
}

#[tokio::test]
async fn a_value_that_breaks_a_rule_is_refused_with_its_field_and_nothing_changes() {
    let app = spawn_app().await;
    let key = app.api_key_for("admin@example.com", Role::Admin).await;
    let before = settings(&app, &key).await;
    for (body, field) in [
        (json!({"title": "Fine", "accent_color": "red"}), "accent_color"),
        (
            json!({"title": "Fine", "logo_url": "javascript:alert(1)"}),
            "logo_url",
        ),
        (
            json!({"navigation": [{"label": "x", "url": "//evil.example"}]}),
            "navigation",
        ),
        (json!({"timezone": "Mars/Olympus"}), "timezone"),
        (
            json!({"embed_origins": ["https://ok.example/with/path"]}),
            "embed_origins",
        ),
        (json!({"title": ""}), "title"),
    ] {
        let (status, error) = patch(&app, &key, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
    }
    let (status, error) = patch(&app, &key, json!({"titel": "typo"})).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown fields are refused: {error}"
    );
    assert_eq!(
        settings(&app, &key).await,
        before,
        "no refused patch changed anything"
    );
}

#[tokio::test]
async fn a_change_shows_on_another_instance_within_the_read_cache_lifetime() {
    let app = spawn_app().await;
    let other = app.second_instance().await;
    let browser = client_at(&other);
    let first = browser
        .get(format!("{other}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        first.contains("<title>Broadsheet</title>"),
        "the other instance has read the settings"
    );

    let key = app.api_key_for("admin@example.com", Role::Admin).await;
    let (status, _) = patch(&app, &key, json!({"title": "Renamed Daily"})).await;
    assert_eq!(status, StatusCode::OK);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let page = browser
            .get(format!("{other}/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if page.contains("<title>Renamed Daily</title>") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the other instance never showed the new name"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_admin_saves_the_settings_page_and_an_editor_may_only_read_it() {
    let app = spawn_app().await;
    let (admin, admin_id) = app.member("boss@example.com").await;
    app.set_role(admin_id, Role::Admin).await;
    let (editor, editor_id) = app.member("editor@example.com").await;
    app.set_role(editor_id, Role::Editor).await;
    let (reader, _) = app.member("reader@example.com").await;

    let (status, page) = app.get_text(&admin, "/admin/settings").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"save-settings\""), "admins get a save button");
    assert!(
        page.contains("&#60;iframe src=&#34;http://127.0.0.1:8080/embed/subscribe&#34;"),
        "the snippet to paste on another site: {page}"
    );

    let mut fields = vec![
        ("title", "Harbour Light"),
        ("description", "Notes from the coast."),
        ("accent_color", "#0a7f5a"),
        ("logo_url", ""),
        ("icon_url", ""),
        ("sender_name", "Harbour Light"),
        ("footer", "Written by the sea."),
        ("navigation", "About | /about\r\nArchive | /archive"),
        ("locale", "en-GB"),
        ("timezone", "Europe/London"),
        ("copyright", ""),
        ("embed_origins", "https://harbour.example"),
        ("subscribe_asks_name", "on"),
    ];
    let saved = app.post_form(&admin, "/admin/settings", &fields).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.get_text(&admin, "/admin/settings").await;
    assert!(page.contains("Settings saved."), "{page}");
    assert!(page.contains("About | /about\nArchive | /archive"), "{page}");
    let (_, home) = app.get_text(&reader, "/").await;
    assert!(home.contains("<title>Harbour Light</title>"));
    assert!(home.contains("Notes from the coast."));
    let (_, visitor_home) = app.get_text(&crate::helpers::new_client(), "/").await;
    assert!(
        visitor_home.contains("name=\"name\" autocomplete=\"name\""),
        "the subscribe form asks for a name once the setting says so"
    );

    fields[2] = ("accent_color", "green");
    let refused = app.post_form(&admin, "/admin/settings", &fields).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("id=\"accent_color-error\""),
        "the error sits by its field: {page}"
    );
    assert!(page.contains("Notes from the coast."), "what was typed is kept");

    let (status, page) = app.get_text(&editor, "/admin/settings").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Only admins change these settings"));
    assert!(!page.contains("id=\"save-settings\""));
    fields[2] = ("accent_color", "#000000");
    let forbidden = app.post_form(&editor, "/admin/settings", &fields).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let (status, _) = app.get_text(&reader, "/admin/settings").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let key = app.api_key_for("boss@example.com", Role::Admin).await;
    assert_eq!(
        settings(&app, &key).await["accent_color"],
        "#0a7f5a",
        "nothing refused was saved"
    );
}
