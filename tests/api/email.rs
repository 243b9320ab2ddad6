//! Email against a real SMTP server on loopback: the newsletter engine and
//! the transactional messages.

use std::{collections::HashMap, time::Duration};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{PAID_MARKER, TestApp, new_client, spawn_app_with, spawn_app_without_worker},
    smtp::{Parsed, SmtpSink},
};

/// Generous: debug builds on a busy 2-core machine are slow, and a broken
/// engine still fails the test rather than hanging it.
pub(crate) const WAIT: Duration = Duration::from_secs(180);

pub(crate) async fn app_sending_to(sink: &SmtpSink, extra: &[(&'static str, &str)]) -> TestApp {
    let mut settings: HashMap<&str, String> = HashMap::from([("SMTP_URL", sink.url())]);
    settings.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    spawn_app_with(settings).await
}

/// Publishes a paid article with the marker after the divider, emailed to `segment`.
async fn publish_paid(app: &TestApp, key: &str, segment: &str) -> Value {
    let response = app
        .post_article(
            key,
            json!({"title": "Issue one", "visibility": "paid", "publish": true, "email": segment,
                   "markdown": format!("The free part.\n\n<!-- paywall -->\n\nThe {PAID_MARKER} part.")}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn send_progress(app: &TestApp, key: &str, send_id: &Value) -> Value {
    app.admin(
        Method::GET,
        Some(key),
        &format!("/admin/api/sends/{send_id}"),
        None,
    )
    .await
    .json()
    .await
    .unwrap()
}

pub(crate) async fn wait_until_finished(app: &TestApp, key: &str, send_id: &Value) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let progress = send_progress(app, key, send_id).await;
        if progress["status"] == "finished" || tokio::time::Instant::now() > deadline {
            return progress;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_newsletter_reaches_every_member_once_with_the_body_their_plan_allows() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[]).await;
    let key = app.editor_key().await;
    let free = app.add_verified_members("free", 5).await;
    let paying = app.add_verified_members("paying", 3).await;
    for email in &paying {
        let id = app.user_id(email).await;
        app.add_subscription(id, "active", 30).await;
    }
    let (unverified, _) = app.member("unverified@example.com").await;
    drop(unverified);

    let article = publish_paid(&app, &key, "all").await;
    let progress = wait_until_finished(&app, &key, &article["send_id"]).await;
    assert_eq!(progress["total"], 8, "verified members only: {progress}");
    assert_eq!(progress["sent"], 8);

    let counts = sink.per_recipient();
    for email in free.iter().chain(&paying) {
        assert_eq!(counts.get(email), Some(&1), "{email} got the issue exactly once");
    }
    assert!(!counts.contains_key("unverified@example.com"));
    assert!(
        !counts.contains_key("editor@example.com"),
        "the editor's address is not verified either"
    );

    for message in sink.newsletters() {
        let to = &message.to[0];
        let (text, html) = message.bodies();
        let full = paying.contains(to);
        assert_eq!(html.contains(PAID_MARKER), full, "{to}: html body per plan");
        assert_eq!(text.contains(PAID_MARKER), full, "{to}: text body per plan");
        assert_eq!(
            html.contains("Subscribe to keep reading"),
            !full,
            "{to}: free members get the call to action"
        );
        assert!(text.contains("The free part."), "{to}");

        // RFC 8058 one-click unsubscribe, and the rest of the envelope.
        let list_unsubscribe = message.header("List-Unsubscribe").expect("List-Unsubscribe");
        assert!(
            list_unsubscribe.starts_with("<http://127.0.0.1:8080/unsubscribe/"),
            "{list_unsubscribe}"
        );
        assert!(
            list_unsubscribe.contains(">, <mailto:newsletter@localhost?subject=unsubscribe-"),
            "{list_unsubscribe}"
        );
        assert_eq!(
            message.header("List-Unsubscribe-Post").as_deref(),
            Some("List-Unsubscribe=One-Click")
        );
        assert!(
            message
                .header("Message-ID")
                .is_some_and(|id| id.starts_with("<delivery-"))
        );
        assert_eq!(message.parsed().ctype.mimetype, "multipart/alternative");
        assert!(html.contains("/p/issue-one"), "a read-online link");
    }
}

#[tokio::test]
async fn the_paid_and_free_segments_reach_only_their_members() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[]).await;
    let key = app.editor_key().await;
    let free = app.add_verified_members("free", 2).await;
    let paying = app.add_verified_members("paying", 2).await;
    for email in &paying {
        let id = app.user_id(email).await;
        app.add_subscription(id, "trialing", 10).await;
    }
    let article = publish_paid(&app, &key, "paid").await;
    wait_until_finished(&app, &key, &article["send_id"]).await;
    let mut got: Vec<String> = sink.per_recipient().into_keys().collect();
    got.sort();
    assert_eq!(got, paying);

    let second = app
        .post_article(&key, json!({"title": "For free readers", "markdown": "Hello.", "visibility": "public", "publish": true, "email": "free"}))
        .await
        .json::<Value>()
        .await
        .unwrap();
    wait_until_finished(&app, &key, &second["send_id"]).await;
    let to_free: Vec<String> = sink
        .newsletters()
        .iter()
        .filter(|m| m.data.contains("For free readers"))
        .map(|m| m.to[0].clone())
        .collect();
    assert_eq!(to_free.len(), free.len());
    assert!(to_free.iter().all(|to| free.contains(to)));
}

#[tokio::test]
async fn publishing_twice_or_republishing_never_sends_twice() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[]).await;
    let key = app.editor_key().await;
    app.add_verified_members("reader", 3).await;
    let draft = app
        .post_article(
            &key,
            json!({"title": "Once", "markdown": "x", "visibility": "public", "email": "all"}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    let publish = format!("/admin/api/articles/{}/publish", draft["id"]);
    let first: Value = app
        .admin(Method::POST, Some(&key), &publish, None)
        .await
        .json()
        .await
        .unwrap();
    app.admin(Method::POST, Some(&key), &publish, None).await;
    app.admin(
        Method::POST,
        Some(&key),
        &format!("/admin/api/articles/{}/unpublish", draft["id"]),
        None,
    )
    .await;
    app.admin(Method::POST, Some(&key), &publish, None).await;
    wait_until_finished(&app, &key, &first["send_id"]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.newsletters().len(), 3);
    assert_eq!(app.count_rows("sends").await, 1);
}

#[tokio::test]
async fn a_send_waits_out_a_server_that_is_down_and_delivers_everything_once_it_is_up() {
    let sink = SmtpSink::down().await;
    let app = app_sending_to(&sink, &[]).await;
    let key = app.editor_key().await;
    let members = app.add_verified_members("patient", 4).await;
    let article = publish_paid(&app, &key, "all").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let progress = send_progress(&app, &key, &article["send_id"]).await;
    assert_eq!(progress["sent"], 0);
    assert_eq!(
        progress["failed"], 0,
        "a refused connection is retried, not failed: {progress}"
    );

    sink.come_up().await;
    let progress = wait_until_finished(&app, &key, &article["send_id"]).await;
    assert_eq!(progress["sent"], 4, "{progress}");
    let counts = sink.per_recipient();
    assert!(members.iter().all(|m| counts.get(m) == Some(&1)), "{counts:?}");
}

#[tokio::test]
async fn a_server_answering_421_and_451_for_a_while_gets_everything_in_the_end() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[("BROADSHEET_MAIL_CONCURRENCY", "2")]).await;
    let key = app.editor_key().await;
    let members = app.add_verified_members("throttled", 6).await;
    sink.fail_temporarily(451, 4);
    let article = publish_paid(&app, &key, "all").await;
    let progress = wait_until_finished(&app, &key, &article["send_id"]).await;
    assert_eq!(progress["sent"], 6, "{progress}");
    let counts = sink.per_recipient();
    assert!(members.iter().all(|m| counts.get(m) == Some(&1)), "{counts:?}");

    sink.fail_temporarily(421, 2);
    let second = app
        .post_article(&key, json!({"title": "Second", "markdown": "x", "visibility": "public", "publish": true, "email": "all"}))
        .await
        .json::<Value>()
        .await
        .unwrap();
    let progress = wait_until_finished(&app, &key, &second["send_id"]).await;
    assert_eq!(progress["sent"], 6, "{progress}");
}

