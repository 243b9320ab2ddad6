//! Outbound webhooks and their delivery queue (`webhook_deliveries`, sent
//! through `mail_queue`'s life cycle). `emit` is called inside the
//! transaction that made the event happen, so an event is queued exactly
//! when its change commits.

use diesel::prelude::*;
use rand::RngExt;
use time::PrimitiveDateTime;

use crate::db::{
    DbConnection,
    schema::{users, webhook_deliveries, webhooks},
};
use crate::domain::{
    delivery::DeliveryStatus,
    role::Role,
    webhook::{self, EventSet, WebhookEvent},
};
use crate::per_backend;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
pub struct Webhook {
    pub id: i32,
    pub url: String,
    pub events: String,
    pub description: String,
    pub secret: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<PrimitiveDateTime>,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
}

impl Webhook {
    pub fn events(&self) -> EventSet {
        EventSet::from_stored(&self.events)
    }
}

pub fn create(
    conn: &mut DbConnection,
    url: &str,
    events: &EventSet,
    description: &str,
    secret: &str,
    now: PrimitiveDateTime,
) -> QueryResult<Webhook> {
    let values = (
        webhooks::url.eq(url),
        webhooks::events.eq(events.stored()),
        webhooks::description.eq(description),
        webhooks::secret.eq(secret),
        webhooks::enabled.eq(true),
        webhooks::created_at.eq(now),
        webhooks::updated_at.eq(now),
    );
    per_backend!(conn, |c| diesel::insert_into(webhooks::table)
        .values(values)
        .returning(Webhook::as_returning())
        .get_result(c))
}

pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<Webhook>> {
    webhooks::table
        .order(webhooks::id)
        .select(Webhook::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConnection, id: i32) -> QueryResult<Option<Webhook>> {
    webhooks::table
        .find(id)
        .select(Webhook::as_select())
        .first(conn)
        .optional()
}

/// What a PATCH changes; `None` leaves a field.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = webhooks)]
pub struct WebhookChanges {
    pub url: Option<String>,
    pub events: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub disabled_reason: Option<Option<String>>,
    pub failing_since: Option<Option<PrimitiveDateTime>>,
    pub updated_at: Option<PrimitiveDateTime>,
}

pub fn update(conn: &mut DbConnection, id: i32, changes: &WebhookChanges) -> QueryResult<usize> {
    diesel::update(webhooks::table.find(id))
        .set(changes)
        .execute(conn)
}

pub fn delete(conn: &mut DbConnection, id: i32) -> QueryResult<usize> {
    diesel::delete(webhooks::table.find(id)).execute(conn)
}

/// A new event id: one per event, shared by every webhook that gets it.
fn new_event_id() -> String {
    let bytes: [u8; 12] = rand::rng().random();
    format!("evt_{}", hex::encode(bytes))
}

/// Queues `event` for every enabled webhook that wants it, with `data`
/// made only if one does (one small SELECT when none does). Returns how
/// many deliveries were queued.
pub fn emit(
    conn: &mut DbConnection,
    event: WebhookEvent,
    member_id: Option<i32>,
    data: impl FnOnce(&mut DbConnection) -> QueryResult<Option<serde_json::Value>>,
) -> QueryResult<usize> {
    // Names are fixed and none holds another, so a substring match on the
    // stored list is exact.
    let filter = format!("%{event}%");
    let targets: Vec<i32> = webhooks::table
        .filter(webhooks::enabled.eq(true))
        .filter(webhooks::events.like(&filter))
        .select(webhooks::id)
        .load(conn)?;
    if targets.is_empty() {
        return Ok(0);
    }
    let Some(data) = data(conn)? else {
        return Ok(0);
    };
    let now = super::now();
    let event_id = new_event_id();
    let payload = webhook::envelope(&event_id, event, now, data);
    let rows: Vec<_> = targets
        .into_iter()
        .map(|webhook_id| {
            (
                webhook_deliveries::webhook_id.eq(webhook_id),
                webhook_deliveries::event_id.eq(event_id.clone()),
                webhook_deliveries::event.eq(event.as_str()),
                webhook_deliveries::payload.eq(payload.clone()),
                webhook_deliveries::member_id.eq(member_id),
                webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
                webhook_deliveries::next_attempt_at.eq(now),
                webhook_deliveries::created_at.eq(now),
            )
        })
        .collect();
    per_backend!(conn, |c| diesel::insert_into(webhook_deliveries::table)
        .values(&rows)
        .execute(c))
}

/// What events say about a member: never more than these fields.
#[derive(Queryable)]
struct MemberFields {
    id: i32,
    email: String,
    name: Option<String>,
    role: String,
    email_verified_at: Option<PrimitiveDateTime>,
    created_at: PrimitiveDateTime,
}

/// A member as events show them (`None` for staff or an erased account).
pub fn member_data(conn: &mut DbConnection, user_id: i32) -> QueryResult<Option<serde_json::Value>> {
    let member: Option<MemberFields> = users::table
        .find(user_id)
        .filter(users::deleted_at.is_null())
        .select((
            users::id,
            users::email,
            users::name,
            users::role,
            users::email_verified_at,
            users::created_at,
        ))
        .first(conn)
        .optional()?;
    Ok(member.filter(|m| m.role == Role::Reader.as_str()).map(|m| {
        serde_json::json!({
            "id": m.id,
            "email": m.email,
            "name": m.name,
            "email_verified": m.email_verified_at.is_some(),
            "created_at": m.created_at.assume_utc().unix_timestamp(),
        })
    }))
}

/// A claimed delivery with what sending it needs.
#[derive(Debug, Clone, Queryable)]
pub struct DueDelivery {
    pub id: i32,
    pub webhook_id: i32,
    pub url: String,
    pub secret: String,
    pub payload: String,
    pub created_at: PrimitiveDateTime,
    /// Switched off since it was queued: not sent.
    pub enabled: bool,
}

pub fn load_due(conn: &mut DbConnection, ids: &[i32]) -> QueryResult<Vec<DueDelivery>> {
    webhook_deliveries::table
        .inner_join(webhooks::table)
        .filter(webhook_deliveries::id.eq_any(ids))
        .select((
            webhook_deliveries::id,
            webhook_deliveries::webhook_id,
            webhooks::url,
            webhooks::secret,
            webhook_deliveries::payload,
            webhook_deliveries::created_at,
            webhooks::enabled,
        ))
        .load(conn)
}

/// Keeps the receiver's HTTP status of the last attempt.
pub fn set_response_status(conn: &mut DbConnection, id: i32, status: Option<i32>) -> QueryResult<usize> {
    diesel::update(webhook_deliveries::table.find(id))
        .set(webhook_deliveries::response_status.eq(status))
        .execute(conn)
}

/// A delivery reached the receiver: the webhook is healthy again.
pub fn mark_healthy(conn: &mut DbConnection, webhook_id: i32) -> QueryResult<usize> {
    diesel::update(webhooks::table.find(webhook_id))
        .set(webhooks::failing_since.eq(None::<PrimitiveDateTime>))
        .execute(conn)
}

/// A delivery failed: the webhook has been failing since the first failure
/// after its last success. Returns that moment, or `None` when the webhook
/// no longer exists.
pub fn mark_failing(
    conn: &mut DbConnection,
    webhook_id: i32,
    now: PrimitiveDateTime,
) -> QueryResult<Option<PrimitiveDateTime>> {
    diesel::update(
        webhooks::table
            .find(webhook_id)
            .filter(webhooks::failing_since.is_null()),
    )
    .set(webhooks::failing_since.eq(Some(now)))
    .execute(conn)?;
    let failing_since: Option<Option<PrimitiveDateTime>> = webhooks::table
        .find(webhook_id)
        .select(webhooks::failing_since)
        .first(conn)
        .optional()?;
    Ok(failing_since.map(|since| since.unwrap_or(now)))
}

/// Switches a webhook off with the reason, and gives up its queued
/// deliveries (they would be days old when it is switched on again).
pub fn disable(
    conn: &mut DbConnection,
    webhook_id: i32,
    reason: &str,
    now: PrimitiveDateTime,
) -> QueryResult<usize> {
    // The webhook's row first: the order deleting it takes the rows in.
    let switched_off = diesel::update(webhooks::table.find(webhook_id))
        .set((
            webhooks::enabled.eq(false),
            webhooks::disabled_reason.eq(Some(reason)),
            webhooks::updated_at.eq(now),
        ))
        .execute(conn)?;
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::webhook_id.eq(webhook_id))
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str())),
    )
    .set((
        webhook_deliveries::status.eq(DeliveryStatus::Failed.as_str()),
        webhook_deliveries::last_error.eq("the webhook was disabled"),
    ))
    .execute(conn)?;
    Ok(switched_off)
}

