//! The worker: claims due mail in batches, sends with bounded concurrency
//! and an optional rate, and records outcomes as the server answers them,
//! group-committed: whatever answers arrived while the previous write was
//! in flight go to the database in one transaction (one commit per message
//! held the engine to a third of the SMTP ceiling). A sending slot opens its
//! next message's SMTP transaction while its last outcome commits, and
//! completes it only once that commit is done, so a crash can repeat at most
//! one message per slot (`mail_concurrency`). The next batch is claimed
//! and rendered while one sends. Runs inside `serve` and alone as
//! `broadsheet worker`; any number may share one database.

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context;
use futures::{StreamExt, stream::FuturesUnordered};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use lettre::Message;
use time::PrimitiveDateTime;
use tokio::sync::{mpsc, oneshot};

use crate::{
    db::{
        self,
        articles::{self, Article},
        engagement::{self, Moment},
        mail_queue::{self, ClaimCursor, Claimed, Queue},
        members,
        newsletters::{self, StoredNewsletter},
        outbox, sends, suppressions,
    },
    domain::{access::Reader, delivery::retry_delay, role::Role},
    mail::{SendFailure, compose},
    newsletter::copy::{Copies, Recipient},
    state::AppState,
};

/// Rows claimed per round.
const BATCH: i32 = 200;
/// The longest the worker backs off after a 421/451.
const MAX_PAUSE: Duration = Duration::from_secs(300);

pub struct Worker {
    state: Arc<AppState>,
    rate: Option<DefaultDirectRateLimiter>,
    /// After a 421/451: no new claims until then, and the next pause.
    pause: Mutex<(Option<Instant>, Duration)>,
    /// Where this worker's claims of the newsletter queue and the outbox
    /// have got to (see `mail_queue::ClaimCursor`).
    cursors: Mutex<(ClaimCursor, ClaimCursor)>,
}

/// Most outcomes written in one transaction.
const OUTCOMES_PER_COMMIT: usize = 500;

/// What the server said about one message; `committed` is told once it is
/// written (or the write has failed).
struct Outcome {
    row: OutcomeRow,
    committed: oneshot::Sender<()>,
}

/// An outcome as the database records it.
struct OutcomeRow {
    queue: Queue,
    id: i32,
    attempts: i32,
    to: String,
    retry_at: PrimitiveDateTime,
    result: Result<(), SendFailure>,
}

impl OutcomeRow {
    /// Records a group of outcomes: the messages sent (nearly all of them)
    /// in one statement per queue, the rest one by one. A group of sent
    /// messages of one queue, the usual case, is that one statement alone,
    /// atomic by itself; anything more is one transaction, one commit.
    fn record_all(conn: &mut db::DbConnection, rows: Vec<Self>, max_attempts: i32) -> anyhow::Result<()> {
        let (sent, other): (Vec<_>, Vec<_>) = rows.into_iter().partition(|row| row.result.is_ok());
        let sent_by_queue: Vec<(Queue, Vec<i32>)> = [Queue::Deliveries, Queue::Outbox]
            .into_iter()
            .map(|queue| {
                let ids = sent
                    .iter()
                    .filter(|row| row.queue == queue)
                    .map(|row| row.id)
                    .collect();
                (queue, ids)
            })
            .filter(|(_, ids): &(Queue, Vec<i32>)| !ids.is_empty())
            .collect();
        let one_statement = other.is_empty() && sent_by_queue.len() <= 1;
        let write = |conn: &mut db::DbConnection| -> anyhow::Result<()> {
            for (queue, ids) in &sent_by_queue {
                mail_queue::mark_sent(conn, *queue, ids, db::now())?;
            }
            other
                .into_iter()
                .try_for_each(|row| row.record(conn, max_attempts))
        };
        if one_statement {
            write(conn)
        } else {
            db::write_transaction(conn, write)
        }
    }

