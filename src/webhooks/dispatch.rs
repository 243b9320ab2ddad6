//! Sends queued webhook deliveries: claims due rows of `webhook_deliveries`
//! (the mail queues' life cycle: a crashed dispatcher's lease runs out and
//! another takes the row), POSTs each signed, and records the answer. A 2xx
//! is delivered; anything else, a timeout or a refused address is retried
//! with backoff. Once a webhook's every delivery has failed for
//! `BROADSHEET_WEBHOOK_DISABLE_AFTER_DAYS` it is switched off with the
//! reason; a delivery older than that is given up. Runs beside the email
//! worker (in `serve` and in `broadsheet worker`).

use std::{sync::Arc, time::Duration};

use futures::StreamExt;
use time::PrimitiveDateTime;
use url::Url;

use crate::{
    db::{
        self,
        mail_queue::{self, ClaimCursor, Queue},
        webhooks::{self as stored, DueDelivery},
    },
    domain::{delivery::retry_delay, webhook},
    security::outbound,
    state::AppState,
};

/// Rows claimed per round.
const BATCH: i32 = 50;
/// Receivers POSTed to at once.
const CONCURRENCY: usize = 8;
/// The most of a receiver's error kept in the log.
const MAX_ERROR_CHARS: usize = 300;

pub struct Dispatcher {
    state: Arc<AppState>,
    http: reqwest::Client,
    /// Where this dispatcher's claims have got to (see `mail_queue::ClaimCursor`).
    cursor: std::sync::Mutex<ClaimCursor>,
}

/// What one POST came to.
struct Attempt {
    delivery: DueDelivery,
    attempts: i32,
    /// The receiver's status, when it answered.
    status: Option<u16>,
    /// `None` when delivered.
    error: Option<String>,
}

impl Dispatcher {
    pub fn new(state: Arc<AppState>) -> Self {
        let timeout = Duration::from_secs(state.config.webhook_timeout_secs);
        let http = outbound::client(state.config.webhooks_allow_private, timeout);
        Self {
            state,
            http,
            cursor: Default::default(),
        }
    }

    /// Sends forever: a round, then a pause when nothing was due.
    pub async fn run(self) {
        let poll = Duration::from_millis(self.state.config.worker_poll_ms);
        loop {
            match self.run_once().await {
                Ok(0) => tokio::time::sleep(poll).await,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = ?e, "webhook round failed; retrying shortly");
                    tokio::time::sleep(poll).await;
                }
            }
        }
    }

    /// One round: claim, POST, record. Returns how many were handled.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        // The lease outlasts the longest POST, so no row is sent twice by
        // two dispatchers unless one of them died.
        let lease = time::Duration::seconds(self.state.config.webhook_timeout_secs as i64 * 2 + 60);
        let mut cursor = *self.cursor.lock().expect("cursor lock");
        let (due, cursor) = db::run(&self.state.pool, move |conn| {
            let now = db::now();
            let claimed = mail_queue::claim(conn, Queue::Webhooks, &mut cursor, now, now + lease, BATCH)?;
            let ids: Vec<i32> = claimed.iter().map(|c| c.id).collect();
            let rows = stored::load_due(conn, &ids)?;
            let due = claimed
                .into_iter()
                .filter_map(|c| {
                    let row = rows.iter().find(|r| r.id == c.id)?.clone();
                    Some((row, c.attempts))
                })
                .collect::<Vec<_>>();
            Ok((due, cursor))
        })
        .await?;
        *self.cursor.lock().expect("cursor lock") = cursor;
        let handled = due.len();
        if handled == 0 {
            return Ok(0);
        }
        let mut attempts: Vec<Attempt> = futures::stream::iter(due)
            .map(|(delivery, attempts)| self.attempt(delivery, attempts))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        // Rows are locked in one order by every writer (webhook, then
        // delivery, by id), so two dispatchers never wait on each other.
        attempts.sort_by_key(|a| (a.delivery.webhook_id, a.delivery.id));
        let base_ms = self.state.config.mail_retry_base_ms;
        let give_up_after = time::Duration::days(self.state.config.webhook_disable_after_days);
        db::run(&self.state.pool, move |conn| {
            db::write_transaction(conn, |conn| {
                let now = db::now();
                attempts
                    .into_iter()
                    .try_for_each(|attempt| record(conn, attempt, now, base_ms, give_up_after))
            })
        })
        .await?;
        Ok(handled)
    }

    async fn attempt(&self, delivery: DueDelivery, attempts: i32) -> Attempt {
        let (status, error) = match self.post(&delivery).await {
            Ok(status) if (200..300).contains(&status) => (Some(status), None),
            Ok(status) => (Some(status), Some(format!("the receiver answered HTTP {status}"))),
            Err(error) => (None, Some(error)),
        };
        if let Some(error) = &error {
            tracing::info!(
                delivery_id = delivery.id,
                webhook_id = delivery.webhook_id,
                error,
                "webhook delivery failed"
            );
        }
        Attempt {
            delivery,
            attempts,
            status,
            error,
        }
    }

    /// POSTs one delivery; the receiver's status, or why it was not reached.
    async fn post(&self, delivery: &DueDelivery) -> Result<u16, String> {
        if !delivery.enabled {
            return Err("the webhook is switched off".into());
        }
        let url = Url::parse(&delivery.url).map_err(|e| format!("the URL is not valid: {e}"))?;
        // Names are checked by the client's resolver on connecting; a
        // literal address never reaches it.
        outbound::check(&url, self.state.config.webhooks_allow_private, false)
            .await
            .map_err(|refusal| format!("refused: {refusal}"))?;
        let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let signature = webhook::signature(&delivery.secret, timestamp, &delivery.payload);
        let response = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header(webhook::SIGNATURE_HEADER, signature)
            .body(delivery.payload.clone())
            .send()
            .await
            .map_err(|e| describe(&e))?;
        Ok(response.status().as_u16())
    }
}

