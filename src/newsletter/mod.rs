//! The newsletter engine: fanning a published article out to one delivery
//! per recipient (in the publishing transaction, once per article), queuing
//! transactional mail, and the worker that sends both.

pub mod copy;
pub mod engagement;
mod worker;

pub use worker::Worker;

use anyhow::Context;

use crate::domain::delivery::DeliveryStatus;
use crate::{
    config::Config,
    db::{
        self, DbConnection,
        articles::Article,
        members,
        newsletters::{self, StoredNewsletter},
        outbox, sends,
    },
    domain::{
        access::{Policy, Standing},
        article::{ArticleKind, EmailSegment},
        newsletters::NewsletterVisibility,
        role::Role,
    },
    mail::compose::Transactional,
};

/// Creates the send and its deliveries for `article` if it is to be emailed
/// and has not been: call inside the transaction that publishes it, so
/// publishing and queuing happen together or not at all.
pub fn fan_out(conn: &mut DbConnection, article: &Article, policy: &Policy) -> anyhow::Result<Option<i32>> {
    let segment = article.email_segment();
    // A page is never emailed, whatever its row says.
    if segment == EmailSegment::None || article.kind() == ArticleKind::Page {
        return Ok(None);
    }
    let now = db::now();
    if article.row.email_at.is_some_and(|at| at > now) {
        // Its own email time: the scheduler sends it then (`email_due`).
        return Ok(None);
    }
    let Some(through) = newsletter_of(conn, article)? else {
        tracing::warn!(
            article_id = article.row.id,
            "no newsletter is running: the post is not emailed"
        );
        return Ok(None);
    };
    let paid_only = through.visibility == NewsletterVisibility::Paid;
    let chosen: Vec<i32>;
    let recipients = if segment == EmailSegment::All && !paid_only {
        sends::Recipients::WholeAudience
    } else {
        let audience: Vec<(i32, Role)> = sends::newsletter_audience(conn, through.id)?;
        let facts = members::load_many(conn, &audience)?;
        chosen = audience
            .iter()
            .filter(|(id, _)| {
                let paying = facts
                    .get(id)
                    .is_some_and(|m| Standing::of(m, now, policy).is_paying());
                let in_segment = segment == EmailSegment::All || paying == (segment == EmailSegment::Paid);
                in_segment && (paying || !paid_only)
            })
            .map(|(id, _)| *id)
            .collect();
        sends::Recipients::Listed(&chosen)
    };
    let created = sends::create(
        conn,
        article.row.id,
        through.id,
        segment.as_str(),
        recipients,
        now,
    )
    .context("queuing the newsletter deliveries")?;
    if let Some((send_id, recipients)) = created {
        tracing::info!(article_id = article.row.id, send_id, newsletter = %through.slug, recipients, %segment, "newsletter queued");
    }
    let send_id = created.map(|(send_id, _)| send_id);
    Ok(send_id)
}

/// The newsletter `article` goes out through: the one it names, or else the
/// publication's first running one.
pub fn newsletter_of(conn: &mut DbConnection, article: &Article) -> anyhow::Result<Option<StoredNewsletter>> {
    let named = match article.row.newsletter_id {
        Some(id) => newsletters::find(conn, id)?,
        None => None,
    };
    Ok(match named {
        Some(newsletter) => Some(newsletter),
        None => newsletters::default_newsletter(conn)?,
    })
}

/// Queues a transactional email under the publication's current name; the
/// worker sends it (and retries it).
pub fn enqueue(
    conn: &mut DbConnection,
    config: &Config,
    to: &str,
    email: &Transactional,
) -> anyhow::Result<()> {
    enqueue_at(conn, config, to, email, None)
}

/// `enqueue`, held back until `not_before` (a gift on the buyer's date).
pub fn enqueue_at(
    conn: &mut DbConnection,
    config: &Config,
    to: &str,
    email: &Transactional,
    not_before: Option<time::PrimitiveDateTime>,
) -> anyhow::Result<()> {
    let site = crate::publication::stored(conn, config)?;
    let rendered = email.render(&site.title)?;
    outbox::enqueue(
        conn,
        rendered.kind,
        to,
        &rendered.subject,
        &rendered.text,
        &rendered.html,
        not_before,
    )
    .context("queuing a transactional email")?;
    Ok(())
}

/// How many confirmed members an email through `newsletter_id` (`None`:
/// the default newsletter) sent now would reach at most.
pub async fn audience_size(pool: &db::Pool, newsletter_id: Option<i32>) -> anyhow::Result<i64> {
    db::run(pool, move |conn| {
        let id = match newsletter_id {
            Some(id) => Some(id),
            None => newsletters::default_newsletter(conn)?.map(|n| n.id),
        };
        Ok(match id {
            Some(id) => sends::audience_size(conn, id)?,
            None => 0,
        })
    })
    .await
}

/// Where a send stands.
#[derive(Debug, Clone)]
pub struct Progress {
    pub send: db::sends::Send,
    pub sent: i64,
    pub failed: i64,
    pub suppressed: i64,
    /// Waiting or being sent right now.
    pub pending: i64,
}

pub async fn progress(pool: &db::Pool, send_id: i32) -> anyhow::Result<Option<Progress>> {
    db::run(pool, move |conn| {
        let Some(send) = sends::find(conn, send_id)? else {
            return Ok(None);
        };
        Ok(Some(Progress::of(conn, send)?))
    })
    .await
}

impl Progress {
    /// How far `send` has got, counted now.
    pub(crate) fn of(conn: &mut DbConnection, send: sends::Send) -> anyhow::Result<Self> {
        let counts = sends::counts(conn, send.id)?;
        let count = |status: DeliveryStatus| counts.get(&status).copied().unwrap_or(0);
        Ok(Self {
            sent: count(DeliveryStatus::Sent),
            failed: count(DeliveryStatus::Failed),
            suppressed: count(DeliveryStatus::Suppressed),
            pending: count(DeliveryStatus::Pending) + count(DeliveryStatus::Sending),
            send,
        })
    }
}

/// Re-queues the failed deliveries of a send; returns how many, or `None`
/// if there is no such send.
pub async fn retry_failed(pool: &db::Pool, send_id: i32) -> anyhow::Result<Option<usize>> {
    db::run(pool, move |conn| {
        if sends::find(conn, send_id)?.is_none() {
            return Ok(None);
        }
        Ok(Some(sends::retry_failed(conn, send_id, db::now())?))
    })
    .await
}

pub async fn send_of_article(pool: &db::Pool, article_id: i32) -> anyhow::Result<Option<i32>> {
    db::run(pool, move |conn| {
        Ok(sends::find_by_article(conn, article_id)?.map(|s| s.id))
    })
    .await
}
