//! Bounces and complaints reported by mail providers after a message left:
//! real payload formats from each provider's documentation, signed or
//! authenticated as the provider does; a refused report changes nothing.

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;

use broadsheet_testkit::mail_providers::{
    FakeSns, SNS_TOPIC_ARN, SendgridSigner, sns_notification, sns_subscription_confirmation,
};

use crate::{
    email::{app_sending_to, wait_until_finished},
    helpers::{TestApp, new_client},
    smtp::{Parsed, SmtpSink},
};

const MAILGUN_KEY: &str = "key-7f3a9c0d5e1b2a4c6d8e0f1a3b5c7d9e";
const POSTMARK_TOKEN: &str = "pm-webhook-3b5c7d9e1f";

async fn app_with_providers(sink: &SmtpSink, extra: &[(&'static str, &str)]) -> TestApp {
    let mut settings = vec![
        ("MAILGUN_WEBHOOK_SIGNING_KEY", MAILGUN_KEY),
        ("POSTMARK_WEBHOOK_TOKEN", POSTMARK_TOKEN),
    ];
    settings.extend_from_slice(extra);
    app_sending_to(sink, &settings).await
}

/// Publishes a post emailed to everyone and waits for the send.
async fn send_post(app: &TestApp, key: &str, title: &str) -> Value {
    let response = app
        .post_article(
            key,
            json!({"title": title, "markdown": "Hello.", "visibility": "public", "publish": true, "email": "all"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let article: Value = response.json().await.unwrap();
    wait_until_finished(app, key, &article["send_id"]).await;
    article
}

/// The Message-ID of the newsletter `to` got, as Mailgun reports it
/// (without angle brackets).
fn message_id_to(sink: &SmtpSink, to: &str, title: &str) -> String {
    let message = sink
        .newsletters()
        .into_iter()
        .find(|m| m.to[0] == to && m.header("Subject").as_deref() == Some(title))
        .expect("the newsletter");
    let id = message.header("Message-ID").unwrap();
    id.trim_matches(|c| c == '<' || c == '>').to_owned()
}

/// A Mailgun webhook body (the documentation's `failed` example), signed
/// with `key` at `timestamp`.
fn mailgun_event(key: &str, timestamp: i64, event: Value) -> Value {
    let timestamp = timestamp.to_string();
    let token = "e0b5477167110d68991efc6b9f89f0a11066af27834600e123";
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(token.as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    json!({
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": event,
    })
}

fn mailgun_failure(id: &str, recipient: &str, message_id: &str, severity: &str) -> Value {
    json!({
        "id": id,
        "timestamp": now() as f64 + 0.375624,
        "log-level": "error",
        "event": "failed",
        "severity": severity,
        "reason": "bounce",
        "delivery-status": {"attempt-no": 1, "message": "No such user", "code": 550,
                            "description": "", "session-seconds": 0.4},
        "flags": {"is-routed": false, "is-authenticated": true, "is-system-test": false, "is-test-mode": false},
        "envelope": {"sender": "newsletter@localhost", "transport": "smtp", "targets": recipient},
        "message": {"headers": {"to": recipient, "message-id": message_id,
                                "from": "Broadsheet <newsletter@localhost>", "subject": "Issue"},
                    "attachments": [], "size": 2048},
        "recipient": recipient,
        "recipient-domain": "example.com",
        "campaigns": [], "tags": [], "user-variables": {},
    })
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

async fn post_json(app: &TestApp, path: &str, body: &Value) -> (StatusCode, Value) {
    let response = new_client().post(app.url(path)).json(body).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn suppressed(app: &TestApp) -> Vec<(String, String)> {
    app.db(|conn| {
        use broadsheet::db::schema::suppressions;
        use diesel::prelude::*;
        Ok(suppressions::table
            .order(suppressions::email)
            .select((suppressions::email, suppressions::reason))
            .load(conn)?)
    })
    .await
}

async fn email_stats(app: &TestApp, key: &str, article: &Value) -> Value {
    let path = format!("/admin/api/articles/{}/stats", article["id"]);
    let stats: Value = app
        .admin(Method::GET, Some(key), &path, None)
        .await
        .json()
        .await
        .unwrap();
    stats["email"].clone()
}

#[tokio::test]
async fn a_mailgun_hard_bounce_suppresses_the_address_once_marks_the_delivery_and_the_next_send_skips_it() {
    let sink = SmtpSink::start().await;
    let app = app_with_providers(&sink, &[]).await;
    let readers = app.add_verified_members("reader", 2).await;
    let key = app.editor_key().await;
    let first = send_post(&app, &key, "First").await;
    let message_id = message_id_to(&sink, &readers[0], "First");

    let body = mailgun_event(
        MAILGUN_KEY,
        now(),
        mailgun_failure("G9Bn5sl1TC6nu79C8C0bwg", &readers[0], &message_id, "permanent"),
    );
    let (status, answer) = post_json(&app, "/webhooks/email/mailgun", &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["new_events"], 1);
    let (status, answer) = post_json(&app, "/webhooks/email/mailgun", &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["new_events"], 0, "Mailgun retrying changes nothing");
    assert_eq!(app.count_rows("email_events").await, 1);

    assert_eq!(
        suppressed(&app).await,
        vec![(readers[0].clone(), "hard_bounce".to_owned())]
    );
    let stats = email_stats(&app, &key, &first).await;
    assert_eq!(stats["bounced"], 1, "{stats}");
    assert_eq!(stats["delivered"], 2, "the server had taken it");

    let id = app.user_id(&readers[0]).await;
    let activity: Value = app
        .admin(
            Method::GET,
            Some(&key),
            &format!("/admin/api/members/{id}/activity"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let summaries: Vec<&str> = activity
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["summary"].as_str())
        .collect();
    assert!(
        summaries
            .iter()
            .any(|s| s.starts_with("Hard bounce reported by mailgun; emails stopped: 550 No such user")),
        "{summaries:?}"
    );

    send_post(&app, &key, "Second").await;
    let second: Vec<String> = sink
        .newsletters()
        .into_iter()
        .filter(|m| m.header("Subject").as_deref() == Some("Second"))
        .map(|m| m.to[0].clone())
        .collect();
    assert_eq!(second, vec![readers[1].clone()], "the bounced address is skipped");
}

#[tokio::test]
async fn a_mailgun_event_with_a_wrong_signature_an_old_timestamp_or_none_is_refused_and_changes_nothing() {
    let sink = SmtpSink::start().await;
    let app = app_with_providers(&sink, &[]).await;
    let readers = app.add_verified_members("reader", 1).await;
    let key = app.editor_key().await;
    send_post(&app, &key, "First").await;
    let message_id = message_id_to(&sink, &readers[0], "First");
    let event = mailgun_failure("ev-1", &readers[0], &message_id, "permanent");

    let wrong_key = mailgun_event("key-not-ours", now(), event.clone());
    let stale = mailgun_event(MAILGUN_KEY, now() - 20 * 60, event.clone());
    let mut tampered = mailgun_event(MAILGUN_KEY, now(), event.clone());
    tampered["event-data"]["recipient"] = json!("someone-else@example.com");
    tampered["signature"]["timestamp"] = json!((now() + 1).to_string());
    let unsigned = json!({"event-data": event});
    for (what, body) in [
        ("wrong key", wrong_key),
        ("20 minutes old", stale),
        ("timestamp changed", tampered),
        ("no signature", unsigned),
    ] {
        let (status, answer) = post_json(&app, "/webhooks/email/mailgun", &body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Authentication failed"),
            "{what}: {answer}"
        );
    }
    let response = new_client()
        .post(app.url("/webhooks/email/mailgun"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "unreadable and unsigned"
    );
    assert_eq!(app.count_rows("email_events").await, 0);
    assert!(suppressed(&app).await.is_empty());

    // A server that was not given the key takes nothing.
    let other = app_sending_to(&sink, &[]).await;
    let body = mailgun_event(MAILGUN_KEY, now(), event);
    let (status, answer) = post_json(&other, "/webhooks/email/mailgun", &body).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let (status, _) = post_json(&other, "/webhooks/email/nosuchprovider", &body).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn soft_bounces_suppress_an_address_only_after_the_limit_in_a_row() {
    let sink = SmtpSink::start().await;
    let app = app_with_providers(&sink, &[("BROADSHEET_SOFT_BOUNCE_LIMIT", "2")]).await;
    let readers = app.add_verified_members("reader", 1).await;
    let key = app.editor_key().await;
    send_post(&app, &key, "First").await;
    let message_id = message_id_to(&sink, &readers[0], "First");
    let post = |id: &str, event: Value| {
        let mut event = event;
        event["id"] = json!(id);
        mailgun_event(MAILGUN_KEY, now(), event)
    };
    let soft = mailgun_failure("x", &readers[0], &message_id, "temporary");
    let mut delivered = soft.clone();
    delivered["event"] = json!("delivered");
    delivered["timestamp"] = json!(now() as f64 + 5.0);
    let mut later_soft = soft.clone();
    later_soft["timestamp"] = json!(now() as f64 + 10.0);

    for (id, event) in [("soft-1", soft.clone()), ("delivered-1", delivered)] {
        let (status, answer) = post_json(&app, "/webhooks/email/mailgun", &post(id, event)).await;
        assert_eq!(status, StatusCode::OK, "{id}: {answer}");
    }
    let (status, _) = post_json(
        &app,
        "/webhooks/email/mailgun",
        &post("soft-2", later_soft.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        suppressed(&app).await.is_empty(),
        "a delivery in between ended the first run"
    );
    let (status, answer) = post_json(&app, "/webhooks/email/mailgun", &post("soft-3", later_soft)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        suppressed(&app).await,
        vec![(readers[0].clone(), "soft_bounces".to_owned())]
    );
}

/// Postmark's documented SpamComplaint webhook, for `email`, naming
/// `delivery` in its metadata as our `X-PM-Metadata-` header asks.
fn postmark_complaint(email: &str, delivery: &str) -> Value {
    json!({
        "RecordType": "SpamComplaint", "MessageStream": "outbound", "ID": 4323372036854775807u64,
        "Type": "SpamComplaint", "TypeCode": 512, "Name": "Spam complaint", "Tag": "",
        "MessageID": "00000000-0000-0000-0000-000000000000",
        "Metadata": {"broadsheet-delivery": delivery},
        "ServerID": 1234, "Description": "", "Details": "Test spam complaint details",
        "Email": email, "From": "newsletter@localhost", "BouncedAt": "2026-12-06T16:33:54.9070259Z",
        "DumpAvailable": true, "Inactive": true, "CanActivate": false, "Subject": "First", "Content": ""
    })
}

#[tokio::test]
async fn a_postmark_spam_complaint_with_the_url_token_suppresses_the_address_and_a_wrong_token_does_nothing()
{
    let sink = SmtpSink::start().await;
    let app = app_with_providers(&sink, &[]).await;
    let readers = app.add_verified_members("reader", 2).await;
    let key = app.editor_key().await;
    let first = send_post(&app, &key, "First").await;
    let delivery = sink
        .newsletters()
        .into_iter()
        .find(|m| m.to[0] == readers[0])
        .and_then(|m| m.header("X-PM-Metadata-broadsheet-delivery"))
        .expect("the metadata header Postmark echoes back");

    let complaint = postmark_complaint(&readers[0], &delivery);
    for path in [
        "/webhooks/email/postmark/not-the-token".to_owned(),
        "/webhooks/email/postmark".to_owned(),
    ] {
        let (status, answer) = post_json(&app, &path, &complaint).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {answer}");
    }
    assert_eq!(app.count_rows("email_events").await, 0);

    let path = format!("/webhooks/email/postmark/{POSTMARK_TOKEN}");
    let (status, answer) = post_json(&app, &path, &complaint).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["new_events"], 1);
    assert_eq!(
        suppressed(&app).await,
        vec![(readers[0].clone(), "complaint".to_owned())]
    );
    assert_eq!(email_stats(&app, &key, &first).await["complained"], 1);

    // Basic auth carries the token too; a hard bounce of the other reader
    // (Postmark's documented Bounce example) without metadata maps by address.
    let bounce = json!({
        "RecordType": "Bounce", "MessageStream": "outbound", "ID": 42, "Type": "HardBounce", "TypeCode": 1,
        "Name": "Hard bounce", "Tag": "", "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": readers[1], "From": "newsletter@localhost", "BouncedAt": "2026-12-06T16:40:00Z",
        "DumpAvailable": false, "Inactive": true, "CanActivate": true, "Subject": "First", "Metadata": {}
    });
    let auth = format!("Basic {}", STANDARD.encode(format!("postmark:{POSTMARK_TOKEN}")));
    let response = new_client()
        .post(app.url("/webhooks/email/postmark"))
        .header("Authorization", auth)
        .json(&bounce)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(email_stats(&app, &key, &first).await["bounced"], 1);
    assert_eq!(suppressed(&app).await.len(), 2);

    // A record we have no use for (an open) is taken and ignored.
    let open = json!({"RecordType": "Open", "MessageID": "883953f4", "Recipient": readers[1]});
    let (status, answer) = post_json(&app, &path, &open).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["new_events"], 0);
}

/// SendGrid's documented event batch: a bounce, a block, a spam report and
/// events that change nothing, for the first newsletter's recipients.
fn sendgrid_batch(bounced: &str, blocked: &str, complained: &str, smtp_id: &str) -> Value {
    let t = now();
    json!([
        {"email": bounced, "timestamp": t, "smtp-id": smtp_id, "event": "processed",
         "category": ["newsletter"], "sg_event_id": "rbtnWrG1DVDGGGFHFyun0A==", "sg_message_id": "14c583da911.2d84.1cfb3c.filter0001.3531.5515E0B8B.0"},
        {"email": bounced, "timestamp": t, "smtp-id": smtp_id, "event": "bounce",
         "category": ["newsletter"], "sg_event_id": "6g4ZI7SA-xmRDv57GoPIPw==", "sg_message_id": "14c583da911.2d84.1cfb3c.filter0001.3531.5515E0B8B.0",
         "reason": "500 unknown recipient", "status": "5.0.0", "type": "bounce", "bounce_classification": "Invalid Address"},
        {"email": blocked, "timestamp": t, "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>", "event": "bounce",
         "sg_event_id": "Ct9iSt9A1Twy9R0zkW9fUA==", "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
         "reason": "550 5.7.1 blocked by policy", "status": "5.7.1", "type": "blocked", "bounce_classification": "Reputation"},
        {"email": complained, "timestamp": t, "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>", "event": "spamreport",
         "sg_event_id": "37nvH5QBz858KGVYCM4uOA==", "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"},
        {"email": complained, "timestamp": t, "event": "open", "sg_machine_open": false, "useragent": "Mozilla/4.0",
         "ip": "255.255.255.255", "sg_event_id": "FOTFFO0ecsBE-zxFXfs6WA==", "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"}
    ])
}

async fn post_sendgrid(
    app: &TestApp,
    headers: &[(&'static str, String)],
    body: &[u8],
) -> (StatusCode, Value) {
    let mut request = new_client()
        .post(app.url("/webhooks/email/sendgrid"))
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_signed_sendgrid_batch_suppresses_bounces_and_complaints_and_a_wrong_signature_or_old_timestamp_changes_nothing()
 {
    let signer = SendgridSigner::default();
    let sink = SmtpSink::start().await;
    let public_key = signer.public_key();
    let app = app_with_providers(
        &sink,
        &[
            ("SENDGRID_WEBHOOK_PUBLIC_KEY", &public_key),
            ("BROADSHEET_SOFT_BOUNCE_LIMIT", "2"),
        ],
    )
    .await;
    let readers = app.add_verified_members("reader", 4).await;
    let key = app.editor_key().await;
    let first = send_post(&app, &key, "First").await;
    let smtp_id = format!("<{}>", message_id_to(&sink, &readers[0], "First"));
    let batch = sendgrid_batch(&readers[0], &readers[1], &readers[2], &smtp_id).to_string();
    let body = batch.as_bytes();

    let other_signer = SendgridSigner::default();
    let mut tampered = batch.clone().into_bytes();
    tampered.extend_from_slice(b" ");
    let refused = [
        (
            "another key",
            other_signer.headers(now(), body).to_vec(),
            body.to_vec(),
        ),
        (
            "20 minutes old",
            signer.headers(now() - 20 * 60, body).to_vec(),
            body.to_vec(),
        ),
        ("body changed", signer.headers(now(), body).to_vec(), tampered),
        ("no headers", Vec::new(), body.to_vec()),
    ];
    for (what, headers, body) in refused {
        let (status, answer) = post_sendgrid(&app, &headers, &body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {answer}");
    }
    assert_eq!(app.count_rows("email_events").await, 0);

    let (status, answer) = post_sendgrid(&app, &signer.headers(now(), body), body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["new_events"], 3,
        "bounce, block, spam report; not processed or open"
    );
    let (_, again) = post_sendgrid(&app, &signer.headers(now(), body), body).await;
    assert_eq!(again["new_events"], 0, "SendGrid retrying changes nothing");
    assert_eq!(
        suppressed(&app).await,
        vec![
            (readers[0].clone(), "hard_bounce".to_owned()),
            (readers[2].clone(), "complaint".to_owned()),
        ],
        "one block is a soft bounce, below the limit"
    );
    let stats = email_stats(&app, &key, &first).await;
    assert_eq!(stats["bounced"], 1, "the smtp-id names the delivery: {stats}");
    assert_eq!(stats["complained"], 1, "mapped by address: {stats}");

    // A server without the key takes nothing from SendGrid.
    let other = app_sending_to(&sink, &[]).await;
    let (status, _) = post_sendgrid(&other, &signer.headers(now(), body), body).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

fn rfc3339(seconds_ago: i64) -> String {
    let when = time::OffsetDateTime::now_utc() - time::Duration::seconds(seconds_ago);
    when.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// SES's documented complaint notification for `email`, with the original
/// headers included (so our `X-Broadsheet-Delivery` is there).
fn ses_complaint(email: &str, delivery: &str, feedback_id: &str) -> String {
    json!({
        "notificationType": "Complaint",
        "complaint": {
            "userAgent": "ExampleCorp Feedback Loop (V0.01)",
            "complainedRecipients": [{"emailAddress": email}],
            "complaintFeedbackType": "abuse",
            "arrivalDate": rfc3339(60),
            "timestamp": rfc3339(30),
            "feedbackId": feedback_id
        },
        "mail": {
            "timestamp": rfc3339(120),
            "messageId": "000001378603177f-7a5433e7-8edb-42ae-af10-f0181f34d6ee-000000",
            "source": "newsletter@localhost",
            "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/localhost",
            "sendingAccountId": "123456789012",
            "destination": [email],
            "headersTruncated": false,
            "headers": [
                {"name": "From", "value": "Broadsheet <newsletter@localhost>"},
                {"name": "To", "value": email},
                {"name": "X-Broadsheet-Delivery", "value": delivery}
            ],
            "commonHeaders": {"from": ["Broadsheet <newsletter@localhost>"], "to": [email],
                              "messageId": "000001378603177f-7a5433e7", "subject": "First"}
        }
    })
    .to_string()
}

/// SES's documented permanent bounce for `email`, without original headers.
fn ses_bounce(email: &str, feedback_id: &str) -> String {
    json!({
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent", "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": email, "action": "failed", "status": "5.1.1",
                                   "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
            "timestamp": rfc3339(10), "feedbackId": feedback_id,
            "remoteMtaIp": "127.0.2.0", "reportingMTA": "dsn; a7-26.smtp-out.us-east-1.amazonses.com"
        },
        "mail": {"timestamp": rfc3339(120), "messageId": "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
                 "source": "newsletter@localhost", "destination": [email]}
    })
    .to_string()
}

#[tokio::test]
async fn ses_reports_through_sns_are_verified_against_the_signing_certificate_and_suppress_the_address() {
    let sns = FakeSns::start().await;
    let sink = SmtpSink::start().await;
    let app = app_with_providers(
        &sink,
        &[
            ("SES_SNS_TOPIC_ARNS", SNS_TOPIC_ARN),
            ("AWS_ENDPOINT_URL_SNS", &sns.endpoint),
        ],
    )
    .await;
    let readers = app.add_verified_members("reader", 3).await;
    let key = app.editor_key().await;
    let first = send_post(&app, &key, "First").await;
    let delivery = sink
        .newsletters()
        .into_iter()
        .find(|m| m.to[0] == readers[0])
        .and_then(|m| m.header("X-Broadsheet-Delivery"))
        .expect("the delivery header");

    // SNS's first message: the subscription is confirmed at SubscribeURL.
    let confirmation = sns_subscription_confirmation("2336412f37fb687f5d51e6e2425dacbba", &rfc3339(1));
    let (status, answer) = post_json(&app, "/webhooks/email/ses", &confirmation).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(sns.confirmed(), vec!["2336412f37fb687f5d51e6e2425dacbba"]);

    let complaint = ses_complaint(
        &readers[0],
        &delivery,
        "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
    );
    let signed = sns_notification(&complaint, 1, &rfc3339(5));
    let mut refused = Vec::new();
    let mut other_topic = signed.clone();
    other_topic["TopicArn"] = json!("arn:aws:sns:us-east-1:123456789012:someone-elses");
    refused.push(("a topic not listed", other_topic));
    let mut tampered = signed.clone();
    tampered["Message"] = json!(ses_complaint(&readers[1], &delivery, "other-feedback"));
    refused.push(("a changed message", tampered));
    let mut foreign_certificate = signed.clone();
    foreign_certificate["SigningCertURL"] =
        json!(format!("{}/SimpleNotificationService-x.pem", sns.endpoint));
    refused.push(("a certificate off SNS's hosts", foreign_certificate));
    refused.push((
        "two hours old",
        sns_notification(&complaint, 2, &rfc3339(2 * 60 * 60)),
    ));
    for (what, body) in refused {
        let (status, answer) = post_json(&app, "/webhooks/email/ses", &body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {answer}");
    }
    assert_eq!(app.count_rows("email_events").await, 0);

    let (status, answer) = post_json(&app, "/webhooks/email/ses", &signed).await;
    assert_eq!(status, StatusCode::OK, "SignatureVersion 1 (SHA-1): {answer}");
    assert_eq!(answer["new_events"], 1);
    let bounce = sns_notification(&ses_bounce(&readers[1], "bounce-feedback-1"), 2, &rfc3339(0));
    let (status, answer) = post_json(&app, "/webhooks/email/ses", &bounce).await;
    assert_eq!(status, StatusCode::OK, "SignatureVersion 2 (SHA-256): {answer}");
    let (_, again) = post_json(&app, "/webhooks/email/ses", &bounce).await;
    assert_eq!(again["new_events"], 0, "SNS retrying changes nothing");
    assert_eq!(sns.certificate_fetches(), 1, "the certificate is kept");

    assert_eq!(
        suppressed(&app).await,
        vec![
            (readers[0].clone(), "complaint".to_owned()),
            (readers[1].clone(), "hard_bounce".to_owned()),
        ]
    );
    let stats = email_stats(&app, &key, &first).await;
    assert_eq!(stats["complained"], 1, "{stats}");
    assert_eq!(stats["bounced"], 1, "mapped by address: {stats}");

    send_post(&app, &key, "Second").await;
    let second: Vec<String> = sink
        .newsletters()
        .into_iter()
        .filter(|m| m.header("Subject").as_deref() == Some("Second"))
        .map(|m| m.to[0].clone())
        .collect();
    assert_eq!(
        second,
        vec![readers[2].clone()],
        "the complaint and the bounce are skipped"
    );
}