    fn record(self, conn: &mut db::DbConnection, max_attempts: i32) -> anyhow::Result<()> {
        let (queue, id) = (self.queue, self.id);
        match self.result {
            Ok(()) => mail_queue::mark_sent(conn, queue, &[id], db::now())?,
            Err(SendFailure::Transient(e) | SendFailure::Throttled(e)) if self.attempts < max_attempts => {
                mail_queue::mark_retry(conn, queue, id, self.retry_at, &e)?
            }
            Err(SendFailure::Transient(e) | SendFailure::Throttled(e) | SendFailure::Permanent(e)) => {
                mail_queue::mark_failed(conn, queue, id, &e)?
            }
            Err(SendFailure::RecipientRejected(e)) => {
                suppressions::add(conn, &self.to, "hard_bounce")?;
                if queue == Queue::Deliveries
                    && let Some(user_id) = engagement::recipient_of(conn, id)?
                {
                    engagement::record_first(conn, id, user_id, Moment::Bounced, db::now())?;
                }
                mail_queue::mark_failed(conn, queue, id, &e)?
            }
        };
        Ok(())
    }
}

/// One message ready to go, and where its outcome is recorded.
struct Outgoing {
    queue: Queue,
    id: i32,
    attempts: i32,
    to: String,
    message: Message,
}

impl Worker {
    pub fn new(state: Arc<AppState>) -> Self {
        let rate = NonZeroU32::new(state.config.mail_rate_per_second)
            .map(|n| RateLimiter::direct(Quota::per_second(n)));
        let first_pause = Duration::from_millis(state.config.mail_retry_base_ms);
        Self {
            state,
            rate,
            pause: Mutex::new((None, first_pause)),
            cursors: Mutex::default(),
        }
    }

    /// Sends forever: a round whenever mail is due, otherwise waits for a
    /// wake-up from this process or the poll interval. The next round is
    /// claimed and rendered while one sends, so the SMTP connections never
    /// wait on the database between rounds.
    pub async fn run(self) {
        let poll = Duration::from_millis(self.state.config.worker_poll_ms);
        tracing::info!(transport = %self.state.mailer.describe(), "email worker started");
        let mut ready: Option<Vec<Outgoing>> = None;
        loop {
            if let Some(until) = self.paused_until() {
                if let Some(round) = ready.take() {
                    self.hand_back(round).await;
                }
                tokio::time::sleep_until(until.into()).await;
            }
            let round = match ready.take() {
                Some(round) => Ok(round),
                None => self.claim_round().await,
            };
            match round {
                Ok(round) if round.is_empty() => {
                    if let Err(e) = self.finish_sends().await {
                        tracing::warn!(error = ?e, "finishing sends failed; retrying shortly");
                    }
                    let _ = tokio::time::timeout(poll, self.state.mail_wakeup.wait()).await;
                }
                Ok(round) => {
                    let (sent, next) = tokio::join!(self.send_round(round), self.claim_round());
                    if let Err(e) = sent {
                        tracing::warn!(error = ?e, "finishing sends failed; retrying shortly");
                    }
                    match next {
                        Ok(next) => ready = Some(next),
                        Err(e) => {
                            tracing::warn!(error = ?e, "email worker round failed; retrying shortly");
                            tokio::time::sleep(poll).await;
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = ?e, "email worker round failed; retrying shortly");
                    tokio::time::sleep(poll).await;
                }
            }
        }
    }

    fn paused_until(&self) -> Option<Instant> {
        let pause = self.pause.lock().expect("pause lock");
        pause.0.filter(|until| *until > Instant::now())
    }

    /// One round: claim due rows of both queues, send them, record the
    /// outcomes. Returns how many messages it handled.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        let round = self.claim_round().await?;
        let handled = round.len();
        if handled == 0 {
            self.finish_sends().await?;
        } else {
            self.send_round(round).await?;
        }
        Ok(handled)
    }

