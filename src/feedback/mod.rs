//! What mail providers report after a message left: bounces and spam
//! complaints arriving by webhook (`POST /webhooks/email/{provider}`). Each
//! payload is authenticated and parsed by its provider's module into
//! `ProviderEvent`s; `record` keeps each once and acts on the new ones: a
//! hard bounce or a complaint suppresses the address (the next send skips
//! it) and marks the delivery, a run of soft bounces suppresses it at
//! `BROADSHEET_SOFT_BOUNCE_LIMIT`, and each shows on the member's timeline.

pub mod mailgun;
pub mod postmark;
pub mod sendgrid;
pub mod ses;
pub mod sns;

use crate::{
    db::{
        self, email_events,
        engagement::{self, Moment},
        member_events, suppressions,
    },
    domain::{
        feedback::{FeedbackKind, ProviderEvent},
        member::MemberEventKind,
    },
};

/// How far a signed timestamp may be from now (Mailgun, SendGrid; SNS
/// allows older, see `sns::MAX_AGE_SECS`).
pub const TOLERANCE_SECS: i64 = 15 * 60;

/// What the feedback webhooks need beyond the settings, made once at start.
#[derive(Clone)]
pub struct FeedbackSetup {
    pub sendgrid_key: Option<sendgrid::VerificationKey>,
    /// Made only when `SES_SNS_TOPIC_ARNS` lists a topic.
    pub sns: Option<sns::Sns>,
}

impl FeedbackSetup {
    pub fn from_config(config: &crate::config::Config) -> anyhow::Result<Self> {
        Ok(Self {
            sendgrid_key: config
                .sendgrid_webhook_public_key
                .as_deref()
                .map(sendgrid::VerificationKey::parse)
                .transpose()?,
            sns: (!config.ses_sns_topic_arns.is_empty())
                .then(|| sns::Sns::new(config.aws_endpoint_url_sns.clone()))
                .transpose()?,
        })
    }
}

/// Why a webhook was not taken.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The provider's secret is not configured here: nothing is accepted.
    #[error("{0} webhooks are not configured on this server")]
    NotConfigured(&'static str),
    /// A missing or wrong signature, token or timestamp.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// Authentic, but not a payload we can read.
    #[error("the payload could not be read: {0}")]
    Unreadable(String),
    /// An authentic SNS subscription whose confirmation SNS did not take.
    #[error("{0}")]
    Unconfirmed(String),
}

/// Keeps each event once (a provider retrying changes nothing) and acts on
/// the new ones; returns how many were new.
pub async fn record(
    pool: &db::Pool,
    soft_bounce_limit: u32,
    events: Vec<ProviderEvent>,
) -> anyhow::Result<usize> {
    let soft_limit = i64::from(soft_bounce_limit);
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let mut new = 0;
            for event in &events {
                if apply(conn, event, soft_limit)? {
                    new += 1;
                }
            }
            anyhow::Ok(new)
        })
    })
    .await
}

/// One event: kept, and acted on if it is new.
fn apply(conn: &mut db::DbConnection, event: &ProviderEvent, soft_limit: i64) -> anyhow::Result<bool> {
    let now = db::now();
    let matched = email_events::match_delivery(conn, event.delivery_id, &event.email)?;
    let user_id = match matched {
        Some((_, user_id)) => Some(user_id),
        None => email_events::member_with_email(conn, &event.email)?,
    };
    let delivery_id = matched.map(|(id, _)| id);
    if !email_events::record(conn, event, delivery_id, user_id, now)? {
        return Ok(false);
    }
    let (suppress, moment) = match event.kind {
        FeedbackKind::HardBounce => (Some("hard_bounce"), Some(Moment::Bounced)),
        FeedbackKind::Complaint => (Some("complaint"), Some(Moment::Complained)),
        FeedbackKind::SoftBounce => {
            let run = email_events::soft_bounces_in_a_row(conn, &event.email)?;
            ((run >= soft_limit).then_some("soft_bounces"), None)
        }
        FeedbackKind::Delivered => (None, None),
    };
    if let Some(reason) = suppress {
        suppressions::add(conn, &event.email, reason)?;
    }
    if let (Some(moment), Some((delivery_id, user_id))) = (moment, matched) {
        engagement::record_first(conn, delivery_id, user_id, moment, event.occurred_at)?;
    }
    if let Some(user_id) = user_id
        && event.kind != FeedbackKind::Delivered
    {
        let what = match event.kind {
            FeedbackKind::HardBounce => "Hard bounce",
            FeedbackKind::SoftBounce => "Soft bounce",
            FeedbackKind::Complaint => "Marked an email as spam",
            FeedbackKind::Delivered => "Delivered",
        };
        let stopped = if suppress.is_some() {
            "; emails stopped"
        } else {
            ""
        };
        let detail = format!("{what} reported by {}{stopped}: {}", event.provider, event.detail);
        member_events::record(conn, user_id, MemberEventKind::EmailFeedback, &detail, None, now)?;
    }
    tracing::info!(
        provider = %event.provider,
        kind = %event.kind,
        delivery_id,
        suppressed = suppress.is_some(),
        "mail provider feedback"
    );
    Ok(true)
}
