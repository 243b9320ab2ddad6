//! Gift links: a paying subscriber shares one paid article; anyone with the
//! link reads it in full until it expires, is used up or is revoked.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PAID_MARKER, TestApp, new_client, spawn_app, spawn_app_with};

/// A subscriber called "Ada Lovelace" and their browser.
async fn named_subscriber(app: &TestApp, email: &str) -> reqwest::Client {
    let (client, _token) = app.subscriber_with_session_token(email).await;
    let user_id = app.user_id(email).await;
    app.db(move |conn| {
        use broadsheet::db::schema::users;
        use diesel::prelude::*;
        diesel::update(users::table.find(user_id))
            .set(users::name.eq("Ada Lovelace"))
            .execute(conn)?;
        Ok(())
    })
    .await;
    client
}

pub(crate) async fn create_gift(
    app: &TestApp,
    client: &reqwest::Client,
    slug: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = client.post(app.url(&format!("/api/articles/{slug}/gift")));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The path part of a gift URL.
pub(crate) fn gift_path(gift: &Value) -> String {
    let url = gift["url"].as_str().expect("a gift url");
    url[url.find("/g/").expect("a /g/ path")..].to_owned()
}

#[tokio::test]
async fn a_subscriber_gifts_a_paid_article_and_anyone_with_the_link_reads_it_in_full_and_sees_who_gave_it() {
    let app = spawn_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let gifter = named_subscriber(&app, "ada@example.com").await;

    let (status, gift) = create_gift(&app, &gifter, &paid, None).await;
    assert_eq!(status, StatusCode::CREATED, "{gift}");
    assert_eq!(gift["reads_left"], 10);
    let expires = time::OffsetDateTime::parse(
        gift["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let days = (expires - time::OffsetDateTime::now_utc()).whole_days();
    assert!((29..=30).contains(&days), "expires in {days} days");

    let stranger = new_client();
    let response = app.get_with(&stranger, &gift_path(&gift)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    let page = response.text().await.unwrap();
    assert!(page.contains(PAID_MARKER), "the gifted article is whole");
    assert!(page.contains("Ada Lovelace gifted you this article."));
    assert!(
        page.contains(&format!("href=\"/subscribe?trail=post%3D{paid}%26gift%3D")),
        "it offers Subscribe, the post and the gift link named for attribution: {page}"
    );

    let (_, mine) = app.get_json(&gifter, "/api/gifts").await;
    assert_eq!(mine["gifts"][0]["reads_left"], 9, "{mine}");
    assert_eq!(mine["gifts"][0]["slug"], paid.as_str());
}

#[tokio::test]
async fn a_gift_link_shows_the_teaser_once_it_is_used_up_expired_or_revoked() {
    let app = spawn_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let gifter = named_subscriber(&app, "ada@example.com").await;
    let stranger = new_client();

    // Used up: two opens, then the teaser.
    let (_, two_reads) = create_gift(&app, &gifter, &paid, Some(json!({"max_reads": 2}))).await;
    for _ in 0..2 {
        let (_, page) = app.get_text(&stranger, &gift_path(&two_reads)).await;
        assert!(page.contains(PAID_MARKER));
    }
    let (status, page) = app.get_text(&stranger, &gift_path(&two_reads)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains(PAID_MARKER), "a used-up link leaked the paid part");
    assert!(page.contains("opened as many times as it allows"));
    assert!(page.contains("Already a subscriber? Log in"));

    // Revoked through the API.
    let (_, revoked) = create_gift(&app, &gifter, &paid, None).await;
    let id = revoked["id"].as_i64().unwrap();
    let response = gifter
        .delete(app.url(&format!("/api/gifts/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (_, page) = app.get_text(&stranger, &gift_path(&revoked)).await;
    assert!(!page.contains(PAID_MARKER), "a revoked link leaked the paid part");
    assert!(page.contains("withdrawn"));
    let (_, json) = app.get_json(&stranger, &format!("/api/articles/{paid}")).await;
    assert_eq!(json["access"], "preview");

    // Expired.
    let (_, expired) = create_gift(&app, &gifter, &paid, None).await;
    let expired_id = expired["id"].as_i64().unwrap() as i32;
    app.db(move |conn| {
        use broadsheet::db::schema::gift_links;
        use diesel::prelude::*;
        diesel::update(gift_links::table.find(expired_id))
            .set(gift_links::expires_at.eq(broadsheet::db::now() - time::Duration::minutes(1)))
            .execute(conn)?;
        Ok(())
    })
    .await;
    let (_, page) = app.get_text(&stranger, &gift_path(&expired)).await;
    assert!(
        !page.contains(PAID_MARKER),
        "an expired link leaked the paid part"
    );
    assert!(page.contains("has expired"));
}

#[tokio::test]
async fn concurrent_opens_of_a_gift_link_never_exceed_its_read_limit() {
    let app = spawn_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let gifter = named_subscriber(&app, "ada@example.com").await;
    let (_, gift) = create_gift(&app, &gifter, &paid, Some(json!({"max_reads": 3}))).await;
    let path = gift_path(&gift);
    let strangers = (0..12).map(|_| (new_client(), path.clone())).collect();
    assert_eq!(app.full_reads_at_once(strangers).await, 3);
}

#[tokio::test]
async fn only_paying_subscribers_gift_members_or_paid_articles_within_their_monthly_quota() {
    let app = spawn_app_with([("BROADSHEET_GIFT_LINKS_PER_MONTH", "2".to_owned())].into()).await;
    let (public, members, paid) = app.publish_one_of_each().await;

    let (status, body) = create_gift(&app, &new_client(), &paid, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (free_member, _) = app.member("free@example.com").await;
    let (status, body) = create_gift(&app, &free_member, &paid, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("paying subscribers")
    );

    let gifter = named_subscriber(&app, "ada@example.com").await;
    let (status, body) = create_gift(&app, &gifter, &public, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = create_gift(&app, &gifter, "no-such-article", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for bad in [
        json!({"max_reads": 0}),
        json!({"expires_in_days": 400}),
        json!({"colour": "red"}),
    ] {
        let (status, body) = create_gift(&app, &gifter, &paid, Some(bad.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
    assert_eq!(app.count_rows("gift_links").await, 0, "refusals wrote nothing");

    let (status, _) = create_gift(&app, &gifter, &paid, None).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = create_gift(&app, &gifter, &members, Some(json!({"expires_in_days": 3}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = create_gift(&app, &gifter, &paid, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "gift_quota_used");
    assert_eq!(app.count_rows("gift_links").await, 2);
}

#[tokio::test]
async fn a_forged_token_is_a_not_found_page_and_nobody_revokes_anothers_link() {
    let app = spawn_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let gifter = named_subscriber(&app, "ada@example.com").await;
    let (_, gift) = create_gift(&app, &gifter, &paid, None).await;

    let mut forged = gift_path(&gift);
    forged.pop();
    forged.push('x');
    for path in [forged.as_str(), "/g/AAAAAAAAAAAAAAAAAAAAAAAA", "/g/%00"] {
        let (status, page) = app.get_text(&new_client(), path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!page.contains(PAID_MARKER));
    }

    let (other, _) = app.member("mallory@example.com").await;
    let id = gift["id"].as_i64().unwrap();
    let response = other
        .delete(app.url(&format!("/api/gifts/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (_, page) = app.get_text(&new_client(), &gift_path(&gift)).await;
    assert!(page.contains(PAID_MARKER), "the link still works");
}

#[tokio::test]
async fn a_subscriber_gifts_from_the_article_page_and_revokes_from_the_account_page() {
    let app = spawn_app().await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let gifter = named_subscriber(&app, "ada@example.com").await;
    let (_, article) = app.get_text(&gifter, &format!("/p/{paid}")).await;
    assert!(article.contains("Gift this article"));
    let (free_member, _) = app.member("free@example.com").await;
    let (_, teaser) = app.get_text(&free_member, &format!("/p/{paid}")).await;
    assert!(!teaser.contains("Gift this article"), "only payers may gift");

    let response = app.post_form(&gifter, &format!("/p/{paid}/gift"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/account#gifts");
    let (_, account) = app.get_text(&gifter, "/account").await;
    assert!(
        account.contains("is ready below"),
        "the flash says where the link is"
    );
    assert!(account.contains("10 opens left"));
    let start = account.find("/g/").expect("the link is listed");
    let token_end = account[start..].find('"').unwrap();
    let path = account[start..start + token_end].to_owned();
    let id_start = account.find("/account/gifts/").unwrap() + "/account/gifts/".len();
    let id: String = account[id_start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();

    let response = app
        .post_form(&gifter, &format!("/account/gifts/{id}/revoke"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, account) = app.get_text(&gifter, "/account").await;
    assert!(account.contains("revoked"));
    let (_, page) = app.get_text(&new_client(), &path).await;
    assert!(!page.contains(PAID_MARKER));
}

#[tokio::test]
async fn sixty_gift_links_asked_for_at_once_never_exceed_the_monthly_quota() {
    let app = spawn_app_with([("BROADSHEET_GIFT_LINKS_PER_MONTH", "5".to_owned())].into()).await;
    let (_, _, paid) = app.publish_one_of_each().await;
    let gifter = named_subscriber(&app, "eager@example.com").await;
    let asks = (0..60).map(|_| create_gift(&app, &gifter, &paid, None));
    let statuses: Vec<StatusCode> = futures::future::join_all(asks)
        .await
        .into_iter()
        .map(|(status, _)| status)
        .collect();
    let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
    assert_eq!(created, 5, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::FORBIDDEN),
        "{statuses:?}"
    );
    assert_eq!(app.count_rows("gift_links").await, 5);
}