/// The worker claims and renders its next round while one sends. When the
/// server asks it to slow down, the round it has ready is handed back at
/// once (due again, its attempt not counted) instead of being held through
/// the pause, where another worker could not take it.
#[tokio::test]
async fn a_worker_told_to_slow_down_hands_back_the_round_it_had_ready_and_sends_it_later_once() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(
        &sink,
        &[
            ("BROADSHEET_MAIL_CONCURRENCY", "2"),
            ("BROADSHEET_MAIL_RETRY_BASE_MS", "2000"),
        ],
    )
    .await;
    let key = app.editor_key().await;
    // More than one round of 200.
    let members = app.add_verified_members("paced", 450).await;
    sink.fail_temporarily(421, 2); // a pause of 2 s, then 4 s
    let article = publish_paid(&app, &key, "all").await;
    // The first round goes out but for the two refused messages…
    let deadline = tokio::time::Instant::now() + WAIT;
    while sink.newsletters().len() < 198 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sink.newsletters().len(), 198);
    // …and during the pause nothing is held: rows are either sent or due.
    let held = || async { app.count_where("deliveries", "status = 'sending'").await };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while held().await > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        held().await,
        0,
        "the round made ready was handed back during the pause"
    );
    assert_eq!(sink.newsletters().len(), 198, "and not sent while paused");

    let progress = wait_until_finished(&app, &key, &article["send_id"]).await;
    assert_eq!(progress["sent"], 450, "{progress}");
    let counts = sink.per_recipient();
    assert!(
        members.iter().all(|m| counts.get(m) == Some(&1)),
        "each exactly once"
    );
    assert_eq!(
        app.count_where("deliveries", "attempts > 1").await,
        2,
        "only the two refused messages were tried twice"
    );
}

