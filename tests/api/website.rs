//! The website in a real browser: what a reader and an editor see and do.

use broadsheet::domain::role::Role;

use crate::{
    browser::Browser,
    helpers::{PAID_MARKER, spawn_app},
};

use crate::helpers::PASSWORD;

#[tokio::test]
async fn an_anonymous_reader_sees_the_teaser_logs_in_from_it_and_reads_the_whole_article() {
    let app = spawn_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let (_, user_id) = app.member("reader@example.com").await;
    app.add_subscription(user_id, "active", 30).await;
    let browser = Browser::start().await;

    browser.open(&app.url("/")).await;
    let home = browser.text().await;
    assert!(home.contains("Paid piece") && home.contains("Log in"), "{home}");
    browser.click_link("Paid piece").await;
    let teaser = browser.text().await;
    assert!(teaser.contains("Already a subscriber? Log in"), "{teaser}");
    assert!(teaser.contains("Free intro.") && !teaser.contains(PAID_MARKER));
    browser.screenshot("teaser").await;

    browser.click(".cta a.cta-login").await;
    assert_eq!(browser.wait_for_path("/login").await, "/login");
    browser.fill("#email", "reader@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form[action='/login'] button[type=submit]").await;
    let article = format!("/p/{paid}");
    assert_eq!(
        browser.wait_for_path(&article).await,
        article,
        "back to the article after logging in"
    );
    let full = browser.text().await;
    assert!(full.contains(PAID_MARKER), "{full}");
    assert!(!full.contains("Already a subscriber"));
    browser.screenshot("full-article").await;

    browser.open(&app.url("/account")).await;
    let account = browser.text().await;
    assert!(
        account.contains("reader@example.com") && account.contains("this device"),
        "{account}"
    );
    browser.screenshot("account").await;

    browser.click("form[action='/logout'] button").await;
    assert!(browser.wait_for_text("You are logged out.").await);
    browser.open(&app.url(&format!("/p/{paid}"))).await;
    assert!(
        browser.text().await.contains("Already a subscriber? Log in"),
        "logged out, the teaser is back"
    );
    browser.close().await;
}

#[tokio::test]
async fn a_free_member_sees_subscribe_and_a_member_with_a_failed_card_sees_the_update_card_button() {
    let app = spawn_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    app.member("free@example.com").await;
    let (_, failed) = app.member("failed@example.com").await;
    app.add_subscription(failed, "past_due", -20).await;

    for (email, expected, button) in [
        ("free@example.com", "Subscribe to keep reading", ".cta a.button"),
        (
            "failed@example.com",
            "Your card on file needs updating",
            ".cta form[action='/billing/portal'] button",
        ),
    ] {
        let browser = Browser::start().await;
        browser.open(&app.url("/login")).await;
        browser.fill("#email", email).await;
        browser.fill("#password", PASSWORD).await;
        browser.click("form[action='/login'] button[type=submit]").await;
        assert_eq!(browser.wait_for_path("/").await, "/", "{email} logged in");
        browser.open(&app.url(&format!("/p/{paid}"))).await;
        let page = browser.text().await;
        assert!(page.contains(expected), "{email}: {page}");
        assert!(!page.contains(PAID_MARKER));
        browser
            .client
            .find(fantoccini::Locator::Css(button))
            .await
            .unwrap_or_else(|_| panic!("{email}: no {button}"));
        if email.starts_with("failed") {
            browser.screenshot("update-card-teaser").await;
        }
        browser.close().await;
    }
}

#[tokio::test]
async fn signup_errors_appear_next_to_their_fields() {
    let app = spawn_app().await;
    let browser = Browser::start().await;
    browser.open(&app.url("/signup")).await;
    browser.fill("#email", "not an email").await;
    browser.fill("#password", "short").await;
    browser.click("form[action='/signup'] button[type=submit]").await;
    assert!(browser.wait_for_text("valid email").await);
    let email_error = browser.text_of("#email-error").await;
    let password_error = browser.text_of("#password-error").await;
    assert!(email_error.contains("valid email"), "{email_error}");
    assert!(password_error.contains("at least 8"), "{password_error}");
    browser.screenshot("signup-errors").await;

    browser.fill("#email", "newbie@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form[action='/signup'] button[type=submit]").await;
    assert!(browser.wait_for_text("Welcome to Broadsheet!").await, "signed up");
    assert!(browser.text().await.contains("Account"));
    browser.close().await;
}