/// A reqwest error with its causes ("error sending request: … refused").
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().take(MAX_ERROR_CHARS).collect()
}

fn record(
    conn: &mut db::DbConnection,
    attempt: Attempt,
    now: PrimitiveDateTime,
    base_ms: u64,
    give_up_after: time::Duration,
) -> anyhow::Result<()> {
    let Attempt {
        delivery,
        attempts,
        status,
        error,
    } = attempt;
    // The webhook's row is locked before its delivery's, the order in which
    // deleting a webhook (which cascades to its deliveries) takes them: the
    // other order deadlocks with an admin's DELETE on PostgreSQL.
    let Some(error) = error else {
        stored::mark_healthy(conn, delivery.webhook_id)?;
        stored::set_response_status(conn, delivery.id, status.map(i32::from))?;
        mail_queue::mark_sent(conn, Queue::Webhooks, &[delivery.id], now)?;
        return Ok(());
    };
    if !delivery.enabled {
        stored::set_response_status(conn, delivery.id, status.map(i32::from))?;
        mail_queue::mark_failed(conn, Queue::Webhooks, delivery.id, &error)?;
        return Ok(());
    }
    let Some(failing_since) = stored::mark_failing(conn, delivery.webhook_id, now)? else {
        // Deleted while the POST was out: its deliveries went with it.
        return Ok(());
    };
    stored::set_response_status(conn, delivery.id, status.map(i32::from))?;
    if now - failing_since >= give_up_after {
        let reason = format!(
            "Switched off on {}: every delivery failed for {} days; the last: {error}",
            now.date(),
            give_up_after.whole_days()
        );
        stored::disable(conn, delivery.webhook_id, &reason, now)?;
        mail_queue::mark_failed(conn, Queue::Webhooks, delivery.id, &error)?;
        tracing::warn!(webhook_id = delivery.webhook_id, reason, "webhook switched off");
    } else if now - delivery.created_at >= give_up_after {
        mail_queue::mark_failed(conn, Queue::Webhooks, delivery.id, &format!("given up: {error}"))?;
    } else {
        let retry_at = now + retry_delay(base_ms, attempts);
        mail_queue::mark_retry(conn, Queue::Webhooks, delivery.id, retry_at, &error)?;
    }
    Ok(())
}