#[tokio::test]
async fn a_rejected_recipient_is_failed_and_suppressed_and_the_rest_are_delivered() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[]).await;
    let key = app.editor_key().await;
    let members = app.add_verified_members("bounce", 4).await;
    sink.reject(&members[1]);
    let article = publish_paid(&app, &key, "all").await;
    let progress = wait_until_finished(&app, &key, &article["send_id"]).await;
    assert_eq!(
        (progress["sent"].as_i64(), progress["failed"].as_i64()),
        (Some(3), Some(1)),
        "{progress}"
    );
    assert_eq!(app.count_rows("suppressions").await, 1);

    // Retrying re-queues only the failed row; the suppression keeps it out.
    let retried: Value = app
        .admin(
            Method::POST,
            Some(&key),
            &format!("/admin/api/sends/{}/retry", article["send_id"]),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    // The worker may already have taken the re-queued row: it is pending or
    // (its address being suppressed) skipped, but no longer failed.
    assert_eq!(retried["failed"], 0, "{retried}");
    assert_eq!(
        retried["pending"].as_i64().unwrap() + retried["suppressed"].as_i64().unwrap(),
        1,
        "{retried}"
    );
    let progress = wait_until_finished(&app, &key, &article["send_id"]).await;
    assert_eq!(
        (progress["sent"].as_i64(), progress["suppressed"].as_i64()),
        (Some(3), Some(1)),
        "{progress}"
    );
    assert_eq!(sink.newsletters().len(), 3);
}