    /// Claims due rows of both queues and builds their messages.
    async fn claim_round(&self) -> anyhow::Result<Vec<Outgoing>> {
        let lease = time::Duration::seconds(self.state.config.mail_lease_secs);
        // Claims are not run side by side within a worker (`run` claims the
        // next round while one sends, never two claims at once), so the
        // cursors are copied out and back rather than held across the await.
        let (mut newsletter_cursor, mut outbox_cursor) = *self.cursors.lock().expect("cursor lock");
        let (deliveries, transactional, cursors) = db::run(&self.state.pool, move |conn| {
            let now = db::now();
            let deliveries = mail_queue::claim(
                conn,
                Queue::Deliveries,
                &mut newsletter_cursor,
                now,
                now + lease,
                BATCH,
            )?;
            let transactional =
                mail_queue::claim(conn, Queue::Outbox, &mut outbox_cursor, now, now + lease, BATCH)?;
            Ok((deliveries, transactional, (newsletter_cursor, outbox_cursor)))
        })
        .await
        .context("claiming mail")?;
        *self.cursors.lock().expect("cursor lock") = cursors;
        let mut outgoing = self.prepare_newsletters(deliveries).await?;
        outgoing.extend(self.prepare_transactional(transactional).await?);
        Ok(outgoing)
    }

    /// Sends a round through `mail_concurrency` slots, recording outcomes as
    /// they come, then marks sends with nothing left as finished.
    async fn send_round(&self, outgoing: Vec<Outgoing>) -> anyhow::Result<()> {
        let queue = Mutex::new(outgoing.into_iter());
        let (record, outcomes) = mpsc::unbounded_channel();
        let sending = async {
            let record = record; // dropped when sending ends, which ends recording
            let mut slots: FuturesUnordered<_> = (0..self.state.config.mail_concurrency.max(1))
                .map(|_| self.run_slot(&queue, &record))
                .collect();
            while slots.next().await.is_some() {}
        };
        tokio::join!(sending, self.record_outcomes(outcomes));
        self.finish_sends().await
    }

    async fn finish_sends(&self) -> anyhow::Result<()> {
        db::run(&self.state.pool, |conn| Ok(sends::finish_done(conn, db::now())?)).await?;
        Ok(())
    }

    /// Lets go of a round claimed but not sent (see `mail_queue::release`);
    /// if that fails the rows come back when their lease runs out.
    async fn hand_back(&self, round: Vec<Outgoing>) {
        let ids = |queue| -> Vec<i32> { round.iter().filter(|o| o.queue == queue).map(|o| o.id).collect() };
        let (deliveries, transactional) = (ids(Queue::Deliveries), ids(Queue::Outbox));
        let released = db::run(&self.state.pool, move |conn| {
            db::write_transaction(conn, |conn| {
                mail_queue::release(conn, Queue::Deliveries, &deliveries, db::now())?;
                mail_queue::release(conn, Queue::Outbox, &transactional, db::now())?;
                Ok(())
            })
        })
        .await;
        if let Err(e) = released {
            tracing::warn!(error = ?e, "handing back a claimed round failed; its lease will free it");
        }
    }

