//! What billing stores: Stripe events received, subscriptions as Stripe last
//! told us, and the link between a user and their Stripe customer.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::db::{
    DbConnection,
    schema::{comps, payment_incidents, stripe_events, subscriptions, users},
    users::User,
};
use crate::per_backend;

/// Records `event_id` as received (if new) and says whether it was already
/// processed. Call inside the transaction that applies the event.
pub fn begin_event(
    conn: &mut DbConnection,
    event_id: &str,
    event_type: &str,
    now: PrimitiveDateTime,
) -> QueryResult<bool> {
    per_backend!(conn, |c| diesel::insert_into(stripe_events::table)
        .values((
            stripe_events::id.eq(event_id),
            stripe_events::event_type.eq(event_type),
            stripe_events::received_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    let processed: Option<PrimitiveDateTime> = stripe_events::table
        .find(event_id)
        .select(stripe_events::processed_at)
        .first(conn)?;
    Ok(processed.is_some())
}

/// Marks the event processed; `refusal` says why it was deliberately not
/// applied (kept in `error` for the operator).
pub fn finish_event(
    conn: &mut DbConnection,
    event_id: &str,
    now: PrimitiveDateTime,
    refusal: Option<&str>,
) -> QueryResult<usize> {
    diesel::update(stripe_events::table.find(event_id))
        .set((
            stripe_events::processed_at.eq(Some(now)),
            stripe_events::error.eq(refusal),
        ))
        .execute(conn)
}

/// Notes why an event failed (outside the rolled-back transaction), leaving
/// it unprocessed for Stripe's retry.
pub fn fail_event(
    conn: &mut DbConnection,
    event_id: &str,
    event_type: &str,
    error: &str,
    now: PrimitiveDateTime,
) -> QueryResult<usize> {
    per_backend!(conn, |c| diesel::insert_into(stripe_events::table)
        .values((
            stripe_events::id.eq(event_id),
            stripe_events::event_type.eq(event_type),
            stripe_events::received_at.eq(now),
            stripe_events::error.eq(error),
        ))
        .on_conflict(stripe_events::id)
        .do_update()
        .set(stripe_events::error.eq(error))
        .execute(c))
}

pub fn user_by_customer(conn: &mut DbConnection, customer_id: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::stripe_customer_id.eq(customer_id))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn set_customer(conn: &mut DbConnection, user_id: i32, customer_id: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(user_id))
        .set(users::stripe_customer_id.eq(customer_id))
        .execute(conn)
}

/// Users who have a Stripe customer: (user id, customer id).
pub fn customers(conn: &mut DbConnection) -> QueryResult<Vec<(i32, String)>> {
    users::table
        .filter(users::stripe_customer_id.is_not_null())
        .order(users::id)
        .select((users::id, users::stripe_customer_id.assume_not_null()))
        .load(conn)
}

/// Members who came in paying and whose payments Broadsheet does not see
/// yet (for `admin stripe-adopt`): (user id, email, Stripe customer id).
/// Those with a Stripe customer and no subscription stored (Ghost imports),
/// and those with a comp for a period paid elsewhere (`paid on Substack
/// until …`).
pub fn imported_payers(conn: &mut DbConnection) -> QueryResult<Vec<(i32, String, Option<String>)>> {
    let with_subscription = subscriptions::table.select(subscriptions::user_id);
    let mut found: Vec<(i32, String, Option<String>)> = users::table
        .filter(users::deleted_at.is_null())
        .filter(users::stripe_customer_id.is_not_null())
        .filter(users::id.ne_all(with_subscription))
        .select((users::id, users::email, users::stripe_customer_id))
        .load(conn)?;
    let paid_elsewhere = comps::table
        .filter(comps::reason.like(format!("{PAID_ELSEWHERE}%")))
        .select(comps::user_id);
    let substack: Vec<(i32, String, Option<String>)> = users::table
        .filter(users::deleted_at.is_null())
        .filter(users::stripe_customer_id.is_null())
        .filter(users::id.eq_any(paid_elsewhere))
        .select((users::id, users::email, users::stripe_customer_id))
        .load(conn)?;
    found.extend(substack);
    found.sort_by_key(|(id, _, _)| *id);
    Ok(found)
}

/// How an import's comp for a period paid on another platform begins.
pub const PAID_ELSEWHERE: &str = "paid on ";

/// Ends the comps that stood in for a period paid on another platform, now
/// that the subscription itself is linked.
pub fn end_paid_elsewhere_comps(conn: &mut DbConnection, user_id: i32) -> QueryResult<usize> {
    diesel::delete(
        comps::table
            .filter(comps::user_id.eq(user_id))
            .filter(comps::reason.like(format!("{PAID_ELSEWHERE}%"))),
    )
    .execute(conn)
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = subscriptions)]
pub struct StoredSubscription {
    pub id: i32,
    pub user_id: i32,
    pub stripe_subscription_id: String,
    pub status: String,
    pub price_id: String,
    pub current_period_end: Option<PrimitiveDateTime>,
    pub cancel_at_period_end: bool,
    pub stripe_updated_at: PrimitiveDateTime,
    pub past_due_since: Option<PrimitiveDateTime>,
}

pub fn subscription(conn: &mut DbConnection, stripe_id: &str) -> QueryResult<Option<StoredSubscription>> {
    subscriptions::table
        .filter(subscriptions::stripe_subscription_id.eq(stripe_id))
        .select(StoredSubscription::as_select())
        .first(conn)
        .optional()
}

pub fn subscriptions_of(conn: &mut DbConnection, user_id: i32) -> QueryResult<Vec<StoredSubscription>> {
    subscriptions::table
        .filter(subscriptions::user_id.eq(user_id))
        .order(subscriptions::stripe_updated_at.desc())
        .select(StoredSubscription::as_select())
        .load(conn)
}

/// The state of one subscription to store.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = subscriptions)]
pub struct SubscriptionChanges<'a> {
    pub user_id: i32,
    pub status: &'a str,
    pub price_id: &'a str,
    pub current_period_end: Option<PrimitiveDateTime>,
    pub cancel_at_period_end: bool,
    pub stripe_updated_at: PrimitiveDateTime,
    /// `None` clears it (the subscription is not past due).
    #[diesel(treat_none_as_null = true)]
    pub past_due_since: Option<PrimitiveDateTime>,
}