#[tokio::test]
async fn two_workers_share_one_send_without_sending_anything_twice() {
    let sink = SmtpSink::start().await;
    let app = spawn_app_without_worker([("SMTP_URL", sink.url())].into()).await;
    let key = app.editor_key().await;
    let members = app.add_verified_members("shared", 300).await;
    let article = publish_paid(&app, &key, "all").await;
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let config = app.config.clone();
            tokio::spawn(async move {
                let state =
                    std::sync::Arc::new(broadsheet::web::startup::prepare_state(config).await.unwrap());
                broadsheet::newsletter::Worker::new(state).run().await;
            })
        })
        .collect();
    let progress = wait_until_finished(&app, &key, &article["send_id"]).await;
    for worker in workers {
        worker.abort();
    }
    assert_eq!(progress["sent"], 300, "{progress}");
    let counts = sink.per_recipient();
    assert_eq!(counts.len(), 300);
    assert!(
        members.iter().all(|m| counts.get(m) == Some(&1)),
        "someone got a duplicate"
    );
}

/// A send this big also refreshes the database's statistics as it is
/// queued (on PostgreSQL, so the workers' claims walk the pending index):
/// the deliveries and the total are there when the publish answers.
#[tokio::test]
async fn publishing_to_a_thousand_members_queues_one_delivery_each_before_it_answers() {
    let app = spawn_app_without_worker(HashMap::new()).await;
    let key = app.editor_key().await;
    app.add_verified_members("crowd", 1_000).await;
    let article = publish_paid(&app, &key, "all").await;
    let progress = send_progress(&app, &key, &article["send_id"]).await;
    assert_eq!(progress["total"], 1_000, "{progress}");
    assert_eq!(app.count_where("deliveries", "status = 'pending'").await, 1_000);
}

/// The claim, driven directly with a clock of the test's choosing: each
/// claim starts past the last one (so a big send's claims never walk the
/// rows already sent), comes back for a retry left behind once it reaches
/// the end, and takes rows whose lease ran out ahead of pending ones at the
/// next sweep, even while pending rows would fill every round.
#[tokio::test]
async fn a_claim_starts_past_the_last_one_comes_back_for_retries_and_takes_a_dead_workers_rows_at_the_next_sweep()
 {
    use broadsheet::db::mail_queue::{self, ClaimCursor, Queue};
    let app = spawn_app_without_worker(HashMap::new()).await;
    let key = app.editor_key().await;
    app.add_verified_members("queued", 7).await;
    publish_paid(&app, &key, "all").await;
    let ids = |claimed: &[mail_queue::Claimed]| {
        let mut ids: Vec<i32> = claimed.iter().map(|c| c.id).collect();
        ids.sort();
        ids
    };
    let (rounds, all) = app
        .db(move |conn| {
            let t0 = broadsheet::db::now();
            let seconds = time::Duration::seconds;
            let mut cursor = ClaimCursor::default();
            let mut claim = |conn: &mut _, at: time::PrimitiveDateTime, lease: i64| {
                mail_queue::claim(conn, Queue::Deliveries, &mut cursor, at, at + seconds(lease), 2)
            };
            // Held for a second by a worker that then dies, one of them
            // after handing it back for a retry.
            let first = claim(conn, t0, 1)?;
            mail_queue::mark_retry(
                conn,
                Queue::Deliveries,
                first[0].id.min(first[1].id),
                t0,
                "421 busy",
            )?;
            // The other's lease has run out, but the sweep is not due yet.
            let second = claim(conn, t0 + seconds(2), 60)?;
            let third = claim(conn, t0 + seconds(3), 60)?;
            // Due: the row held with a lapsed lease, then one pending.
            let fourth = claim(conn, t0 + seconds(6), 60)?;
            // Nothing pending is left past the cursor: the retry behind it.
            let fifth = claim(conn, t0 + seconds(6), 60)?;
            let all: Vec<i32> = {
                use broadsheet::db::schema::deliveries::dsl::*;
                use diesel::prelude::*;
                let mut all = deliveries.select(id).load::<i32>(conn)?;
                all.sort();
                all
            };
            Ok(([first, second, third, fourth, fifth], all))
        })
        .await;
    let [first, second, third, fourth, fifth] = rounds.map(|r| ids(&r));
    assert_eq!(all.len(), 7);
    assert_eq!(first, all[0..2], "the first claim starts at the lowest ids");
    assert_eq!(second, all[2..4], "the next claim starts past the last one");
    assert_eq!(third, all[4..6], "a lapsed lease waits for the sweep");
    assert_eq!(
        fourth,
        [all[1], all[6]],
        "the sweep takes the dead worker's row, and the round is filled from past the cursor"
    );
    assert_eq!(
        fifth,
        [all[0]],
        "the retry behind the cursor is taken once the end is reached: {fifth:?}"
    );
}

