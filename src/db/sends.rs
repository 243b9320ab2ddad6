//! Newsletter sends and their deliveries.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::domain::{
    delivery::{DeliveryStatus, SendStatus},
    role::Role,
};
use time::PrimitiveDateTime;

use crate::db::{
    DbConnection,
    schema::{deliveries, newsletter_subscriptions, sends, suppressions, users},
};
use crate::per_backend;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sends)]
pub struct Send {
    pub id: i32,
    pub article_id: i32,
    pub segment: String,
    pub status: String,
    pub total: i32,
    pub created_at: PrimitiveDateTime,
    pub finished_at: Option<PrimitiveDateTime>,
    pub newsletter_id: i32,
}

/// Members who may get `newsletter_id`: subscribed to it, verified, and not
/// on the suppression list (users joined to their subscriptions).
#[diesel::dsl::auto_type]
fn audience_of(newsletter_id: i32) -> _ {
    users::table
        .inner_join(newsletter_subscriptions::table)
        .filter(newsletter_subscriptions::newsletter_id.eq(newsletter_id))
        .filter(users::email_verified_at.is_not_null())
        .filter(diesel::dsl::not(diesel::dsl::exists(
            suppressions::table.filter(suppressions::email.eq(users::email)),
        )))
}

/// The audience of `newsletter_id` (see `audience_of`) as (id, role).
pub fn newsletter_audience(conn: &mut DbConnection, newsletter_id: i32) -> QueryResult<Vec<(i32, Role)>> {
    let rows: Vec<(i32, String)> = audience_of(newsletter_id)
        .order(users::id)
        .select((users::id, users::role))
        .load(conn)?;
    rows.into_iter()
        .map(|(id, role)| Ok((id, stored(Role::try_from(role))?)))
        .collect()
}

/// How many members would get an email through `newsletter_id` sent now
/// (subscribed, verified, not suppressed), whatever the segment.
pub fn audience_size(conn: &mut DbConnection, newsletter_id: i32) -> QueryResult<i64> {
    audience_of(newsletter_id).count().get_result(conn)
}

/// A stored enum that is not one of ours is a deserialization error.
fn stored<T>(parsed: Result<T, crate::domain::InvalidInput>) -> QueryResult<T> {
    parsed.map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))
}

/// Rows per multi-row INSERT (SQLite allows 32,766 bound values).
const INSERT_CHUNK: usize = 5_000;

/// Who a send goes to.
pub enum Recipients<'a> {
    /// These members (chosen in Rust: a segment by standing).
    Listed(&'a [i32]),
    /// The newsletter's whole audience (`audience_of`), chosen and inserted
    /// by the database in one `INSERT … SELECT`: a million recipients are
    /// never loaded into the process.
    WholeAudience,
}

/// Creates the send for `article_id` through `newsletter_id` and a pending
/// delivery per recipient, unless the article already has a send: emailing
/// is once per article. Returns the new send's id and its recipients.
pub fn create(
    conn: &mut DbConnection,
    article_id: i32,
    newsletter_id: i32,
    segment: &str,
    recipients: Recipients<'_>,
    now: PrimitiveDateTime,
) -> QueryResult<Option<(i32, usize)>> {
    let exists: bool = diesel::select(diesel::dsl::exists(
        sends::table.filter(sends::article_id.eq(article_id)),
    ))
    .get_result(conn)?;
    if exists {
        return Ok(None);
    }
    diesel::insert_into(sends::table)
        .values((
            sends::article_id.eq(article_id),
            sends::newsletter_id.eq(newsletter_id),
            sends::segment.eq(segment),
            sends::status.eq(SendStatus::Sending.as_str()),
            sends::total.eq(0),
            sends::created_at.eq(now),
        ))
        .execute(conn)?;
    let send_id: i32 = sends::table
        .filter(sends::article_id.eq(article_id))
        .select(sends::id)
        .first(conn)?;
    let pending = DeliveryStatus::Pending.as_str();
    let total = match recipients {
        Recipients::Listed(ids) => {
            for chunk in ids.chunks(INSERT_CHUNK) {
                let rows: Vec<_> = chunk
                    .iter()
                    .map(|&user_id| {
                        (
                            deliveries::send_id.eq(send_id),
                            deliveries::user_id.eq(user_id),
                            deliveries::status.eq(pending),
                            deliveries::next_attempt_at.eq(now),
                        )
                    })
                    .collect();
                per_backend!(conn, |c| diesel::insert_into(deliveries::table)
                    .values(&rows)
                    .execute(c))?;
            }
            ids.len()
        }
        Recipients::WholeAudience => {
            use diesel::sql_types::{Integer, Text, Timestamp};
            let each = audience_of(newsletter_id).select((
                send_id.into_sql::<Integer>(),
                users::id,
                pending.into_sql::<Text>(),
                now.into_sql::<Timestamp>(),
            ));
            diesel::insert_into(deliveries::table)
                .values(each)
                .into_columns((
                    deliveries::send_id,
                    deliveries::user_id,
                    deliveries::status,
                    deliveries::next_attempt_at,
                ))
                .execute(conn)?
        }
    };
    if total >= FRESH_STATISTICS_FROM {
        refresh_delivery_statistics(conn)?;
    }
    // A send to nobody is finished as it starts.
    diesel::update(sends::table.find(send_id))
        .set((
            sends::total.eq(total as i32),
            sends::status.eq(if total == 0 {
                SendStatus::Finished.as_str()
            } else {
                SendStatus::Sending.as_str()
            }),
            sends::finished_at.eq((total == 0).then_some(now)),
        ))
        .execute(conn)?;
    Ok(Some((send_id, total)))
}

