//! Addresses we must not email: unsubscribed, bounced, complained.

use diesel::prelude::*;

use crate::db::{DbConnection, schema::suppressions};
use crate::per_backend;

/// Adds `email` (idempotent: the first reason stays).
pub fn add(conn: &mut DbConnection, email: &str, reason: &str) -> QueryResult<usize> {
    let now = super::now();
    per_backend!(conn, |c| diesel::insert_into(suppressions::table)
        .values((
            suppressions::email.eq(email),
            suppressions::reason.eq(reason),
            suppressions::created_at.eq(now)
        ))
        .on_conflict_do_nothing()
        .execute(c))
}

pub fn contains(conn: &mut DbConnection, email: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        suppressions::table.filter(suppressions::email.eq(email)),
    ))
    .get_result(conn)
}

/// Which of `emails` are suppressed.
pub fn among(conn: &mut DbConnection, emails: &[String]) -> QueryResult<Vec<String>> {
    suppressions::table
        .filter(suppressions::email.eq_any(emails))
        .select(suppressions::email)
        .load(conn)
}

/// Lifts an `unsubscribed` suppression (the member turned the newsletter
/// back on); bounces and complaints stay.
pub fn remove_unsubscribed(conn: &mut DbConnection, email: &str) -> QueryResult<usize> {
    diesel::delete(
        suppressions::table
            .filter(suppressions::email.eq(email))
            .filter(suppressions::reason.eq("unsubscribed")),
    )
    .execute(conn)
}

/// Lifts any suppression of `email` (an admin's decision: a bounce that was
/// the provider's mistake, an unsubscribe the member took back by phone).
pub fn remove(conn: &mut DbConnection, email: &str) -> QueryResult<usize> {
    diesel::delete(suppressions::table.filter(suppressions::email.eq(email))).execute(conn)
}