#[tokio::test]
async fn a_worker_killed_mid_send_and_restarted_delivers_to_everyone() {
    let sink = SmtpSink::start().await;
    let app = spawn_app_without_worker([("SMTP_URL", sink.url())].into()).await;
    let key = app.editor_key().await;
    let members = app.add_verified_members("crash", 2000).await;
    let article = publish_paid(&app, &key, "all").await;

    let worker = |lease: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_broadsheet"))
            .arg("worker")
            .env("DATABASE_URL", &app.config.database_url)
            .env("BROADSHEET_DATA_DIR", app.data_dir.path())
            .env("SMTP_URL", sink.url())
            .env("BROADSHEET_MAIL_LEASE_SECS", lease)
            .env("BROADSHEET_WORKER_POLL_MS", "50")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("starting a worker process")
    };
    let mut first = worker("2");
    let arrived = sink.wait_for(200, WAIT).await;
    assert!(arrived >= 200, "the first worker got going");
    first.kill().expect("SIGKILL"); // not a graceful stop
    first.wait().unwrap();
    let at_kill = sink.newsletters().len();
    assert!(at_kill < 2000, "the kill came mid-send ({at_kill} sent)");

    let mut second = worker("2");
    let progress = wait_until_finished(&app, &key, &article["send_id"]).await;
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(progress["sent"], 2000, "{progress}");

    let counts = sink.per_recipient();
    let missing: Vec<_> = members.iter().filter(|m| !counts.contains_key(*m)).collect();
    assert!(missing.is_empty(), "lost: {missing:?}");
    // The only copies possible are messages the server accepted in the
    // instant between its 250 and our commit; each carries the same
    // Message-ID as the first, so receivers can drop it.
    let mut ids: HashMap<String, Vec<String>> = HashMap::new();
    for message in sink.newsletters() {
        ids.entry(message.to[0].clone())
            .or_default()
            .push(message.header("Message-ID").unwrap());
    }
    let duplicated: Vec<_> = ids.iter().filter(|(_, v)| v.len() > 1).collect();
    assert!(
        duplicated.iter().all(|(_, v)| v.iter().all(|id| *id == v[0])),
        "copies must share their Message-ID"
    );
    assert!(
        duplicated.len() <= 8,
        "at most one batch in flight may repeat: {}",
        duplicated.len()
    );
}

#[tokio::test]
async fn no_more_messages_than_sending_slots_are_ever_the_servers_and_not_on_record() {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering::SeqCst},
    };

    use broadsheet::{db::sends, domain::delivery::DeliveryStatus};

    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[("BROADSHEET_MAIL_CONCURRENCY", "4")]).await;
    let key = app.editor_key().await;
    app.add_verified_members("window", 400).await;
    // At each newsletter's final dot, before the server answers: the
    // messages the server has (this one too) less those on record as sent.
    // That difference is what a crash at that moment would send again.
    let (taken, widest) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    {
        let (taken, widest, pool) = (taken.clone(), widest.clone(), app.pool.clone());
        sink.on_each_message(move |message| {
            if !message.is_newsletter() {
                return;
            }
            let taken = taken.fetch_add(1, SeqCst) + 1;
            let mut conn = pool.get().expect("a database connection");
            let recorded = sends::counts_by_status(&mut conn)
                .expect("delivery counts")
                .into_iter()
                .find(|(status, _)| *status == DeliveryStatus::Sent)
                .map_or(0, |(_, n)| n as usize);
            widest.fetch_max(taken.saturating_sub(recorded), SeqCst);
        });
    }

    let article = publish_paid(&app, &key, "all").await;
    let progress = wait_until_finished(&app, &key, &article["send_id"]).await;

    assert_eq!(progress["sent"], 400, "{progress}");
    assert_eq!(taken.load(SeqCst), 400, "each member got one copy");
    let widest = widest.load(SeqCst);
    assert!(
        (1..=4).contains(&widest),
        "{widest} messages were the server's and not on record at once; one per slot (4) is the bound"
    );
}

