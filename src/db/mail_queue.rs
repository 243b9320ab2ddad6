//! The two mail queues, `deliveries` (newsletter, one row per recipient) and
//! `outbox` (transactional), and the outbound webhooks' `webhook_deliveries`
//! share one life cycle: pending → sending (claimed
//! with a lease) → sent | pending again (retry) | failed | suppressed. A row
//! whose lease ran out (its worker died) is claimed again.

use crate::domain::delivery::DeliveryStatus;
use diesel::{
    prelude::*,
    sql_types::{Integer, Nullable, Text, Timestamp},
};
use time::PrimitiveDateTime;

use crate::db::DbConnection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    Deliveries,
    Outbox,
    /// Outbound webhooks' deliveries: not mail, but the same life cycle.
    Webhooks,
}

impl Queue {
    fn table(self) -> &'static str {
        match self {
            Queue::Deliveries => "deliveries",
            Queue::Outbox => "outbox",
            Queue::Webhooks => "webhook_deliveries",
        }
    }
}

#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = Integer)]
    pub id: i32,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
}

/// Claims up to `limit` due rows until `lease_until`. On PostgreSQL `FOR
/// UPDATE SKIP LOCKED` lets several workers claim side by side without
/// waiting or overlapping; SQLite has one writer at a time, so the single
/// UPDATE … RETURNING cannot be taken twice. No `ORDER BY`: it made both
/// databases sort every due row on each claim (quadratic over a 100k send),
/// and the order recipients are reached in does not matter.
pub fn claim(
    conn: &mut DbConnection,
    queue: Queue,
    now: PrimitiveDateTime,
    lease_until: PrimitiveDateTime,
    limit: i32,
) -> QueryResult<Vec<Claimed>> {
    let table = queue.table();
    let (pending, sending) = (DeliveryStatus::Pending, DeliveryStatus::Sending);
    let due = format!(
        "(status = '{pending}' AND next_attempt_at <= $1) OR (status = '{sending}' AND lease_until < $1)"
    );
    let lock = match conn {
        DbConnection::Postgres(_) => "FOR UPDATE SKIP LOCKED",
        DbConnection::Sqlite(_) => "",
    };
    let sql = format!(
        "UPDATE {table} SET status = '{sending}', lease_until = $2, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM {table} WHERE {due} LIMIT $3 {lock}) \
         RETURNING id, attempts"
    );
    let sql = numbered_placeholders(conn, &sql);
    crate::per_backend!(conn, |c| diesel::sql_query(&sql)
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(lease_until)
        .bind::<Integer, _>(limit)
        .load::<Claimed>(c))
}

/// The SQL here numbers its parameters `$1`, `$2`, … as PostgreSQL does.
/// SQLite reads `$1` as a *named* parameter, numbered by first appearance,
/// so it gets `?1`, `?2`, … which keep their numbers.
fn numbered_placeholders(conn: &DbConnection, sql: &str) -> String {
    match conn {
        DbConnection::Postgres(_) => sql.to_owned(),
        DbConnection::Sqlite(_) => sql.replace('$', "?"),
    }
}

fn set_outcome(
    conn: &mut DbConnection,
    queue: Queue,
    id: i32,
    status: DeliveryStatus,
    next_attempt_at: Option<PrimitiveDateTime>,
    error: Option<&str>,
    sent_at: Option<PrimitiveDateTime>,
) -> QueryResult<usize> {
    // Only a row still held by us changes: a row reclaimed after our lease
    // ran out belongs to the other worker now.
    let sql = format!(
        "UPDATE {} SET status = $1, next_attempt_at = COALESCE($2, next_attempt_at), last_error = $3, \
         sent_at = $4, lease_until = NULL WHERE id = $5 AND status = '{}'",
        queue.table(),
        DeliveryStatus::Sending
    );
    let sql = numbered_placeholders(conn, &sql);
    crate::per_backend!(conn, |c| diesel::sql_query(&sql)
        .bind::<Text, _>(status.as_str())
        .bind::<Nullable<Timestamp>, _>(next_attempt_at)
        .bind::<Nullable<Text>, _>(error)
        .bind::<Nullable<Timestamp>, _>(sent_at)
        .bind::<Integer, _>(id)
        .execute(c))
}

/// Marks rows sent, any number in one statement: the worker records a
/// group of answers at once, and a statement per message held PostgreSQL's
/// fan-out to a round trip each.
pub fn mark_sent(
    conn: &mut DbConnection,
    queue: Queue,
    ids: &[i32],
    now: PrimitiveDateTime,
) -> QueryResult<usize> {
    let sent = DeliveryStatus::Sent;
    update_held(
        conn,
        queue,
        ids,
        &format!("status = '{sent}', sent_at = $1, last_error = NULL"),
        now,
    )
}

/// Hands claimed rows back unsent, due at `now`, their attempt not counted:
/// a worker told to slow down lets go of the round it had ready, rather
/// than hold it past its lease.
pub fn release(
    conn: &mut DbConnection,
    queue: Queue,
    ids: &[i32],
    now: PrimitiveDateTime,
) -> QueryResult<usize> {
    let pending = DeliveryStatus::Pending;
    update_held(
        conn,
        queue,
        ids,
        &format!("status = '{pending}', next_attempt_at = $1, attempts = attempts - 1"),
        now,
    )
}

/// `SET {set}` (which binds `$1` to `at`) on those of `ids` this worker
/// still holds: a row reclaimed after our lease ran out belongs to the
/// other worker now.
fn update_held(
    conn: &mut DbConnection,
    queue: Queue,
    ids: &[i32],
    set: &str,
    at: PrimitiveDateTime,
) -> QueryResult<usize> {
    let mut changed = 0;
    // The ids are integers, written into the statement as such; chunks
    // keep each statement a few kilobytes.
    for chunk in ids.chunks(1_000) {
        let list = chunk.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
        let sql = format!(
            "UPDATE {} SET {set}, lease_until = NULL WHERE id IN ({list}) AND status = '{}'",
            queue.table(),
            DeliveryStatus::Sending
        );
        let sql = numbered_placeholders(conn, &sql);
        changed += crate::per_backend!(conn, |c| diesel::sql_query(&sql)
            .bind::<Timestamp, _>(at)
            .execute(c))?;
    }
    Ok(changed)
}

pub fn mark_retry(
    conn: &mut DbConnection,
    queue: Queue,
    id: i32,
    at: PrimitiveDateTime,
    error: &str,
) -> QueryResult<usize> {
    set_outcome(
        conn,
        queue,
        id,
        DeliveryStatus::Pending,
        Some(at),
        Some(error),
        None,
    )
}

pub fn mark_failed(conn: &mut DbConnection, queue: Queue, id: i32, error: &str) -> QueryResult<usize> {
    set_outcome(conn, queue, id, DeliveryStatus::Failed, None, Some(error), None)
}

pub fn mark_suppressed(conn: &mut DbConnection, queue: Queue, id: i32) -> QueryResult<usize> {
    set_outcome(conn, queue, id, DeliveryStatus::Suppressed, None, None, None)
}