#[tokio::test]
async fn an_editor_writes_with_a_live_preview_publishes_from_admin_and_the_article_is_on_the_home_page() {
    let app = spawn_app().await;
    let (_, editor_id) = app.member("chief@example.com").await;
    app.set_role(editor_id, Role::Editor).await;
    let browser = Browser::start().await;
    browser.open(&app.url("/login?next=/admin")).await;
    browser.fill("#email", "chief@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form[action='/login'] button[type=submit]").await;
    assert_eq!(browser.wait_for_path("/admin").await, "/admin");

    browser.click_link("New article").await;
    browser.fill("#title", "Dispatch from the valley").await;
    browser
        .fill(
            "#markdown",
            "The **opening** lines.\n\n<!-- paywall -->\n\nThe rest, for subscribers.",
        )
        .await;
    // The live preview renders as the editor types (no submit).
    let mut previewed = String::new();
    for _ in 0..50 {
        previewed = browser
            .client
            .find(fantoccini::Locator::Css("#preview-teaser"))
            .await
            .unwrap()
            .html(true)
            .await
            .unwrap();
        if previewed.contains("<strong>opening</strong>") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        previewed.contains("<strong>opening</strong>") && !previewed.contains("for subscribers"),
        "{previewed}"
    );
    browser
        .client
        .find(fantoccini::Locator::Css("#visibility"))
        .await
        .unwrap()
        .select_by_value("paid")
        .await
        .unwrap();
    browser.screenshot("editor").await;
    browser.click("#publish").await;
    assert!(
        browser.wait_for_text("Published.").await,
        "{}",
        browser.text().await
    );

    browser.open(&app.url("/")).await;
    assert!(browser.text().await.contains("Dispatch from the valley"));
    browser.close().await;
}

#[tokio::test]
async fn a_subscriber_gifts_an_article_a_logged_out_browser_reads_it_and_a_member_deletes_their_account() {
    let app = spawn_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let (_, user_id) = app.member("giver@example.com").await;
    app.add_subscription(user_id, "active", 30).await;
    let browser = Browser::start().await;

    browser.open(&app.url("/login")).await;
    browser.fill("#email", "giver@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form[action='/login'] button[type=submit]").await;
    browser.wait_for_path("/").await;
    browser.open(&app.url(&format!("/p/{paid}"))).await;
    browser.click("form.gift button").await;
    assert_eq!(browser.wait_for_path("/account").await, "/account");
    assert!(browser.wait_for_text("is ready below").await);
    let gift_url = browser.value_of("input.gift-url").await;
    assert!(gift_url.contains("/g/"), "{gift_url}");
    browser.screenshot("account-gift-links").await;

    browser.click("form[action='/logout'] button").await;
    assert!(browser.wait_for_text("You are logged out.").await);
    // The link is absolute under PUBLIC_URL; the test server is on its own port.
    let gift_path = &gift_url[gift_url.find("/g/").unwrap()..];
    browser.open(&app.url(gift_path)).await;
    let gifted = browser.text().await;
    assert!(gifted.contains(PAID_MARKER), "{gifted}");
    assert!(gifted.contains("gifted you this article"), "{gifted}");
    browser.screenshot("gifted-article").await;

    // A member deletes their account from the account page.
    browser.open(&app.url("/login")).await;
    browser.fill("#email", "giver@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form[action='/login'] button[type=submit]").await;
    browser.wait_for_path("/").await;
    browser.open(&app.url("/account")).await;
    browser.click_link("Delete your account").await;
    assert_eq!(browser.wait_for_path("/account/delete").await, "/account/delete");
    browser.fill("#confirm_email", "giver@example.com").await;
    browser.screenshot("delete-account").await;
    browser
        .click("form[action='/account/delete'] button[type=submit]")
        .await;
    assert!(browser.wait_for_text("Your account is deleted.").await);
    let home = browser.text().await;
    assert!(home.contains("Log in"), "logged out after deleting: {home}");
    browser.close().await;
}

