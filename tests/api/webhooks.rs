//! Outbound webhooks: registered by admins, each event POSTed signed with
//! the webhook's secret (`Broadsheet-Signature: t=…,v1=…`, Stripe's
//! scheme), retried until the receiver comes back, switched off after days
//! of failures, and never sent to this server's network unless allowed.

use std::time::Duration;

use broadsheet_testkit::webhook_receiver::{Received, WebhookReceiver};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;

pub(crate) use crate::tiers::admin_key;
use crate::{
    email::{app_sending_to, wait_until_finished},
    helpers::{PAID_MARKER, TestApp},
    smtp::SmtpSink,
    tiers::call,
};

const ALL_EVENTS: [&str; 6] = [
    "member.created",
    "member.updated",
    "member.deleted",
    "subscription.changed",
    "article.published",
    "send.finished",
];

/// GETs `path` until `done` holds for its JSON (the dispatcher works in
/// the background); the last answer.
async fn poll(app: &TestApp, key: &str, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut answer = Value::Null;
    for _ in 0..400 {
        answer = call(app, key, Method::GET, path, None).await.1;
        if done(&answer) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    answer
}

fn log_path(id: impl std::fmt::Display) -> String {
    format!("/admin/api/webhooks/{id}/deliveries")
}

/// Registers a webhook at the receiver for `events`; returns (id, secret).
pub(crate) async fn register(
    app: &TestApp,
    key: &str,
    receiver: &WebhookReceiver,
    events: &[&str],
) -> (i64, String) {
    let body = json!({"url": format!("{}/hooks/broadsheet", receiver.address), "events": events,
                      "description": "CRM sync"});
    let (status, created) = call(app, key, Method::POST, "/admin/api/webhooks", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (created["id"].as_i64().unwrap(), secret)
}

/// Waits until the receiver has got POSTs satisfying `done`.
pub(crate) async fn wait_for(
    receiver: &WebhookReceiver,
    what: &str,
    done: impl Fn(&[Received]) -> bool,
) -> Vec<Received> {
    for _ in 0..400 {
        let received = receiver.received();
        if done(&received) {
            return received;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the receiver never got {what}: {:#?}", receiver.received());
}

pub(crate) fn event_type(received: &Received) -> String {
    let body: Value = serde_json::from_str(&received.body).unwrap();
    body["type"].as_str().unwrap().to_owned()
}

/// Checks `Broadsheet-Signature` as a receiver would: HMAC-SHA256 of
/// "{t}.{body}" under the secret, and t within five minutes.
fn verify(received: &Received, secret: &str) {
    let header = received.signature.as_deref().expect("a signature header");
    let (t, v1) = header
        .split_once(',')
        .and_then(|(t, v1)| Some((t.strip_prefix("t=")?, v1.strip_prefix("v1=")?)))
        .expect("t=…,v1=…");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", received.body).as_bytes());
    assert_eq!(
        hex::encode(mac.finalize().into_bytes()),
        v1,
        "the signature of {}",
        received.body
    );
    let age = time::OffsetDateTime::now_utc().unix_timestamp() - t.parse::<i64>().unwrap();
    assert!((0..300).contains(&age), "signed {age} s ago");
}

#[tokio::test]
async fn a_registered_webhook_gets_every_event_signed_with_its_secret_and_never_a_posts_body() {
    let receiver = WebhookReceiver::start().await;
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[("BROADSHEET_WEBHOOKS_ALLOW_PRIVATE", "true")]).await;
    let admin = admin_key(&app).await;
    let (id, secret) = register(&app, &admin, &receiver, &ALL_EVENTS).await;
    let (_, listed) = call(&app, &admin, Method::GET, "/admin/api/webhooks", None).await;
    assert_eq!(listed[0]["events"], json!(ALL_EVENTS), "in the events' own order");
    assert!(
        listed[0].get("secret").is_none(),
        "the secret is shown once: {listed}"
    );

    let (status, member) = call(
        &app,
        &admin,
        Method::POST,
        "/admin/api/members",
        Some(json!({"email": "reader@example.com", "name": "Ada"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{member}");
    let member_path = format!("/admin/api/members/{}", member["id"]);
    let (status, _) = call(
        &app,
        &admin,
        Method::PATCH,
        &member_path,
        Some(json!({"name": "Ada L."})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, comp) = call(
        &app,
        &admin,
        Method::POST,
        &format!("{member_path}/comp"),
        Some(json!({"reason": "press"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{comp}");
    let response = app
        .post_article(
            &admin,
            json!({"title": "Paid piece", "visibility": "paid", "publish": true, "email": "all",
                   "markdown": format!("Free opening.\n\n<!-- paywall -->\n\nThe paid part {PAID_MARKER}.")}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let article: Value = response.json().await.unwrap();
    wait_until_finished(&app, &admin, &article["send_id"]).await;
    let (status, _) = call(&app, &admin, Method::DELETE, &member_path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let received = wait_for(&receiver, "all six events", |r| {
        ALL_EVENTS
            .iter()
            .all(|e| r.iter().any(|got| event_type(got) == *e))
    })
    .await;
    let mut ids = Vec::new();
    for got in &received {
        verify(got, &secret);
        assert_eq!(got.path, "/hooks/broadsheet");
        assert_eq!(got.content_type.as_deref(), Some("application/json"));
        assert!(
            !got.body.contains(PAID_MARKER),
            "a payload carries the body: {}",
            got.body
        );
        assert!(
            !got.body.contains("paid part"),
            "a payload carries the body: {}",
            got.body
        );
        let body: Value = serde_json::from_str(&got.body).unwrap();
        assert!(body["id"].as_str().unwrap().starts_with("evt_"));
        ids.push(body["id"].as_str().unwrap().to_owned());
        match body["type"].as_str().unwrap() {
            "member.created" => {
                assert_eq!(body["data"]["member"]["email"], "reader@example.com");
                assert_eq!(body["data"]["member"]["name"], "Ada");
            }
            "member.updated" => assert_eq!(body["data"]["change"], "profile"),
            "subscription.changed" => assert_eq!(body["data"]["comp"]["granted"], true),
            "article.published" => {
                assert_eq!(body["data"]["article"]["title"], "Paid piece");
                assert_eq!(body["data"]["article"]["visibility"], "paid");
                assert!(
                    body["data"]["article"]["url"]
                        .as_str()
                        .unwrap()
                        .ends_with("/p/paid-piece")
                );
            }
            "send.finished" => {
                assert_eq!(body["data"]["send"]["article_id"], article["id"]);
                assert_eq!(body["data"]["send"]["sent"], body["data"]["send"]["recipients"]);
            }
            "member.deleted" => {
                assert_eq!(body["data"]["member"], json!({"id": member["id"]}), "the id only");
            }
            other => panic!("an unexpected event {other}"),
        }
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), received.len(), "each event once, each with its own id");

    let (status, log) = call(&app, &admin, Method::GET, &log_path(id), None).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let log = log.as_array().unwrap();
    assert!(
        log.iter()
            .all(|d| d["status"] == "sent" && d["response_status"] == 200),
        "{log:?}"
    );
    assert!(!serde_json::to_string(log).unwrap().contains(PAID_MARKER));
    assert!(
        log.iter()
            .all(|d| d["payload"]["data"]["member"]["email"] != "reader@example.com"),
        "erasing the member deleted the payloads that named them"
    );
}

#[tokio::test]
async fn a_failing_receiver_is_retried_until_it_comes_back_and_one_failing_for_days_is_switched_off() {
    let receiver = WebhookReceiver::start().await;
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[("BROADSHEET_WEBHOOKS_ALLOW_PRIVATE", "true")]).await;
    let admin = admin_key(&app).await;
    let (id, secret) = register(&app, &admin, &receiver, &["member.created"]).await;
    receiver.answer_with(503);
    let create = |email: &str| {
        let body = json!({"email": email});
        let (app, admin) = (&app, &admin);
        async move {
            let (status, answer) = call(app, admin, Method::POST, "/admin/api/members", Some(body)).await;
            assert_eq!(status, StatusCode::CREATED, "{answer}");
        }
    };
    create("first@example.com").await;
    wait_for(&receiver, "two failed tries", |r| r.len() >= 2).await;
    receiver.answer_with(200);
    let received = wait_for(&receiver, "a try that succeeds", |r| {
        r.iter().any(|g| g.answered == 200)
    })
    .await;
    assert!(
        received.windows(2).all(|w| w[0].body == w[1].body),
        "every try sends the same event"
    );
    received.iter().for_each(|got| verify(got, &secret));
    let (_, log) = call(&app, &admin, Method::GET, &log_path(id), None).await;
    assert_eq!(log[0]["status"], "sent", "{log}");
    assert!(log[0]["attempts"].as_i64().unwrap() >= 3, "{log}");
    let (_, webhook) = call(
        &app,
        &admin,
        Method::GET,
        &format!("/admin/api/webhooks/{id}"),
        None,
    )
    .await;
    assert_eq!(webhook["failing_since"], Value::Null, "healthy again: {webhook}");

    // Failing again, and for longer than BROADSHEET_WEBHOOK_DISABLE_AFTER_DAYS
    // (3): the next failure switches it off with the reason.
    receiver.answer_with(500);
    create("second@example.com").await;
    let tries = receiver.received().len();
    wait_for(&receiver, "a failed try", |r| r.len() > tries).await;
    app.db(move |conn| {
        use broadsheet::db::schema::webhooks;
        use diesel::prelude::*;
        let long_ago = broadsheet::db::now() - time::Duration::days(4);
        diesel::update(webhooks::table.find(id as i32))
            .set(webhooks::failing_since.eq(Some(long_ago)))
            .execute(conn)?;
        Ok(())
    })
    .await;
    let webhook = poll(&app, &admin, &format!("/admin/api/webhooks/{id}"), |w| {
        w["enabled"] == false
    })
    .await;
    assert_eq!(webhook["enabled"], false, "{webhook}");
    let reason = webhook["disabled_reason"].as_str().unwrap();
    assert!(reason.contains("every delivery failed for 3 days"), "{reason}");
    assert!(reason.contains("HTTP 500"), "{reason}");

    let before = app.count_rows("webhook_deliveries").await;
    create("third@example.com").await;
    assert_eq!(
        app.count_rows("webhook_deliveries").await,
        before,
        "nothing queued while off"
    );
    let (status, webhook) = call(
        &app,
        &admin,
        Method::PATCH,
        &format!("/admin/api/webhooks/{id}"),
        Some(json!({"enabled": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(webhook["disabled_reason"], Value::Null);
    assert_eq!(webhook["failing_since"], Value::Null);
}

#[tokio::test]
async fn a_webhook_deleted_while_its_post_is_out_leaves_the_other_webhooks_deliveries_sent_once() {
    let slow = WebhookReceiver::start().await;
    let prompt = WebhookReceiver::start().await;
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[("BROADSHEET_WEBHOOKS_ALLOW_PRIVATE", "true")]).await;
    let admin = admin_key(&app).await;
    let (doomed, _) = register(&app, &admin, &slow, &["member.created"]).await;
    let (kept, _) = register(&app, &admin, &prompt, &["member.created"]).await;
    slow.hold();
    slow.answer_with(503);
    let body = json!({"email": "reader@example.com"});
    let (status, answer) = call(&app, &admin, Method::POST, "/admin/api/members", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    // Both POSTs of the round are out: one answered, one held.
    wait_for(&slow, "the held POST", |r| !r.is_empty()).await;
    wait_for(&prompt, "the prompt POST", |r| !r.is_empty()).await;
    let (status, _) = call(
        &app,
        &admin,
        Method::DELETE,
        &format!("/admin/api/webhooks/{doomed}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    slow.release();

    let log = poll(&app, &admin, &log_path(kept), |log| log[0]["status"] == "sent").await;
    assert_eq!(log[0]["status"], "sent", "the round was recorded: {log}");
    assert_eq!(log[0]["attempts"], 1, "{log}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(prompt.received().len(), 1, "the kept webhook got the event once");
}

#[tokio::test]
async fn webhooks_never_reach_loopback_or_private_addresses_unless_the_server_allows_it() {
    let receiver = WebhookReceiver::start().await;
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[]).await;
    let admin = admin_key(&app).await;
    let port = receiver.address.rsplit(':').next().unwrap().to_owned();
    for url in [
        receiver.address.clone(),
        format!("http://localhost:{port}/hook"),
        format!("http://[::1]:{port}/hook"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.0.0.8/hook".to_owned(),
        "http://[::ffff:127.0.0.1]/hook".to_owned(),
    ] {
        let body = json!({"url": url, "events": ["member.created"]});
        let (status, answer) = call(&app, &admin, Method::POST, "/admin/api/webhooks", Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {answer}");
        assert_eq!(answer["error"]["field"], "url", "{answer}");
    }
    for (body, field) in [
        (
            json!({"url": "ftp://example.com/", "events": ["member.created"]}),
            "url",
        ),
        (
            json!({"url": "https://user:pw@example.com/", "events": ["member.created"]}),
            "url",
        ),
        (json!({"url": "https://example.com/", "events": []}), "events"),
    ] {
        let (status, answer) = call(&app, &admin, Method::POST, "/admin/api/webhooks", Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
    }
    let unknown = json!({"url": "https://example.com/", "events": ["member.exploded"]});
    let (status, _) = call(&app, &admin, Method::POST, "/admin/api/webhooks", Some(unknown)).await;
    assert!(status.is_client_error(), "{status}");
    let editor = app.editor_key().await;
    let (status, _) = call(&app, &editor, Method::GET, "/admin/api/webhooks", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "editors do not see webhooks");

    // A row that points at loopback anyway (made before the rule, or by
    // hand) is refused when sending: nothing reaches the receiver.
    let url = format!("{}/hook", receiver.address);
    let id = app
        .db(move |conn| {
            use broadsheet::db::webhooks;
            use broadsheet::domain::webhook::EventSet;
            let events = EventSet::parse(&["member.created".to_owned()]).unwrap();
            Ok(webhooks::create(conn, &url, &events, "", "whsec_x", broadsheet::db::now())?.id)
        })
        .await;
    let (status, _) = call(
        &app,
        &admin,
        Method::POST,
        "/admin/api/members",
        Some(json!({"email": "reader@example.com"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let log = poll(&app, &admin, &log_path(id), |log| {
        log[0]["attempts"].as_i64().unwrap_or(0) >= 1 && log[0]["status"] == "pending"
    })
    .await;
    let error = log[0]["last_error"].as_str().unwrap_or_default();
    assert!(error.starts_with("refused:"), "{log}");
    assert!(receiver.received().is_empty(), "nothing reached 127.0.0.1");
}
