//! Reports from mail providers (bounces, complaints, deliveries), each kept
//! once by the provider's event id.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::db::{
    DbConnection,
    schema::{deliveries, email_events, users},
};
use crate::{
    domain::feedback::{FeedbackKind, ProviderEvent},
    per_backend,
};

/// Keeps `event` unless the same provider event was kept before; returns
/// whether it is new. `delivery_id` and `user_id` are what it maps to.
pub fn record(
    conn: &mut DbConnection,
    event: &ProviderEvent,
    delivery_id: Option<i32>,
    user_id: Option<i32>,
    now: PrimitiveDateTime,
) -> QueryResult<bool> {
    let row = (
        email_events::provider.eq(event.provider.as_str()),
        email_events::provider_event_id.eq(&event.event_id),
        email_events::kind.eq(event.kind.as_str()),
        email_events::email.eq(&event.email),
        email_events::delivery_id.eq(delivery_id),
        email_events::user_id.eq(user_id),
        email_events::detail.eq(&event.detail),
        email_events::occurred_at.eq(event.occurred_at),
        email_events::received_at.eq(now),
    );
    let inserted = per_backend!(conn, |c| diesel::insert_into(email_events::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(inserted == 1)
}

/// Soft bounces of `email` since its last reported delivery or hard event:
/// the run a limit is counted against.
pub fn soft_bounces_in_a_row(conn: &mut DbConnection, email: &str) -> QueryResult<i64> {
    // The newest non-soft event (ordering rather than MAX keeps the column's
    // type on SQLite, where an aggregate's result is plain text).
    let run_ended: Option<PrimitiveDateTime> = email_events::table
        .filter(email_events::email.eq(email))
        .filter(email_events::kind.ne(FeedbackKind::SoftBounce.as_str()))
        .order(email_events::occurred_at.desc())
        .select(email_events::occurred_at)
        .first(conn)
        .optional()?;
    let mut soft = email_events::table
        .filter(email_events::email.eq(email))
        .filter(email_events::kind.eq(FeedbackKind::SoftBounce.as_str()))
        .into_boxed();
    if let Some(ended) = run_ended {
        soft = soft.filter(email_events::occurred_at.gt(ended));
    }
    soft.count().get_result(conn)
}

/// The delivery a report names, if it is one of ours to that address; else
/// the newest delivery sent to it (a provider that cannot name the message).
/// Returns (delivery id, user id).
pub fn match_delivery(
    conn: &mut DbConnection,
    named: Option<i32>,
    email: &str,
) -> QueryResult<Option<(i32, i32)>> {
    let to_address = deliveries::table
        .inner_join(users::table)
        .filter(users::email.eq(email))
        .select((deliveries::id, deliveries::user_id));
    if let Some(id) = named {
        let found = to_address.filter(deliveries::id.eq(id)).first(conn).optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    to_address
        .filter(deliveries::sent_at.is_not_null())
        .order((deliveries::sent_at.desc(), deliveries::id.desc()))
        .first(conn)
        .optional()
}

/// The member with `email`, if any.
pub fn member_with_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<i32>> {
    users::table
        .filter(users::email.eq(email))
        .select(users::id)
        .first(conn)
        .optional()
}