/// A send at least this big refreshes the planner's statistics of the
/// deliveries as it is queued.
const FRESH_STATISTICS_FROM: usize = 1_000;

/// Measured on PostgreSQL: right after a send of 100k was queued, the
/// planner still believed the pending rows were a few dozen (autovacuum had
/// not analysed the table yet), so each worker's claim read every pending
/// row through a bitmap and sorted them all by id (28 ms a round, all
/// through the send) instead of walking the pending index from its cursor
/// (0.2 ms). `ANALYZE` in the publishing transaction counts its own new
/// rows and commits with them; it samples a bounded number of rows (tens
/// of milliseconds at a million). SQLite plans this claim without
/// statistics.
fn refresh_delivery_statistics(conn: &mut DbConnection) -> QueryResult<()> {
    match conn {
        DbConnection::Postgres(c) => diesel::sql_query("ANALYZE deliveries").execute(c).map(drop),
        DbConnection::Sqlite(_) => Ok(()),
    }
}

pub fn find(conn: &mut DbConnection, id: i32) -> QueryResult<Option<Send>> {
    sends::table
        .find(id)
        .select(Send::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_article(conn: &mut DbConnection, article_id: i32) -> QueryResult<Option<Send>> {
    sends::table
        .filter(sends::article_id.eq(article_id))
        .select(Send::as_select())
        .first(conn)
        .optional()
}

/// How many deliveries of the send are in each status.
pub fn counts(conn: &mut DbConnection, send_id: i32) -> QueryResult<HashMap<DeliveryStatus, i64>> {
    let rows: Vec<(String, i64)> = deliveries::table
        .filter(deliveries::send_id.eq(send_id))
        .group_by(deliveries::status)
        .select((deliveries::status, diesel::dsl::count_star()))
        .load(conn)?;
    rows.into_iter()
        .map(|(status, n)| Ok((stored(DeliveryStatus::try_from(status))?, n)))
        .collect()
}

/// How many deliveries of every send are in each status (for `/metrics`).
pub fn counts_by_status(conn: &mut DbConnection) -> QueryResult<Vec<(DeliveryStatus, i64)>> {
    let rows: Vec<(String, i64)> = deliveries::table
        .group_by(deliveries::status)
        .select((deliveries::status, diesel::dsl::count_star()))
        .load(conn)?;
    rows.into_iter()
        .map(|(status, n)| Ok((stored(DeliveryStatus::try_from(status))?, n)))
        .collect()
}

/// Puts the failed deliveries of a send back in the queue (suppressed
/// addresses stay out); returns how many.
pub fn retry_failed(conn: &mut DbConnection, send_id: i32, now: PrimitiveDateTime) -> QueryResult<usize> {
    let requeued = diesel::update(
        deliveries::table
            .filter(deliveries::send_id.eq(send_id))
            .filter(deliveries::status.eq(DeliveryStatus::Failed.as_str())),
    )
    .set((
        deliveries::status.eq(DeliveryStatus::Pending.as_str()),
        deliveries::attempts.eq(0),
        deliveries::next_attempt_at.eq(now),
        deliveries::last_error.eq(None::<String>),
    ))
    .execute(conn)?;
    if requeued > 0 {
        diesel::update(sends::table.find(send_id))
            .set((
                sends::status.eq(SendStatus::Sending.as_str()),
                sends::finished_at.eq(None::<PrimitiveDateTime>),
            ))
            .execute(conn)?;
    }
    Ok(requeued)
}

/// Marks sends with nothing left to do as finished.
pub fn finish_done(conn: &mut DbConnection, now: PrimitiveDateTime) -> QueryResult<usize> {
    diesel::update(
        sends::table
            .filter(sends::status.eq(SendStatus::Sending.as_str()))
            .filter(diesel::dsl::not(diesel::dsl::exists(
                deliveries::table
                    .filter(deliveries::send_id.eq(sends::id))
                    .filter(
                        deliveries::status
                            .eq_any([DeliveryStatus::Pending.as_str(), DeliveryStatus::Sending.as_str()]),
                    ),
            ))),
    )
    .set((
        sends::status.eq(SendStatus::Finished.as_str()),
        sends::finished_at.eq(Some(now)),
    ))
    .returning(sends::id)
    .get_results::<i32>(conn)
    .and_then(|finished| {
        for &send_id in &finished {
            super::webhooks::send_finished(conn, send_id)?;
        }
        Ok(finished.len())
    })
}

/// A claimed delivery with what sending it needs.
#[derive(Debug, Clone, Queryable)]
pub struct DeliveryTarget {
    pub id: i32,
    pub send_id: i32,
    pub user_id: i32,
    pub email: String,
    /// Still subscribed to the send's newsletter: someone who left it after
    /// the send was queued is skipped.
    pub subscribed: bool,
    #[diesel(deserialize_as = String)]
    pub role: Role,
}

pub fn targets(conn: &mut DbConnection, ids: &[i32]) -> QueryResult<Vec<DeliveryTarget>> {
    deliveries::table
        .inner_join(users::table)
        .inner_join(sends::table)
        .filter(deliveries::id.eq_any(ids))
        .select((
            deliveries::id,
            deliveries::send_id,
            deliveries::user_id,
            users::email,
            diesel::dsl::exists(
                newsletter_subscriptions::table
                    .filter(newsletter_subscriptions::user_id.eq(deliveries::user_id))
                    .filter(newsletter_subscriptions::newsletter_id.eq(sends::newsletter_id)),
            ),
            users::role,
        ))
        .load(conn)
}
