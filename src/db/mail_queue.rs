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

/// Where one worker's claims of one queue have got to: the highest id it
/// claimed last (its next claim of pending rows starts past it) and when it
/// next looks for rows whose lease ran out. Kept by the worker between
/// rounds; `Default` starts at the beginning.
///
/// Why a cursor: on PostgreSQL every claim and outcome writes a new version
/// of the row, and the index entries of the old versions stay until vacuum
/// gets through. A claim that looks for "any pending row" from the start of
/// the index walked every entry of the rows already sent: at a million
/// recipients each round of 200 took 53–65 ms by mid-send, and the send
/// slowed as it went. Starting past the last claimed id walks only what
/// other workers claimed since.
#[derive(Debug, Default, Clone, Copy)]
pub struct ClaimCursor {
    after_id: i32,
    next_lease_sweep: Option<PrimitiveDateTime>,
}

/// How often a worker busy with pending rows also looks for rows whose
/// lease ran out (a worker that died holding them): a dead worker's rows go
/// out again at most this long after their lease ends, ahead of the pending
/// rows. A worker with less than a full round pending looks every round.
const LEASE_SWEEP_EVERY: time::Duration = time::Duration::seconds(5);

/// Claims up to `limit` due rows until `lease_until`: rows whose lease ran
/// out (when the sweep is due), then pending rows past the cursor in id
/// order, wrapping to the start when it reaches the end (for retries come
/// due and rows skipped while another worker held them). On PostgreSQL `FOR
/// UPDATE SKIP LOCKED` lets several workers claim side by side without
/// waiting or overlapping; SQLite has one writer at a time, so a single
/// UPDATE … RETURNING cannot be taken twice.
pub fn claim(
    conn: &mut DbConnection,
    queue: Queue,
    cursor: &mut ClaimCursor,
    now: PrimitiveDateTime,
    lease_until: PrimitiveDateTime,
    limit: i32,
) -> QueryResult<Vec<Claimed>> {
    let sweep_due = cursor.next_lease_sweep.is_none_or(|at| at <= now);
    let mut claimed = Vec::new();
    if sweep_due {
        claimed = claim_where(conn, queue, Due::LeaseRanOut, now, lease_until, limit)?;
    }
    let room = rest(&claimed, limit);
    if room > 0 {
        claimed.extend(claim_pending(conn, queue, cursor, now, lease_until, room)?);
    }
    let room = rest(&claimed, limit);
    let swept_late = !sweep_due && room > 0;
    if swept_late {
        claimed.extend(claim_where(
            conn,
            queue,
            Due::LeaseRanOut,
            now,
            lease_until,
            room,
        )?);
    }
    if sweep_due || swept_late {
        cursor.next_lease_sweep = Some(now + LEASE_SWEEP_EVERY);
    }
    Ok(claimed)
}

/// Pending rows past the cursor, then, when those run out before `room`
/// is filled, from the start of the queue; moves the cursor to the last
/// row taken.
fn claim_pending(
    conn: &mut DbConnection,
    queue: Queue,
    cursor: &mut ClaimCursor,
    now: PrimitiveDateTime,
    lease_until: PrimitiveDateTime,
    room: i32,
) -> QueryResult<Vec<Claimed>> {
    let mut pending = claim_where(
        conn,
        queue,
        Due::PendingAfter(cursor.after_id),
        now,
        lease_until,
        room,
    )?;
    let mut last = highest_id(&pending);
    if rest(&pending, room) > 0 && cursor.after_id > 0 {
        let from_start = claim_where(
            conn,
            queue,
            Due::PendingAfter(0),
            now,
            lease_until,
            rest(&pending, room),
        )?;
        last = highest_id(&from_start);
        pending.extend(from_start);
    }
    cursor.after_id = last.unwrap_or(0);
    Ok(pending)
}

fn highest_id(claimed: &[Claimed]) -> Option<i32> {
    claimed.iter().map(|c| c.id).max()
}

/// How many more rows a round of `limit` has room for.
fn rest(claimed: &[Claimed], limit: i32) -> i32 {
    limit - claimed.len() as i32
}
/// Which rows a claim takes.
enum Due {
    /// Pending and due, with an id above this, lowest first.
    PendingAfter(i32),
    /// Held by a worker whose lease ran out.
    LeaseRanOut,
}

fn claim_where(
    conn: &mut DbConnection,
    queue: Queue,
    due: Due,
    now: PrimitiveDateTime,
    lease_until: PrimitiveDateTime,
    limit: i32,
) -> QueryResult<Vec<Claimed>> {
    if limit <= 0 {
        return Ok(Vec::new());
    }
    let table = queue.table();
    let (pending, sending) = (DeliveryStatus::Pending, DeliveryStatus::Sending);
    // The id order walks the partial index of pending rows from the cursor
    // on; expired leases are few and found through the status index, in no
    // order (sorting them all each time was quadratic over a big send). Ids
    // start at 1, so `id > 0` is no filter.
    let (after_id, rows) = match due {
        Due::PendingAfter(after_id) => (
            after_id,
            format!("status = '{pending}' AND next_attempt_at <= $1 AND id > $4 ORDER BY id"),
        ),
        Due::LeaseRanOut => (
            0,
            format!("status = '{sending}' AND lease_until < $1 AND id > $4"),
        ),
    };
    // SQLite's planner picked the status index and sorted every pending row
    // by id on each claim (3 ms a round at 20k pending, growing with the
    // send); it is told which index to walk. PostgreSQL chooses it once its
    // statistics know the send (`sends::create` refreshes them).
    let (index, lock) = match (&*conn, &due) {
        (DbConnection::Postgres(_), _) => (String::new(), "FOR UPDATE SKIP LOCKED"),
        (DbConnection::Sqlite(_), Due::PendingAfter(_)) => (format!("INDEXED BY {table}_pending_by_id"), ""),
        (DbConnection::Sqlite(_), Due::LeaseRanOut) => (String::new(), ""),
    };
    let sql = format!(
        "UPDATE {table} SET status = '{sending}', lease_until = $2, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM {table} {index} WHERE {rows} LIMIT $3 {lock}) \
         RETURNING id, attempts"
    );
    let sql = numbered_placeholders(conn, &sql);
    crate::per_backend!(conn, |c| diesel::sql_query(&sql)
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(lease_until)
        .bind::<Integer, _>(limit)
        .bind::<Integer, _>(after_id)
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
