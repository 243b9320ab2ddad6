//! Several newsletters: made in the admin API, chosen per member, a post
//! sent through one reaching only its subscribers, and unsubscribe links
//! that leave one newsletter (or, on request, all).

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{
    email::{app_sending_to, link_in, unsubscribe_path, wait_until_finished},
    helpers::{TestApp, new_client},
    member_list::timeline_of,
    smtp::{Parsed, SmtpSink},
    subscribe::hidden,
    tiers::{admin_key, call},
};

/// Makes a newsletter; returns its id.
async fn newsletter(app: &TestApp, key: &str, body: serde_json::Value) -> i64 {
    let (status, made) = call(app, key, Method::POST, "/admin/api/newsletters", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    made["id"].as_i64().unwrap()
}

/// Puts a member on exactly these newsletters (by slug).
async fn subscribe(app: &TestApp, key: &str, email: &str, slugs: &[&str]) {
    let id = app.user_id(email).await;
    let (status, member) = call(
        app,
        key,
        Method::PATCH,
        &format!("/admin/api/members/{id}"),
        Some(json!({"newsletters": slugs})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{member}");
}

/// The slugs of the newsletters the member `id` receives.
async fn subscribed_to(app: &TestApp, key: &str, id: i32) -> Vec<String> {
    let (_, member) = call(app, key, Method::GET, &format!("/admin/api/members/{id}"), None).await;
    member["newsletters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["subscribed"] == true)
        .map(|n| n["slug"].as_str().unwrap().to_owned())
        .collect()
}

/// Who received the post titled `title`.
fn recipients_of(sink: &SmtpSink, title: &str) -> Vec<String> {
    let mut to: Vec<String> = sink
        .newsletters()
        .into_iter()
        .filter(|m| m.data.contains(&format!("Subject: {title}")))
        .map(|m| m.to[0].clone())
        .collect();
    to.sort();
    to
}

#[tokio::test]
async fn a_post_through_one_newsletter_reaches_only_its_subscribers_and_one_click_leaves_only_it() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[]).await;
    let key = admin_key(&app).await;
    let weekly = newsletter(
        &app,
        &key,
        json!({"name": "The Weekly", "sender_name": "Ana at the Weekly", "subscribe_on_signup": false}),
    )
    .await;
    let members = app.add_verified_members("reader", 3).await;
    subscribe(&app, &key, &members[0], &["newsletter", "the-weekly"]).await;
    subscribe(&app, &key, &members[1], &["the-weekly"]).await;
    subscribe(&app, &key, &members[2], &["newsletter"]).await;
    let second = app.user_id(&members[1]).await;
    let timeline = timeline_of(&app, &key, second).await;
    assert!(
        timeline.contains("Joined the newsletter The Weekly")
            && timeline.contains("Left the newsletter Newsletter"),
        "an admin's changes are on the timeline: {timeline}"
    );

    let post = app
        .post_article(&key, json!({"title": "Weekly one", "markdown": "Hello.", "visibility": "public", "publish": true, "email": "all", "newsletter_id": weekly}))
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(post["newsletter_id"], weekly);
    wait_until_finished(&app, &key, &post["send_id"]).await;
    assert_eq!(
        recipients_of(&sink, "Weekly one"),
        vec![members[0].clone(), members[1].clone()]
    );
    let message = sink
        .newsletters()
        .into_iter()
        .find(|m| m.to[0] == members[0])
        .unwrap();
    let from = message.header("From").unwrap();
    assert!(
        from.contains("Ana at the Weekly"),
        "the newsletter's own sender name: {from}"
    );

    let path = unsubscribe_path(&message);
    let (status, page) = app.get_text(&new_client(), &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Leave The Weekly?") && page.contains("Leave all newsletters"),
        "{page}"
    );
    let response = crate::email::one_click_unsubscribe(&app, &path).await;
    assert_eq!(response.status(), StatusCode::OK);

    let id = app.user_id(&members[0]).await;
    assert_eq!(
        subscribed_to(&app, &key, id).await,
        vec!["newsletter"],
        "only the weekly was left"
    );

    let next = app
        .post_article(&key, json!({"title": "Main two", "markdown": "Hi.", "visibility": "public", "publish": true, "email": "all"}))
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    wait_until_finished(&app, &key, &next["send_id"]).await;
    assert_eq!(
        recipients_of(&sink, "Main two"),
        vec![members[0].clone(), members[2].clone()],
        "a post naming no newsletter goes through the first one"
    );
    let (_, newsletters) = call(&app, &key, Method::GET, "/admin/api/newsletters", None).await;
    assert_eq!(newsletters[1]["subscribers"], 1, "{newsletters}");
}

#[tokio::test]
async fn members_choose_their_newsletters_on_the_account_page_and_a_paid_one_needs_a_paid_plan() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[]).await;
    let key = admin_key(&app).await;
    let insider = newsletter(&app, &key, json!({"name": "Insider", "visibility": "paid", "subscribe_on_signup": false, "description": "For subscribers."})).await;
    let (browser, id) = app.member("chooser@example.com").await;
    let (_, page) = app.get_text(&browser, "/account").await;
    assert!(
        page.contains("Insider") && page.contains("(for paid subscribers)"),
        "{page}"
    );

    let insider_field = insider.to_string();
    let response = app
        .post_form(
            &browser,
            "/account/newsletters",
            &[("newsletter", insider_field.as_str())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        subscribed_to(&app, &key, id).await.is_empty(),
        "a free member cannot join the paid newsletter, and unticked the main one"
    );

    app.add_subscription(id, "active", 20).await;
    let response = app
        .post_form(
            &browser,
            "/account/newsletters",
            &[("newsletter", "1"), ("newsletter", insider_field.as_str())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(subscribed_to(&app, &key, id).await, vec!["newsletter", "insider"]);
    let timeline = timeline_of(&app, &key, id).await;
    assert!(timeline.contains("Joined the newsletter Insider"), "{timeline}");
}

#[tokio::test]
async fn leave_all_stops_every_newsletter_until_the_member_chooses_one_again() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[]).await;
    let key = admin_key(&app).await;
    let members = app.add_verified_members("all", 1).await;
    let first = app
        .post_article(&key, json!({"title": "First", "markdown": "x", "visibility": "public", "publish": true, "email": "all"}))
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    wait_until_finished(&app, &key, &first["send_id"]).await;
    let message = sink
        .newsletters()
        .into_iter()
        .find(|m| m.to[0] == members[0])
        .unwrap();
    let path = unsubscribe_path(&message);
    let response = new_client()
        .post(app.url(&format!("{path}/all")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.count_rows("suppressions").await, 1);
    let id = app.user_id(&members[0]).await;
    let (_, member) = call(&app, &key, Method::GET, &format!("/admin/api/members/{id}"), None).await;
    assert_eq!(member["emails"]["suppressed_because"], "unsubscribed");
    let forged = new_client()
        .post(app.url("/unsubscribe/forged/all"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_last_running_newsletter_cannot_be_archived_and_an_archived_one_takes_no_posts() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[]).await;
    let key = admin_key(&app).await;
    let (status, body) = call(
        &app,
        &key,
        Method::PATCH,
        "/admin/api/newsletters/1",
        Some(json!({"archived": true})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let second = newsletter(&app, &key, json!({"name": "Second", "slug": "second"})).await;
    let (status, _) = call(
        &app,
        &key,
        Method::POST,
        "/admin/api/newsletters",
        Some(json!({"name": "Again", "slug": "second"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "slugs are unique");
    let (status, archived) = call(
        &app,
        &key,
        Method::PATCH,
        &format!("/admin/api/newsletters/{second}"),
        Some(json!({"archived": true})),
    )
    .await;
    assert_eq!(
        (status, archived["archived"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    let refused = app
        .post_article(
            &key,
            json!({"title": "T", "markdown": "x", "visibility": "public", "newsletter_id": second}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let editor = app.editor_key().await;
    let (status, _) = call(
        &app,
        &editor,
        Method::POST,
        "/admin/api/newsletters",
        Some(json!({"name": "Mine"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "editors read newsletters, admins make them"
    );
    assert_eq!(
        call(&app, &editor, Method::GET, "/admin/api/newsletters", None)
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_reader_ticks_the_newsletters_to_join_when_subscribing_or_signing_up() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[("BROADSHEET_SUBSCRIBE_MIN_FILL_MS", "0")]).await;
    let key = admin_key(&app).await;
    let weekly = newsletter(
        &app,
        &key,
        json!({"name": "The Weekly", "subscribe_on_signup": false, "description": "Sundays."}),
    )
    .await;
    newsletter(&app, &key, json!({"name": "Insider", "visibility": "paid"})).await;
    let weekly_field = weekly.to_string();

    let browser = new_client();
    let (_, home) = app.get_text(&browser, "/").await;
    assert!(
        home.contains(r#"name="newsletter" value="1" checked"#)
            && home.contains(&format!(r#"name="newsletter" value="{weekly}">"#))
            && home.contains("Sundays."),
        "the form offers both public newsletters, the default ticked: {home}"
    );
    assert!(
        !home.contains("Insider"),
        "a paid newsletter is not offered to a sign-up"
    );

    let shown = hidden(&home, "shown");
    let join = |fields: Vec<(&'static str, String)>| {
        let mut form = vec![
            ("source", "home".to_owned()),
            ("shown", shown.clone()),
            ("website", String::new()),
            ("choosing", "1".to_owned()),
        ];
        form.extend(fields);
        browser.post(app.url("/join")).form(&form).send()
    };
    let refused = join(vec![("email", "none@example.com".into())]).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Choose at least one newsletter")
    );

    let answer = join(vec![
        ("email", "weekly.only@example.com".into()),
        ("newsletter", weekly_field.clone()),
    ])
    .await
    .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    // The owner's own verification, then the confirmation.
    sink.wait_for(2, crate::email::WAIT).await;
    let confirm = link_in(&sink, "weekly.only@example.com", "/join/");
    let confirmed = app.post_form(&new_client(), &confirm, &[]).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    let id = app.user_id("weekly.only@example.com").await;
    assert_eq!(subscribed_to(&app, &key, id).await, vec!["the-weekly"]);

    let signer = new_client();
    let (_, page) = app.get_text(&signer, "/signup").await;
    assert!(page.contains("The Weekly"), "the password form offers them too");
    let response = app
        .post_form(
            &signer,
            "/signup",
            &[
                ("email", "both@example.com"),
                ("password", crate::helpers::PASSWORD),
                ("choosing", "1"),
                ("newsletter", "1"),
                ("newsletter", weekly_field.as_str()),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let id = app.user_id("both@example.com").await;
    assert_eq!(
        subscribed_to(&app, &key, id).await,
        vec!["newsletter", "the-weekly"]
    );

    let api = app
        .client
        .post(app.url("/api/subscribe"))
        .json(&json!({"email": "api@example.com", "newsletters": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::UNPROCESSABLE_ENTITY, "an empty choice");
}
