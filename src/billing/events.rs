//! Applying Stripe events. Each event is applied in one transaction with the
//! row that records it, so a redelivery changes nothing and a failure leaves
//! nothing half done (Stripe retries it). Subscription events older than
//! what we stored are ignored, so out-of-order delivery cannot roll a
//! subscription back.

use anyhow::{Context, bail};
use secrecy::ExposeSecret;
use stripe_shared::{Charge, CheckoutSession, CheckoutSessionMode, Dispute, Invoice, Subscription};
use stripe_webhook::{Event, EventObject, Webhook};

use crate::accounts::welcome::{self, Welcome};
use crate::stripe::{GIFT_METADATA_KEY, TRAIL_METADATA_KEY, client::snapshot, from_unix, signature};
use crate::{
    config::OnDispute,
    db::{self, DbConnection, billing},
    domain::{
        attribution::{AttributionKind, Trail},
        subscription::SubscriptionStatus,
    },
    gift_subscriptions::{self, PaymentNews},
    mail::compose::Transactional,
    metrics::WebhookOutcome,
    newsletter,
    security::signed::SigningKey,
    state::AppState,
};

/// What became of a webhook delivery.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// Already processed: nothing done.
    Duplicate,
    /// A type we do not handle, or an object that is not ours.
    Ignored,
    /// Ours, but not to be trusted: recorded with the reason, nothing done.
    Refused(String),
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("billing is not configured")]
    NotConfigured,
    #[error("{0}")]
    BadSignature(#[from] signature::SignatureError),
    #[error("the event is not valid JSON: {0}")]
    Malformed(String),
    /// Answer 500: Stripe will deliver it again.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// Verifies and applies one delivery of `POST /stripe/webhook`.
pub async fn receive(
    state: &AppState,
    signature_header: Option<&str>,
    payload: &[u8],
) -> Result<Outcome, WebhookError> {
    let mut event_type = None;
    let result = verify_and_apply(state, signature_header, payload, &mut event_type).await;
    let outcome = match &result {
        Ok(Outcome::Applied) => WebhookOutcome::Processed,
        Ok(Outcome::Duplicate) => WebhookOutcome::Duplicate,
        Ok(Outcome::Ignored) => WebhookOutcome::Ignored,
        Ok(Outcome::Refused(_)) => WebhookOutcome::Refused,
        Err(WebhookError::BadSignature(_)) => WebhookOutcome::BadSignature,
        Err(WebhookError::Malformed(_)) => WebhookOutcome::Malformed,
        Err(WebhookError::Failed(_)) => WebhookOutcome::Failed,
        Err(WebhookError::NotConfigured) => return result,
    };
    state.metrics.record_webhook(event_type.as_deref(), outcome);
    result
}

/// Checks the signature on the raw bytes, then reads the event: nothing is
/// parsed before the signature holds. Pure (fuzzed in `fuzz/`).
pub fn read_event(
    signature_header: Option<&str>,
    payload: &[u8],
    secrets: &[&str],
    now: i64,
) -> Result<Event, WebhookError> {
    signature::verify(signature_header, payload, secrets, now)?;
    let text = std::str::from_utf8(payload).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    // async-stripe's own check looks at only the last v1 value, so it
    // parses here without one.
    Webhook::insecure(text).map_err(|e| WebhookError::Malformed(e.to_string()))
}

/// `receive` without the bookkeeping; `event_type` is set once the
/// signature checked out and the event was read.
async fn verify_and_apply(
    state: &AppState,
    signature_header: Option<&str>,
    payload: &[u8],
    event_type_seen: &mut Option<String>,
) -> Result<Outcome, WebhookError> {
    let (Some(setup), Some(secrets)) = (&state.billing, &state.config.stripe_webhook_secret) else {
        return Err(WebhookError::NotConfigured);
    };
    let secrets: Vec<&str> = secrets
        .expose_secret()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let event = read_event(signature_header, payload, &secrets, now)?;
    let event_id = event.id.to_string();
    let event_type = event.type_.to_string();
    *event_type_seen = Some(event_type.clone());
    tracing::info!(%event_id, %event_type, "stripe event");
    // A dispute names its charge, not the customer: ask Stripe whose charge
    // it was before the transaction (a failure answers 500: Stripe retries).
    let disputed_customer = match &event.data.object {
        EventObject::ChargeDisputeCreated(dispute)
        | EventObject::ChargeDisputeUpdated(dispute)
        | EventObject::ChargeDisputeClosed(dispute) => match &dispute.charge {
            stripe_types::Expandable::Object(charge) => charge.customer.as_ref().map(|c| c.id().to_string()),
            stripe_types::Expandable::Id(id) => setup
                .client
                .charge_customer(id.as_str())
                .await
                .map_err(WebhookError::Failed)?,
        },
        _ => None,
    };

    let config = state.config.clone();
    let key = state.signing_key.clone();
    let (id, kind) = (event_id.clone(), event_type.clone());
    let applied = db::run(&state.pool, move |conn| {
        Ok(db::write_transaction(conn, |conn| -> anyhow::Result<Outcome> {
            let now = db::now();
            if billing::begin_event(conn, &id, &kind, now)? {
                return Ok(Outcome::Duplicate);
            }
            let outcome = apply(conn, &event, &config, &key, disputed_customer.as_deref())?;
            let refusal = match &outcome {
                Outcome::Refused(reason) => Some(format!("refused: {reason}")),
                _ => None,
            };
            billing::finish_event(conn, &id, now, refusal.as_deref())?;
            Ok(outcome)
        }))
    })
    .await?;
    match applied {
        Ok(outcome) => {
            state.mail_wakeup.ring();
            Ok(outcome)
        }
        Err(e) => {
            tracing::warn!(error = ?e, %event_id, %event_type, "a Stripe event failed; Stripe will retry it");
            let message = format!("{e:#}");
            let recorded = db::run(&state.pool, move |conn| {
                Ok(billing::fail_event(
                    conn,
                    &event_id,
                    &event_type,
                    &message,
                    db::now(),
                )?)
            })
            .await;
            if let Err(record_error) = recorded {
                tracing::error!(error = ?record_error, "recording a failed Stripe event");
            }
            Err(WebhookError::Failed(e))
        }
    }
}

/// `disputed_customer`: for a dispute event, whose charge it disputes.
fn apply(
    conn: &mut DbConnection,
    event: &Event,
    config: &crate::config::Config,
    key: &SigningKey,
    disputed_customer: Option<&str>,
) -> anyhow::Result<Outcome> {
    let event_time = from_unix(event.created).context("an event time out of range")?;
    match &event.data.object {
        EventObject::CheckoutSessionCompleted(session) => match gift_of(session) {
            Some(gift_id) => gift_paid(conn, config, key, gift_id, session),
            None => checkout_completed(conn, session, config),
        },
        EventObject::CustomerSubscriptionCreated(sub) | EventObject::CustomerSubscriptionUpdated(sub) => {
            subscription_changed(conn, sub, event_time, None)
        }
        // A deleted subscription is over, whatever status the object shows.
        EventObject::CustomerSubscriptionDeleted(sub) => {
            subscription_changed(conn, sub, event_time, Some(SubscriptionStatus::Canceled))
        }
        EventObject::InvoicePaymentFailed(invoice) => payment_failed(conn, invoice, config),
        // Renewals arrive as `customer.subscription.updated` too; nothing
        // more to do for a paid invoice.
        EventObject::InvoicePaid(_) => Ok(Outcome::Applied),
        EventObject::ChargeRefunded(charge) => charge_refunded(conn, charge, event_time),
        EventObject::ChargeDisputeCreated(dispute)
        | EventObject::ChargeDisputeUpdated(dispute)
        | EventObject::ChargeDisputeClosed(dispute) => {
            dispute_changed(conn, dispute, disputed_customer, config.on_dispute, event_time)
        }
        _ => Ok(Outcome::Ignored),
    }
}

/// Welcomes a new subscriber. The session must be one we opened: a
/// subscription Checkout for the customer we created for this member (by
/// `client_reference_id`, our user id, never by email) before sending them
/// there. Anything else is refused: a completed Checkout must never move a
/// member's billing to another customer.
fn checkout_completed(
    conn: &mut DbConnection,
    session: &CheckoutSession,
    config: &crate::config::Config,
) -> anyhow::Result<Outcome> {
    let Some(user_id) = session
        .client_reference_id
        .as_deref()
        .and_then(|id| id.parse::<i32>().ok())
    else {
        return Ok(Outcome::Ignored); // not a session we created
    };
    if session.mode != CheckoutSessionMode::Subscription {
        return Ok(refuse(user_id, "a Checkout that is not a subscription"));
    }
    let customer = session
        .customer
        .as_ref()
        .context("a completed session without a customer")?;
    let Some(user) = db::users::find(conn, user_id)? else {
        // The account was deleted: retrying cannot help.
        tracing::warn!(user_id, "a completed checkout for a user who no longer exists");
        return Ok(Outcome::Ignored);
    };
    if user.stripe_customer_id.as_deref() != Some(customer.id().as_str()) {
        return Ok(refuse(
            user_id,
            "its customer is not the one we created for this member",
        ));
    }
    welcome::queue_once(conn, config, user.id, &user.email, Welcome::Paid)?;
    // What brought the subscriber, as the subscribe or offer page saw it.
    let trail = session
        .metadata
        .as_ref()
        .and_then(|metadata| metadata.get(TRAIL_METADATA_KEY))
        .map(|encoded| Trail::decode(encoded))
        .unwrap_or_default();
    let known = db::attributions::Known::default();
    db::attributions::record(conn, user.id, AttributionKind::Paid, &trail, known, db::now())?;
    Ok(Outcome::Applied)
}

/// The gift a Checkout Session paid for, by the metadata we set on it.
fn gift_of(session: &CheckoutSession) -> Option<i32> {
    session.metadata.as_ref()?.get(GIFT_METADATA_KEY)?.parse().ok()
}

fn gift_paid(
    conn: &mut DbConnection,
    config: &crate::config::Config,
    key: &SigningKey,
    gift_id: i32,
    session: &CheckoutSession,
) -> anyhow::Result<Outcome> {
    if session.mode != CheckoutSessionMode::Payment {
        return Ok(Outcome::Refused(
            "a gift paid for by a Checkout that is not a payment".to_owned(),
        ));
    }
    Ok(
        match gift_subscriptions::paid(conn, config, key, gift_id, session)? {
            PaymentNews::Paid => Outcome::Applied,
            PaymentNews::NothingToDo => Outcome::Ignored,
            PaymentNews::Refused(reason) => {
                tracing::warn!(gift_id, reason, "refused a completed gift Checkout");
                Outcome::Refused(reason.to_owned())
            }
        },
    )
}

fn refuse(user_id: i32, reason: &str) -> Outcome {
    tracing::warn!(user_id, reason, "refused a completed Checkout");
    Outcome::Refused(reason.to_owned())
}

fn subscription_changed(
    conn: &mut DbConnection,
    subscription: &Subscription,
    event_time: time::PrimitiveDateTime,
    status_override: Option<SubscriptionStatus>,
) -> anyhow::Result<Outcome> {
    let mut snapshot = snapshot(subscription)?;
    if let Some(status) = status_override {
        snapshot.status = status;
    }
    let stored = billing::subscription(conn, &snapshot.id)?;
    // The catalogue decides only whether a new subscription is ours (another
    // product on a shared Stripe account never makes a subscriber here); one
    // we store follows its events whatever its price now.
    if stored.is_none() && !db::tiers::in_catalogue(conn, &snapshot.price_id)? {
        return Ok(Outcome::Ignored);
    }
    if let Some(stored) = &stored
        && stored.stripe_updated_at > event_time
    {
        return Ok(Outcome::Ignored); // an older event arriving late
    }
    let user_id = match (billing::user_by_customer(conn, &snapshot.customer_id)?, &stored) {
        (Some(user), _) => user.id,
        (None, Some(stored)) => stored.user_id,
        // We create the customer before Checkout, so this is a session whose
        // completion we have not seen yet: fail, and Stripe's retry finds it.
        (None, None) => bail!("no user has Stripe customer {} yet", snapshot.customer_id),
    };
    store(conn, user_id, &snapshot, stored.as_ref(), event_time)?;
    Ok(Outcome::Applied)
}

pub(crate) fn store(
    conn: &mut DbConnection,
    user_id: i32,
    snapshot: &crate::stripe::SubscriptionSnapshot,
    stored: Option<&billing::StoredSubscription>,
    as_of: time::PrimitiveDateTime,
) -> diesel::QueryResult<usize> {
    billing::store_subscription(
        conn,
        &snapshot.id,
        &billing::SubscriptionChanges {
            user_id,
            status: snapshot.status.as_str(),
            price_id: &snapshot.price_id,
            current_period_end: snapshot.current_period_end,
            cancel_at_period_end: snapshot.cancel_at_period_end,
            stripe_updated_at: as_of,
            past_due_since: past_due_since(snapshot, stored, as_of),
        },
    )
}

/// When the subscription became `past_due`, from the earliest evidence we
/// have: what we stored before, this news (an event's time, or now for a
/// sync), and the start of the period whose renewal failed (Stripe charges
/// the card right after it invoices, at the period start).
fn past_due_since(
    snapshot: &crate::stripe::SubscriptionSnapshot,
    stored: Option<&billing::StoredSubscription>,
    as_of: time::PrimitiveDateTime,
) -> Option<time::PrimitiveDateTime> {
    if snapshot.status != SubscriptionStatus::PastDue {
        return None;
    }
    let known = stored
        .filter(|s| s.status == SubscriptionStatus::PastDue.as_str())
        .and_then(|s| s.past_due_since);
    [known, Some(as_of), snapshot.current_period_start]
        .into_iter()
        .flatten()
        .min()
}

/// Records a refund (whole or partial) in the member's billing history.
/// What it does to access is Stripe's to say: a publisher who refunds and
/// cancels sends `customer.subscription.deleted` too.
fn charge_refunded(
    conn: &mut DbConnection,
    charge: &Charge,
    event_time: time::PrimitiveDateTime,
) -> anyhow::Result<Outcome> {
    // A gift is bought without a customer; only a full refund takes it back.
    if let Some(payment_intent) = &charge.payment_intent
        && charge.refunded
        && gift_subscriptions::refunded(conn, payment_intent.id().as_str())?
    {
        return Ok(Outcome::Applied);
    }
    let Some(customer) = &charge.customer else {
        return Ok(Outcome::Ignored);
    };
    let Some(user) = billing::user_by_customer(conn, customer.id().as_str())? else {
        return Ok(Outcome::Ignored);
    };
    let id = charge.id.to_string();
    let currency = charge.currency.to_string();
    billing::record_incident(
        conn,
        &billing::IncidentNews {
            user_id: user.id,
            kind: "refund",
            stripe_id: &id,
            charge_id: &id,
            amount: charge.amount_refunded,
            currency: &currency,
            status: if charge.refunded {
                "refunded"
            } else {
                "partially_refunded"
            },
            suspends_access: false,
        },
        event_time,
    )?;
    Ok(Outcome::Applied)
}

/// Records a dispute's news; under `on_dispute = suspend` an unresolved or
/// lost dispute suspends the member's paid access, and winning it (or an
/// inquiry closed without a chargeback) restores it.
fn dispute_changed(
    conn: &mut DbConnection,
    dispute: &Dispute,
    customer: Option<&str>,
    policy: OnDispute,
    event_time: time::PrimitiveDateTime,
) -> anyhow::Result<Outcome> {
    let Some(customer) = customer else {
        return Ok(Outcome::Ignored);
    };
    let Some(user) = billing::user_by_customer(conn, customer)? else {
        return Ok(Outcome::Ignored);
    };
    let status = dispute.status.as_str();
    let settled_for_us = matches!(status, "won" | "warning_closed" | "prevented");
    let (id, charge_id, currency) = (
        dispute.id.to_string(),
        dispute.charge.id().to_string(),
        dispute.currency.to_string(),
    );
    billing::record_incident(
        conn,
        &billing::IncidentNews {
            user_id: user.id,
            kind: "dispute",
            stripe_id: &id,
            charge_id: &charge_id,
            amount: dispute.amount,
            currency: &currency,
            status,
            suspends_access: policy == OnDispute::Suspend && !settled_for_us,
        },
        event_time,
    )?;
    tracing::info!(user_id = user.id, dispute = %id, status, "dispute recorded");
    Ok(Outcome::Applied)
}

/// Queues the "update your card" email for the customer's user.
fn payment_failed(
    conn: &mut DbConnection,
    invoice: &Invoice,
    config: &crate::config::Config,
) -> anyhow::Result<Outcome> {
    let Some(customer) = &invoice.customer else {
        return Ok(Outcome::Ignored);
    };
    let Some(user) = billing::user_by_customer(conn, customer.id().as_str())? else {
        return Ok(Outcome::Ignored);
    };
    newsletter::enqueue(
        conn,
        config,
        &user.email,
        &Transactional::PaymentFailed {
            url: config.url_for("/account"),
        },
    )?;
    Ok(Outcome::Applied)
}