#[tokio::test]
async fn one_click_unsubscribe_with_no_cookie_leaves_the_newsletter_before_the_next_send() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[]).await;
    let key = app.editor_key().await;
    let members = app.add_verified_members("leaver", 2).await;
    let first = publish_paid(&app, &key, "all").await;
    wait_until_finished(&app, &key, &first["send_id"]).await;
    let message = sink
        .newsletters()
        .into_iter()
        .find(|m| m.to[0] == members[0])
        .unwrap();
    let path = &unsubscribe_path(&message);

    let page = app.get_with(&new_client(), path).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text().await.unwrap().contains("Leave Newsletter?"),
        "GET only asks"
    );
    let subscriptions_before = app.count_rows("newsletter_subscriptions").await;
    let response = one_click_unsubscribe(&app, path).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        app.count_rows("newsletter_subscriptions").await,
        subscriptions_before - 1,
        "one member left the newsletter; nothing else changed"
    );
    assert_eq!(
        app.count_rows("suppressions").await,
        0,
        "leaving one newsletter suppresses nothing"
    );

    let second = app
        .post_article(&key, json!({"title": "Next", "markdown": "x", "visibility": "public", "publish": true, "email": "all"}))
        .await
        .json::<Value>()
        .await
        .unwrap();
    wait_until_finished(&app, &key, &second["send_id"]).await;
    let next: Vec<String> = sink
        .newsletters()
        .iter()
        .filter(|m| m.data.contains("Subject: Next"))
        .map(|m| m.to[0].clone())
        .collect();
    assert_eq!(next, vec![members[1].clone()]);

    let forged = new_client()
        .post(app.url("/unsubscribe/not-a-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::NOT_FOUND);
}

/// The site path of a newsletter's `List-Unsubscribe` link.
/// The RFC 8058 one-click POST a mail client sends to a List-Unsubscribe
/// address, with no cookie.
pub(crate) async fn one_click_unsubscribe(app: &TestApp, path: &str) -> reqwest::Response {
    new_client()
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap()
}

pub(crate) fn unsubscribe_path(message: &crate::smtp::Received) -> String {
    let header = message.header("List-Unsubscribe").expect("List-Unsubscribe");
    header[1..header.find('>').expect("<url>")]
        .trim_start_matches("http://127.0.0.1:8080")
        .to_owned()
}

/// The link to `path…` in the newest email to `to` that has one (a
/// welcome email may arrive in between).
pub(crate) fn link_in(sink: &SmtpSink, to: &str, path: &str) -> String {
    let wanted = format!("http://127.0.0.1:8080{path}");
    let text = sink
        .received()
        .into_iter()
        .rev()
        .filter(|m| m.to[0] == to)
        .map(|m| m.bodies().0)
        .find(|text| text.contains(&wanted))
        .expect("an email with the link");
    let start = text.find(&wanted).expect("the link");
    let link = text[start..].split_whitespace().next().unwrap();
    link.trim_start_matches("http://127.0.0.1:8080").to_owned()
}

#[tokio::test]
async fn signing_up_sends_a_verification_link_that_confirms_the_address() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[]).await;
    let (client, _) = app.member("new@example.com").await;
    sink.wait_for(1, WAIT).await;
    let message = &sink.received()[0];
    assert_eq!(
        message.header("Subject").as_deref(),
        Some("Confirm your email address")
    );
    let link = link_in(&sink, "new@example.com", "/verify/");
    let (status, html) = app.get_text(&client, &link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Email confirmed"));
    let (status, _) = app.get_text(&client, &link).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a verification link works once");
}