    /// One sending slot: takes messages from the round until none is left.
    /// While the previous message's outcome is being committed, the next
    /// one's SMTP transaction is opened (MAIL, RCPT, DATA), and it is
    /// completed (content and final dot, when the server takes it) only once
    /// that commit is done: the round trips overlap the commit, and still at
    /// most one message per slot is ever taken by the server and not on
    /// record, which is all a crash can repeat.
    async fn run_slot(
        &self,
        queue: &Mutex<std::vec::IntoIter<Outgoing>>,
        record: &mpsc::UnboundedSender<Outcome>,
    ) {
        let mut previous_commit: Option<oneshot::Receiver<()>> = None;
        loop {
            let Some(item) = queue.lock().expect("round lock").next() else {
                break;
            };
            if let Some(rate) = &self.rate {
                rate.until_ready().await;
            }
            let staged = self.state.mailer.stage(item.message).await;
            if let Some(commit) = previous_commit.take() {
                let _ = commit.await;
            }
            let result = match staged {
                Ok(staged) => staged.finish().await,
                Err(failure) => Err(failure),
            };
            if let Err(SendFailure::Throttled(_)) = &result {
                self.slow_down();
            } else if result.is_ok() {
                self.pause.lock().expect("pause lock").1 =
                    Duration::from_millis(self.state.config.mail_retry_base_ms);
            }
            let (committed, commit) = oneshot::channel();
            // The receiver lives as long as this round: sending cannot fail.
            let _ = record.send(Outcome {
                row: OutcomeRow {
                    queue: item.queue,
                    id: item.id,
                    attempts: item.attempts,
                    to: item.to,
                    retry_at: self.retry_at(item.attempts),
                    result,
                },
                committed,
            });
            previous_commit = Some(commit);
        }
        if let Some(commit) = previous_commit {
            let _ = commit.await;
        }
    }

    /// Writes outcomes as they come, each write taking all that queued up
    /// during the one before. If a write fails, those rows keep their lease
    /// and are sent again when it runs out: a duplicate beats a loss.
    async fn record_outcomes(&self, mut outcomes: mpsc::UnboundedReceiver<Outcome>) {
        let max_attempts = self.state.config.mail_max_attempts;
        // One connection for the round's writes: no checkout before each.
        let mut db = db::Held::new(&self.state.pool);
        let mut batch = Vec::new();
        while outcomes.recv_many(&mut batch, OUTCOMES_PER_COMMIT).await > 0 {
            let (written, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut batch)
                .into_iter()
                .map(|outcome| (outcome.row, outcome.committed))
                .unzip();
            let count = written.len();
            let recorded = db
                .run(move |conn| OutcomeRow::record_all(conn, written, max_attempts))
                .await;
            if let Err(e) = recorded {
                tracing::error!(error = ?e, count, "recording delivery outcomes failed");
            }
            for committed in waiting {
                let _ = committed.send(());
            }
        }
    }

    /// After a 421/451: hold new claims for a while, longer each time.
    fn slow_down(&self) {
        let mut pause = self.pause.lock().expect("pause lock");
        let wait = pause.1;
        pause.0 = Some(Instant::now() + wait);
        pause.1 = (wait * 2).min(MAX_PAUSE);
        tracing::warn!(
            pause_ms = wait.as_millis() as u64,
            "the mail server asked us to slow down"
        );
    }

    /// When a message that failed `attempts` times is tried again.
    fn retry_at(&self, attempts: i32) -> PrimitiveDateTime {
        db::now() + retry_delay(self.state.config.mail_retry_base_ms, attempts)
    }