/// One line of a webhook's delivery log.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryLogEntry {
    pub id: i32,
    pub event_id: String,
    pub event: String,
    pub status: String,
    pub attempts: i32,
    pub response_status: Option<i32>,
    pub last_error: Option<String>,
    pub next_attempt_at: PrimitiveDateTime,
    pub created_at: PrimitiveDateTime,
    pub sent_at: Option<PrimitiveDateTime>,
    pub payload: String,
}

/// A webhook's deliveries, newest first, `limit` of them before `before`.
pub fn log(
    conn: &mut DbConnection,
    webhook_id: i32,
    before: Option<i32>,
    limit: i64,
) -> QueryResult<Vec<DeliveryLogEntry>> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(webhook_deliveries::id.lt(before));
    }
    query
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .select(DeliveryLogEntry::as_select())
        .load(conn)
}

/// `member.created` for a new member (staff accounts are not members).
pub fn member_created(conn: &mut DbConnection, user_id: i32, source: Option<&str>) -> QueryResult<usize> {
    emit(conn, WebhookEvent::MemberCreated, Some(user_id), |conn| {
        Ok(member_data(conn, user_id)?.map(|member| serde_json::json!({"member": member, "source": source})))
    })
}

/// `member.updated`, saying what changed (`email_changed`, `newsletters`,
/// `profile`, …).
pub fn member_updated(conn: &mut DbConnection, user_id: i32, change: &str) -> QueryResult<usize> {
    emit(conn, WebhookEvent::MemberUpdated, Some(user_id), |conn| {
        Ok(member_data(conn, user_id)?.map(|member| serde_json::json!({"member": member, "change": change})))
    })
}

/// `member.deleted`: the id only, since the rest is erased, and every
/// queued or logged payload about the member deleted.
pub fn member_deleted(conn: &mut DbConnection, user_id: i32) -> QueryResult<usize> {
    diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::member_id.eq(user_id)))
        .execute(conn)?;
    emit(conn, WebhookEvent::MemberDeleted, None, |_| {
        Ok(Some(serde_json::json!({"member": {"id": user_id}})))
    })
}

/// `subscription.changed` with what changed (`subscription` as Stripe last
/// said it, or `comp`).
pub fn subscription_changed(
    conn: &mut DbConnection,
    user_id: i32,
    change: serde_json::Value,
) -> QueryResult<usize> {
    emit(conn, WebhookEvent::SubscriptionChanged, Some(user_id), |conn| {
        Ok(member_data(conn, user_id)?.map(|member| {
            let mut data = serde_json::json!({"member": member});
            if let (Some(data), serde_json::Value::Object(change)) = (data.as_object_mut(), change) {
                data.extend(change);
            }
            data
        }))
    })
}

/// `article.published` (the caller names the article; never its body).
pub fn article_published(conn: &mut DbConnection, data: serde_json::Value) -> QueryResult<usize> {
    emit(conn, WebhookEvent::ArticlePublished, None, |_| Ok(Some(data)))
}

/// `send.finished`, with how the send's messages ended.
pub fn send_finished(conn: &mut DbConnection, send_id: i32) -> QueryResult<usize> {
    emit(conn, WebhookEvent::SendFinished, None, |conn| {
        let Some(send) = super::sends::find(conn, send_id)? else {
            return Ok(None);
        };
        let counts = super::sends::counts(conn, send_id)?;
        let count = |status| counts.get(&status).copied().unwrap_or(0);
        Ok(Some(serde_json::json!({"send": {
            "id": send.id,
            "article_id": send.article_id,
            "newsletter_id": send.newsletter_id,
            "segment": send.segment,
            "recipients": send.total,
            "sent": count(DeliveryStatus::Sent),
            "failed": count(DeliveryStatus::Failed),
            "suppressed": count(DeliveryStatus::Suppressed),
            "created_at": send.created_at.assume_utc().unix_timestamp(),
            "finished_at": send.finished_at.map(|t| t.assume_utc().unix_timestamp()),
        }})))
    })
}