#[tokio::test]
async fn a_magic_link_signs_in_once_through_a_confirm_page_and_unknown_emails_get_the_same_answer() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[]).await;
    app.member("magic@example.com").await;
    sink.wait_for(1, WAIT).await;

    let browser = new_client();
    let known = app
        .post_form(&browser, "/login/link", &[("email", "magic@example.com")])
        .await;
    let unknown = app
        .post_form(&new_client(), "/login/link", &[("email", "nobody@example.com")])
        .await;
    assert_eq!(known.status(), unknown.status());
    let (known, unknown) = (known.text().await.unwrap(), unknown.text().await.unwrap());
    assert!(known.contains("If that address has an account"));
    assert_eq!(
        known.replace(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_', ""),
        unknown.replace(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_', "")
    );
    sink.wait_for(2, WAIT).await;
    assert_eq!(sink.received().len(), 2, "no email for the unknown address");

    let link = link_in(&sink, "magic@example.com", "/login/link/");
    let (status, page) = app.get_text(&browser, &link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Sign me in"), "the GET only shows a button");
    let (_, home) = app.get_text(&browser, "/").await;
    assert!(
        !home.contains("magic@example.com"),
        "opening the link did not sign in"
    );

    let response = app.post_form(&browser, &link, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, home) = app.get_text(&browser, "/").await;
    assert!(home.contains("magic@example.com"), "the button signed in");
    let again = app.post_form(&new_client(), &link, &[]).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "a magic link works once");
}

#[tokio::test]
async fn a_password_reset_changes_the_password_once_and_ends_every_session() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[]).await;
    let (old_browser, _) = app.member("forgetful@example.com").await;
    app.post_form(&new_client(), "/reset", &[("email", "forgetful@example.com")])
        .await;
    sink.wait_for(2, WAIT).await;
    let link = link_in(&sink, "forgetful@example.com", "/reset/");

    let browser = new_client();
    let short = app.post_form(&browser, &link, &[("password", "short")]).await;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = app
        .post_form(&browser, &link, &[("password", "a brand new password")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get_with(&old_browser, "/account").await.status(),
        StatusCode::SEE_OTHER,
        "old sessions end"
    );
    assert_eq!(
        app.login(&new_client(), "forgetful@example.com", "correct horse battery")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(&new_client(), "forgetful@example.com", "a brand new password")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let again = app
        .post_form(&new_client(), &link, &[("password", "yet another password")])
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "a reset link works once");
}

#[tokio::test]
async fn the_first_proof_of_an_address_shows_out_whoever_signed_up_with_it_without_owning_it() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[]).await;
    // A squatter signs up with someone else's address: no proof needed.
    let (squatter, _) = app.member("owner@example.com").await;
    sink.wait_for(1, WAIT).await;
    let (_, account) = app.get_text(&squatter, "/account").await;
    let squatters_feed = crate::feeds::private_feed_path(&account);

    // The owner signs in with an emailed link, in a browser of their own.
    app.post_form(&new_client(), "/login/link", &[("email", "owner@example.com")])
        .await;
    sink.wait_for(2, WAIT).await;
    let link = link_in(&sink, "owner@example.com", "/login/link/");
    let owner = new_client();
    let (_, confirm) = app.get_text(&owner, &link).await;
    assert!(
        confirm.contains("signing in as owner@example.com"),
        "the confirm page names the account"
    );
    assert_eq!(
        app.post_form(&owner, &link, &[]).await.status(),
        StatusCode::SEE_OTHER
    );

    assert_eq!(
        app.get_with(&squatter, "/account").await.status(),
        StatusCode::SEE_OTHER,
        "the squatter's session ended"
    );
    assert_eq!(
        app.login(&new_client(), "owner@example.com", "correct horse battery")
            .await
            .status(),
        StatusCode::UNAUTHORIZED,
        "the password the owner never set is gone"
    );
    assert_eq!(
        app.get(&squatters_feed).await.status(),
        StatusCode::NOT_FOUND,
        "the private feed address the squatter saw is dead"
    );
    let (status, _) = app.get_text(&owner, "/account").await;
    assert_eq!(status, StatusCode::OK, "the owner is signed in");
}