#[tokio::test]
async fn the_account_and_editor_pages_fit_a_phone_without_sideways_scrolling() {
    let app = spawn_app().await;
    app.publish_one_of_each().await;
    let email = "a.rather.long.address.for.a.small.screen@example-publication.com";
    let (_, user_id) = app.member(email).await;
    app.set_role(user_id, Role::Admin).await;
    let browser = Browser::start().await;
    browser.resize(390, 844).await;
    browser.open(&app.url("/login")).await;
    browser.fill("#email", email).await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form[action='/login'] button[type=submit]").await;
    browser.wait_for_path("/").await;
    let author_page = format!("/author/author-{user_id}");
    for (path, shot) in [
        ("/account", "account-phone"),
        ("/admin", "admin-phone"),
        ("/admin/settings", "settings-phone"),
        ("/admin/articles/new", "editor-phone"),
        ("/admin/profile", "profile-phone"),
        ("/admin/stats", "stats-phone"),
        ("/", "home-phone"),
        ("/archive", "archive-phone"),
        ("/search?q=open%20letter", "search-phone"),
        (author_page.as_str(), "author-phone"),
    ] {
        browser.open(&app.url(path)).await;
        browser.screenshot(shot).await;
        assert!(
            browser.horizontal_overflow().await <= 0,
            "{path} scrolls sideways on a 390 px phone by {} px",
            browser.horizontal_overflow().await
        );
    }
    browser.close().await;
}

#[tokio::test]
async fn an_author_uploads_an_image_from_the_editor_sees_it_in_the_preview_and_on_the_published_page() {
    let app = spawn_app().await;
    let (_, editor_id) = app.member("chief@example.com").await;
    app.set_role(editor_id, Role::Editor).await;
    let picture = app.data_dir.path().join("harbour at dusk.png");
    std::fs::write(&picture, crate::media::png_with_gps()).unwrap();
    let browser = Browser::start().await;
    browser.open(&app.url("/login?next=/admin/articles/new")).await;
    browser.fill("#email", "chief@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form[action='/login'] button[type=submit]").await;
    assert_eq!(
        browser.wait_for_path("/admin/articles/new").await,
        "/admin/articles/new"
    );

    browser.fill("#title", "The harbour").await;
    browser.fill("#markdown", "Boats came in.").await;
    // Choosing a file uploads it and puts its markdown at the cursor.
    browser
        .client
        .find(fantoccini::Locator::Css("#body-image"))
        .await
        .unwrap()
        .send_keys(&picture.display().to_string())
        .await
        .unwrap();
    assert!(
        browser
            .wait_for_text("Uploaded harbour at dusk.png (700×400).")
            .await,
        "{}",
        browser.text().await
    );
    let markdown = browser.value_of("#markdown").await;
    assert!(
        markdown.starts_with("Boats came in.\n\n![harbour at dusk](/media/"),
        "{markdown}"
    );
    // The live preview shows it, loaded from this server (once scrolled
    // to: it loads lazily).
    let loaded_width = "var img = document.querySelector('#preview-full img'); if (img) img.scrollIntoView(); return img && img.complete ? img.naturalWidth : 0;";
    let width = browser
        .script_until(loaded_width, |w| w.as_i64().unwrap_or(0) > 0)
        .await
        .as_i64()
        .unwrap_or(0);
    assert!(
        width >= 600,
        "the preview shows the uploaded image (or its 600 px copy): {width}"
    );
    browser.screenshot("editor-upload").await;

    browser.click("#publish").await;
    assert!(
        browser.wait_for_text("Published.").await,
        "{}",
        browser.text().await
    );
    browser.open(&app.url("/p/the-harbour")).await;
    let on_page = "var img = document.querySelector('.article .body img'); return img ? [img.alt, img.getAttribute('width'), img.getAttribute('loading'), img.currentSrc] : null;";
    let shown = browser
        .script_until(on_page, |shown| {
            shown[3].as_str().is_some_and(|src| src.contains("/media/"))
        })
        .await;
    assert_eq!(shown[0], "harbour at dusk", "{shown}");
    assert_eq!(shown[1], "700", "{shown}");
    assert_eq!(shown[2], "lazy", "{shown}");
    assert!(shown[3].as_str().unwrap().contains("/media/"), "{shown}");
    browser.screenshot("article-with-image").await;
    browser.close().await;
}
