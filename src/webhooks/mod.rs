//! Outbound webhooks: admins register a URL and the events it wants; each
//! event is queued in the transaction that made it happen
//! (`db::webhooks::emit`) and POSTed by `dispatch`, signed with the
//! webhook's secret. Only admins see or change webhooks: a webhook receives
//! members' addresses.

pub mod dispatch;

use url::Url;

use crate::{
    db::{
        self,
        webhooks::{self as stored, DeliveryLogEntry, Webhook, WebhookChanges},
    },
    domain::{InvalidInput, editorial::Actor, webhook::EventSet},
    security::{outbound, token},
    state::AppState,
};

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("Only admins can see and change webhooks.")]
    Forbidden,
    #[error("There is no webhook with this id.")]
    NotFound,
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A webhook to register.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: Url,
    pub events: EventSet,
    pub description: String,
}

/// Changes to a webhook; `None` leaves a field.
#[derive(Debug, Clone, Default)]
pub struct WebhookChange {
    pub url: Option<Url>,
    pub events: Option<EventSet>,
    pub description: Option<String>,
    /// Switching a disabled webhook on clears its reason and failure run.
    pub enabled: Option<bool>,
}

/// The most characters of a description.
pub const MAX_DESCRIPTION_CHARS: usize = 200;

/// Checks a description: one line, at most `MAX_DESCRIPTION_CHARS`.
pub fn parse_description(raw: &str) -> Result<String, InvalidInput> {
    let text = raw.trim();
    if text.chars().count() > MAX_DESCRIPTION_CHARS || text.chars().any(char::is_control) {
        return Err(InvalidInput::new(
            "description",
            "the description is one line of at most 200 characters",
        ));
    }
    Ok(text.to_owned())
}

fn admin_only(actor: Actor) -> Result<(), WebhookError> {
    if actor.role.can_change_settings() {
        Ok(())
    } else {
        Err(WebhookError::Forbidden)
    }
}

/// Refuses a URL on this server's network (unless allowed), resolving its
/// name now; it is checked again on every connection.
async fn check_reachable(state: &AppState, url: &Url) -> Result<(), WebhookError> {
    outbound::check(url, state.config.webhooks_allow_private, true)
        .await
        .map_err(|refusal| {
            InvalidInput::new(
                "url",
                format!(
                    "webhooks cannot be sent there: {refusal} (BROADSHEET_WEBHOOKS_ALLOW_PRIVATE allows it)"
                ),
            )
            .into()
        })
}

/// Registers a webhook; the answer carries its signing secret.
pub async fn create(state: &AppState, actor: Actor, new: NewWebhook) -> Result<Webhook, WebhookError> {
    admin_only(actor)?;
    check_reachable(state, &new.url).await?;
    let secret = token::generate("whsec_");
    let webhook = db::run(&state.pool, move |conn| {
        Ok(stored::create(
            conn,
            new.url.as_str(),
            &new.events,
            &new.description,
            &secret,
            db::now(),
        )?)
    })
    .await?;
    tracing::info!(webhook_id = webhook.id, actor_id = actor.user_id, events = %webhook.events, "webhook registered");
    Ok(webhook)
}

pub async fn list(state: &AppState, actor: Actor) -> Result<Vec<Webhook>, WebhookError> {
    admin_only(actor)?;
    Ok(db::run(&state.pool, |conn| Ok(stored::list(conn)?)).await?)
}

pub async fn find(state: &AppState, actor: Actor, id: i32) -> Result<Webhook, WebhookError> {
    admin_only(actor)?;
    db::run(&state.pool, move |conn| Ok(stored::find(conn, id)?))
        .await?
        .ok_or(WebhookError::NotFound)
}

pub async fn update(
    state: &AppState,
    actor: Actor,
    id: i32,
    change: WebhookChange,
) -> Result<Webhook, WebhookError> {
    admin_only(actor)?;
    if let Some(url) = &change.url {
        check_reachable(state, url).await?;
    }
    let switched_on = change.enabled == Some(true);
    let changes = WebhookChanges {
        url: change.url.map(String::from),
        events: change.events.as_ref().map(EventSet::stored),
        description: change.description,
        enabled: change.enabled,
        disabled_reason: switched_on.then_some(None),
        failing_since: switched_on.then_some(None),
        updated_at: Some(db::now()),
    };
    db::run(&state.pool, move |conn| {
        if stored::update(conn, id, &changes)? == 0 {
            return Ok(None);
        }
        Ok(stored::find(conn, id)?)
    })
    .await?
    .ok_or(WebhookError::NotFound)
}

pub async fn delete(state: &AppState, actor: Actor, id: i32) -> Result<(), WebhookError> {
    admin_only(actor)?;
    match db::run(&state.pool, move |conn| Ok(stored::delete(conn, id)?)).await? {
        0 => Err(WebhookError::NotFound),
        _ => Ok(()),
    }
}

/// The most deliveries one page of the log shows.
pub const MAX_LOG_PAGE: i64 = 100;

/// A webhook's deliveries, newest first.
pub async fn deliveries(
    state: &AppState,
    actor: Actor,
    id: i32,
    before: Option<i32>,
    limit: i64,
) -> Result<Vec<DeliveryLogEntry>, WebhookError> {
    admin_only(actor)?;
    let limit = limit.clamp(1, MAX_LOG_PAGE);
    db::run(&state.pool, move |conn| {
        if stored::find(conn, id)?.is_none() {
            return Ok(None);
        }
        Ok(Some(stored::log(conn, id, before, limit)?))
    })
    .await?
    .ok_or(WebhookError::NotFound)
}