#[tokio::test]
async fn confirming_ones_own_signup_in_the_same_browser_keeps_the_password() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[]).await;
    let (browser, _) = app.member("honest@example.com").await;
    sink.wait_for(1, WAIT).await;
    let verify = link_in(&sink, "honest@example.com", "/verify/");
    let (status, _) = app.get_text(&browser, &verify).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.get_with(&browser, "/account").await.status(), StatusCode::OK);
    assert_eq!(
        app.login(&new_client(), "honest@example.com", "correct horse battery")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_password_reset_replaces_the_private_feed_address() {
    let sink = SmtpSink::start().await;
    let app = app_sending_to(&sink, &[]).await;
    let (browser, _) = app.member("feeder@example.com").await;
    let (_, account) = app.get_text(&browser, "/account").await;
    let old_feed = crate::feeds::private_feed_path(&account);
    assert_eq!(app.get(&old_feed).await.status(), StatusCode::OK);
    app.post_form(&new_client(), "/reset", &[("email", "feeder@example.com")])
        .await;
    sink.wait_for(2, WAIT).await;
    let link = link_in(&sink, "feeder@example.com", "/reset/");
    let reset = app
        .post_form(&new_client(), &link, &[("password", "a brand new password")])
        .await;
    assert_eq!(reset.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get(&old_feed).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn without_an_smtp_server_mail_lands_as_eml_files_in_the_data_folder() {
    let app = spawn_app_with(HashMap::new()).await;
    app.member("files@example.com").await;
    let outbox = app.data_dir.path().join("outbox");
    let deadline = tokio::time::Instant::now() + WAIT;
    let files = loop {
        let files: Vec<_> = std::fs::read_dir(&outbox)
            .map(|d| d.flatten().collect())
            .unwrap_or_default();
        if !files.is_empty() || tokio::time::Instant::now() > deadline {
            break files;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(files.len(), 1);
    let eml = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(eml.contains("Subject: Confirm your email address"));
}

/// Each outbox row's status, attempts and whether it has an error.
async fn outbox_rows(app: &TestApp) -> Vec<(String, i32, bool)> {
    app.db(|conn| {
        use broadsheet::db::schema::outbox;
        use diesel::prelude::*;
        let rows: Vec<(String, i32, Option<String>)> = outbox::table
            .order(outbox::id)
            .select((outbox::status, outbox::attempts, outbox::last_error))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|(status, attempts, error)| (status, attempts, error.is_some()))
            .collect())
    })
    .await
}

#[tokio::test]
async fn when_the_mail_folder_cannot_be_written_mail_is_retried_and_nothing_is_marked_sent() {
    let app = spawn_app_with(HashMap::new()).await; // the folder transport
    let outbox = app.config.outbox_dir();
    // A file where the folder should be: every write fails, as on a full
    // disk or a folder whose permissions were changed under us.
    std::fs::remove_dir_all(&outbox).unwrap();
    std::fs::write(&outbox, "not a folder").unwrap();
    app.member("waiting@example.com").await;
    let mut rows = Vec::new();
    for _ in 0..100 {
        rows = outbox_rows(&app).await;
        if rows.iter().any(|(_, attempts, _)| *attempts >= 2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, attempts, has_error) = rows[0].clone();
    assert_ne!(status, "sent", "{rows:?}");
    assert_ne!(status, "failed", "a write failure is transient: {rows:?}");
    assert!(
        attempts >= 2 && has_error,
        "retried, with the error kept: {rows:?}"
    );

    // The folder is back: the retry delivers it.
    std::fs::remove_file(&outbox).unwrap();
    std::fs::create_dir_all(&outbox).unwrap();
    for _ in 0..200 {
        if outbox_rows(&app).await[0].0 == "sent" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(outbox_rows(&app).await[0].0, "sent");
    let files = std::fs::read_dir(&outbox).unwrap().count();
    assert_eq!(files, 1, "one message file, written once");
}