/// Inserts or updates the subscription `stripe_id`; a change of what a
/// member sees (status, price, renewal) is a `subscription.changed` webhook.
pub fn store_subscription(
    conn: &mut DbConnection,
    stripe_id: &str,
    changes: &SubscriptionChanges<'_>,
) -> QueryResult<usize> {
    let before = subscription(conn, stripe_id)?;
    let stored = match &before {
        Some(_) => {
            diesel::update(subscriptions::table.filter(subscriptions::stripe_subscription_id.eq(stripe_id)))
                .set(changes)
                .execute(conn)?
        }
        None => diesel::insert_into(subscriptions::table)
            .values((
                subscriptions::stripe_subscription_id.eq(stripe_id),
                subscriptions::user_id.eq(changes.user_id),
                subscriptions::status.eq(changes.status),
                subscriptions::price_id.eq(changes.price_id),
                subscriptions::current_period_end.eq(changes.current_period_end),
                subscriptions::cancel_at_period_end.eq(changes.cancel_at_period_end),
                subscriptions::stripe_updated_at.eq(changes.stripe_updated_at),
                subscriptions::past_due_since.eq(changes.past_due_since),
                subscriptions::created_at.eq(super::now()),
            ))
            .execute(conn)?,
    };
    let changed = before.is_none_or(|b| {
        (
            b.status.as_str(),
            b.price_id.as_str(),
            b.current_period_end,
            b.cancel_at_period_end,
        ) != (
            changes.status,
            changes.price_id,
            changes.current_period_end,
            changes.cancel_at_period_end,
        )
    });
    if changed {
        let subscription = serde_json::json!({"subscription": {
            "id": stripe_id,
            "status": changes.status,
            "price_id": changes.price_id,
            "current_period_end": changes.current_period_end.map(|t| t.assume_utc().unix_timestamp()),
            "cancel_at_period_end": changes.cancel_at_period_end,
        }});
        super::webhooks::subscription_changed(conn, changes.user_id, subscription)?;
    }
    Ok(stored)
}

