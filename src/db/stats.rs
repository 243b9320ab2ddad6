//! The rows the publication's figures are counted from (`domain::stats`
//! counts them): members' and paid subscriptions' spans, and sends in a
//! range.

use std::collections::BTreeMap;

use diesel::{dsl::count, prelude::*};
use time::PrimitiveDateTime;

use crate::db::{
    DbConnection,
    schema::{deliveries, link_clicks, sends, subscriptions, users},
};
use crate::domain::{delivery::DeliveryStatus, role::Role, stats::Span};

/// Every reader account's span, joined to deleted (staff are not members).
pub fn member_spans(conn: &mut DbConnection) -> QueryResult<Vec<Span>> {
    let rows: Vec<(PrimitiveDateTime, Option<PrimitiveDateTime>)> = users::table
        .filter(users::role.eq(Role::Reader.as_str()))
        .select((users::created_at, users::deleted_at))
        .load(conn)?;
    Ok(rows.into_iter().map(|(start, end)| Span { start, end }).collect())
}

/// Stripe's statuses for a subscription that no longer pays.
const ENDED: [&str; 3] = ["canceled", "unpaid", "incomplete_expired"];
/// Statuses that never paid (yet).
const NOT_STARTED: [&str; 1] = ["incomplete"];

/// Each member's paid subscriptions as spans: from when it was made until
/// Stripe last changed it, for one that ended (the subscriptions table keeps
/// the current state, not its history, so an ended subscription's end is
/// when Stripe last told us about it). Trials count as paid.
pub fn paid_spans(conn: &mut DbConnection) -> QueryResult<BTreeMap<i32, Vec<Span>>> {
    let rows: Vec<(i32, String, PrimitiveDateTime, PrimitiveDateTime)> = subscriptions::table
        .filter(subscriptions::status.ne_all(NOT_STARTED))
        .select((
            subscriptions::user_id,
            subscriptions::status,
            subscriptions::created_at,
            subscriptions::stripe_updated_at,
        ))
        .load(conn)?;
    let mut by_member: BTreeMap<i32, Vec<Span>> = BTreeMap::new();
    for (user_id, status, created, updated) in rows {
        let end = ENDED.contains(&status.as_str()).then_some(updated.max(created));
        by_member
            .entry(user_id)
            .or_default()
            .push(Span { start: created, end });
    }
    Ok(by_member)
}

/// The price of every subscription paying now (active or past due: a trial
/// pays nothing yet).
pub fn paying_price_ids(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    subscriptions::table
        .filter(subscriptions::status.eq_any(["active", "past_due"]))
        .select(subscriptions::price_id)
        .load(conn)
}

/// Sends made in a range, and what became of their messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendTotals {
    pub sends: i64,
    pub recipients: i64,
    pub delivered: i64,
    pub failed: i64,
    pub opened: i64,
    /// Recipients who clicked at least one link.
    pub clicked: i64,
}

pub fn send_totals(
    conn: &mut DbConnection,
    from: PrimitiveDateTime,
    to: PrimitiveDateTime,
) -> QueryResult<SendTotals> {
    let in_range = sends::created_at.ge(from).and(sends::created_at.lt(to));
    let (count_sends, recipients): (i64, Option<i64>) = sends::table
        .filter(in_range)
        .select((count(sends::id), diesel::dsl::sum(sends::total)))
        .first(conn)?;
    let by_status: Vec<(String, i64)> = deliveries::table
        .inner_join(sends::table)
        .filter(in_range)
        .group_by(deliveries::status)
        .select((deliveries::status, count(deliveries::id)))
        .load(conn)?;
    let of = |wanted: DeliveryStatus| {
        by_status
            .iter()
            .find(|(status, _)| status == wanted.as_str())
            .map_or(0, |(_, n)| *n)
    };
    let opened = deliveries::table
        .inner_join(sends::table)
        .filter(in_range)
        .select(count(deliveries::opened_at))
        .first(conn)?;
    let clicked = link_clicks::table
        .inner_join(deliveries::table.inner_join(sends::table))
        .filter(in_range)
        .select(count(link_clicks::delivery_id).aggregate_distinct())
        .first(conn)?;
    Ok(SendTotals {
        sends: count_sends,
        recipients: recipients.unwrap_or(0),
        delivered: of(DeliveryStatus::Sent),
        failed: of(DeliveryStatus::Failed),
        opened,
        clicked,
    })
}