    async fn prepare_newsletters(&self, claimed: Vec<Claimed>) -> anyhow::Result<Vec<Outgoing>> {
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let attempts: HashMap<i32, i32> = claimed.iter().map(|c| (c.id, c.attempts)).collect();
        let ids: Vec<i32> = claimed.iter().map(|c| c.id).collect();
        let (targets, articles, facts, suppressed) = db::run(&self.state.pool, move |conn| {
            let targets = sends::targets(conn, &ids)?;
            let mut articles: HashMap<i32, (Article, StoredNewsletter)> = HashMap::new();
            for send_id in targets.iter().map(|t| t.send_id) {
                if articles.contains_key(&send_id) {
                    continue;
                }
                let send = sends::find(conn, send_id)?.context("a delivery without its send")?;
                let article = articles::find(conn, send.article_id)?.context("a send without its article")?;
                let through =
                    newsletters::find(conn, send.newsletter_id)?.context("a send without its newsletter")?;
                articles.insert(send_id, (article, through));
            }
            let users: Vec<(i32, Role)> = targets.iter().map(|t| (t.user_id, t.role)).collect();
            let facts = members::load_many(conn, &users)?;
            let emails: Vec<String> = targets.iter().map(|t| t.email.clone()).collect();
            let suppressed = suppressions::among(conn, &emails)?;
            Ok((targets, articles, facts, suppressed))
        })
        .await?;
        let site = crate::publication::current(&self.state).await;
        let state = &self.state;
        let mut copies = Copies::new(&state.config, &state.signing_key, &state.policy, &site);
        let mut outgoing = Vec::with_capacity(targets.len());
        let mut skipped = Vec::new();
        for target in targets {
            if !target.subscribed || suppressed.contains(&target.email) {
                skipped.push(target.id);
                continue;
            }
            let (Some((article, through)), Some(member)) =
                (articles.get(&target.send_id), facts.get(&target.user_id))
            else {
                continue;
            };
            let reader = Reader::Member(member.clone());
            let recipient = Recipient {
                user_id: target.user_id,
                delivery_id: Some(target.id),
                email: &target.email,
                reader: &reader,
            };
            // One Message-ID per delivery: if a crash makes us send a copy
            // again, receivers can tell it is the same message.
            let message_id = format!(
                "<delivery-{}.{}@{}>",
                target.send_id,
                target.id,
                state.config.public_host()
            );
            match copies.message(article, through, &recipient, message_id) {
                Ok(message) => outgoing.push(Outgoing {
                    queue: Queue::Deliveries,
                    id: target.id,
                    attempts: attempts.get(&target.id).copied().unwrap_or(1),
                    to: target.email,
                    message,
                }),
                Err(e) => {
                    tracing::error!(error = ?e, delivery_id = target.id, "building a newsletter message failed");
                    let id = target.id;
                    db::run(&self.state.pool, move |conn| {
                        Ok(mail_queue::mark_failed(
                            conn,
                            Queue::Deliveries,
                            id,
                            &format!("{e:#}"),
                        )?)
                    })
                    .await?;
                }
            }
        }
        // The tracked links of each send are on record before a message that
        // carries them goes out, so no click can find its link missing.
        let links: Vec<(i32, Vec<_>)> = copies
            .tracked_links()
            .into_iter()
            .flat_map(|(article_id, links)| {
                articles
                    .iter()
                    .filter(move |(_, (article, _))| article.row.id == article_id)
                    .map(move |(send_id, _)| (*send_id, links.clone()))
            })
            .filter(|(_, links)| !links.is_empty())
            .collect();
        if !skipped.is_empty() || !links.is_empty() {
            db::run(&self.state.pool, move |conn| {
                for id in skipped {
                    mail_queue::mark_suppressed(conn, Queue::Deliveries, id)?;
                }
                for (send_id, links) in &links {
                    engagement::record_links(conn, *send_id, links)?;
                }
                Ok(())
            })
            .await?;
        }
        Ok(outgoing)
    }

    async fn prepare_transactional(&self, claimed: Vec<Claimed>) -> anyhow::Result<Vec<Outgoing>> {
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let attempts: HashMap<i32, i32> = claimed.iter().map(|c| (c.id, c.attempts)).collect();
        let ids: Vec<i32> = claimed.iter().map(|c| c.id).collect();
        let messages = db::run(&self.state.pool, move |conn| Ok(outbox::load(conn, &ids)?)).await?;
        let config = &self.state.config;
        let site = crate::publication::current(&self.state).await;
        let mut outgoing = Vec::with_capacity(messages.len());
        for stored in messages {
            let message_id = format!("<{}-{}@{}>", stored.kind, stored.id, config.public_host());
            let message = compose::prepared(
                config,
                &site.settings.sender_name,
                &stored.to_email,
                message_id,
                &stored.subject,
                stored.text_body,
                stored.html_body,
            )?;
            outgoing.push(Outgoing {
                queue: Queue::Outbox,
                id: stored.id,
                attempts: attempts.get(&stored.id).copied().unwrap_or(1),
                to: stored.to_email,
                message,
            });
        }
        Ok(outgoing)
    }
}