/// Grants complimentary access.
pub fn grant_comp(
    conn: &mut DbConnection,
    user_id: i32,
    granted_by: i32,
    expires_at: Option<PrimitiveDateTime>,
    reason: &str,
) -> QueryResult<usize> {
    let granted = diesel::insert_into(comps::table)
        .values((
            comps::user_id.eq(user_id),
            comps::granted_by.eq(Some(granted_by)),
            comps::expires_at.eq(expires_at),
            comps::reason.eq(reason),
            comps::created_at.eq(super::now()),
        ))
        .execute(conn)?;
    let comp = serde_json::json!({"comp": {
        "granted": true,
        "expires_at": expires_at.map(|t| t.assume_utc().unix_timestamp()),
    }});
    super::webhooks::subscription_changed(conn, user_id, comp)?;
    Ok(granted)
}

/// Removes every comp of a user; returns how many.
pub fn revoke_comps(conn: &mut DbConnection, user_id: i32) -> QueryResult<usize> {
    let revoked = diesel::delete(comps::table.filter(comps::user_id.eq(user_id))).execute(conn)?;
    if revoked > 0 {
        let comp = serde_json::json!({"comp": {"granted": false, "expires_at": null}});
        super::webhooks::subscription_changed(conn, user_id, comp)?;
    }
    Ok(revoked)
}

/// A refund or dispute of one of a member's payments.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = payment_incidents)]
pub struct PaymentIncident {
    pub kind: String,
    pub stripe_id: String,
    pub charge_id: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub suspends_access: bool,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
}

/// What Stripe says now of one refund or dispute.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = payment_incidents)]
pub struct IncidentNews<'a> {
    pub user_id: i32,
    pub kind: &'a str,
    pub stripe_id: &'a str,
    pub charge_id: &'a str,
    pub amount: i64,
    pub currency: &'a str,
    pub status: &'a str,
    pub suspends_access: bool,
}

/// Records a refund or dispute, or brings its row up to date with news as
/// of `now` (the event's time): older news arriving late changes nothing.
pub fn record_incident(
    conn: &mut DbConnection,
    news: &IncidentNews<'_>,
    now: PrimitiveDateTime,
) -> QueryResult<()> {
    let existing = payment_incidents::table.filter(payment_incidents::stripe_id.eq(news.stripe_id));
    let known: i64 = existing.count().get_result(conn)?;
    if known > 0 {
        diesel::update(existing.filter(payment_incidents::updated_at.le(now)))
            .set((
                payment_incidents::amount.eq(news.amount),
                payment_incidents::status.eq(news.status),
                payment_incidents::suspends_access.eq(news.suspends_access),
                payment_incidents::updated_at.eq(now),
            ))
            .execute(conn)?;
    } else {
        diesel::insert_into(payment_incidents::table)
            .values((
                news,
                payment_incidents::created_at.eq(now),
                payment_incidents::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A member's refunds and disputes, newest first.
pub fn incidents_of(conn: &mut DbConnection, user_id: i32) -> QueryResult<Vec<PaymentIncident>> {
    payment_incidents::table
        .filter(payment_incidents::user_id.eq(user_id))
        .order((payment_incidents::created_at.desc(), payment_incidents::id.desc()))
        .select(PaymentIncident::as_select())
        .load(conn)
}

/// Which of `user_ids` have paid access suspended by a dispute.
pub fn suspended_among(conn: &mut DbConnection, user_ids: &[i32]) -> QueryResult<Vec<i32>> {
    payment_incidents::table
        .filter(payment_incidents::user_id.eq_any(user_ids))
        .filter(payment_incidents::suspends_access.eq(true))
        .select(payment_incidents::user_id)
        .distinct()
        .load(conn)
}
