//! Newsletters and who subscribes to each (`newsletter_subscriptions`: one
//! row per member and newsletter; no row, no email).

use std::collections::HashMap;

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::db::{
    DbConnection,
    schema::{newsletter_subscriptions as subs, newsletters, users},
};
use crate::domain::newsletters::NewsletterVisibility;
use crate::per_backend;

#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = newsletters)]
pub struct StoredNewsletter {
    pub id: i32,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub sender_name: Option<String>,
    #[diesel(deserialize_as = String)]
    pub visibility: NewsletterVisibility,
    pub subscribe_on_signup: bool,
    pub position: i32,
    pub archived: bool,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = newsletters)]
pub struct NewNewsletter<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub sender_name: Option<&'a str>,
    pub visibility: &'a str,
    pub subscribe_on_signup: bool,
    pub position: i32,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
}

impl NewNewsletter<'_> {
    /// Inserts it; a taken slug is a unique violation for the caller.
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<StoredNewsletter> {
        per_backend!(conn, |c| diesel::insert_into(newsletters::table)
            .values(self)
            .returning(StoredNewsletter::as_returning())
            .get_result(c))
    }
}

/// A partial change; `None` leaves a field as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = newsletters)]
pub struct NewsletterChanges {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub sender_name: Option<Option<String>>,
    pub visibility: Option<String>,
    pub subscribe_on_signup: Option<bool>,
    pub position: Option<i32>,
    pub archived: Option<bool>,
    pub updated_at: Option<PrimitiveDateTime>,
}

pub fn update(conn: &mut DbConnection, id: i32, changes: &NewsletterChanges) -> QueryResult<usize> {
    diesel::update(newsletters::table.find(id))
        .set(changes)
        .execute(conn)
}

/// Every newsletter in the publication's order (archived ones last).
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<StoredNewsletter>> {
    newsletters::table
        .order((newsletters::archived, newsletters::position, newsletters::id))
        .select(StoredNewsletter::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConnection, id: i32) -> QueryResult<Option<StoredNewsletter>> {
    newsletters::table
        .find(id)
        .select(StoredNewsletter::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_slug(conn: &mut DbConnection, slug: &str) -> QueryResult<Option<StoredNewsletter>> {
    newsletters::table
        .filter(newsletters::slug.eq(slug))
        .select(StoredNewsletter::as_select())
        .first(conn)
        .optional()
}

/// The newsletter a post goes out through when it names none: the first
/// one still running, in the publication's order.
pub fn default_newsletter(conn: &mut DbConnection) -> QueryResult<Option<StoredNewsletter>> {
    newsletters::table
        .filter(newsletters::archived.eq(false))
        .order((newsletters::position, newsletters::id))
        .select(StoredNewsletter::as_select())
        .first(conn)
        .optional()
}

/// The newsletters a new member joins unless they choose.
pub fn joined_on_signup(conn: &mut DbConnection) -> QueryResult<Vec<i32>> {
    newsletters::table
        .filter(newsletters::archived.eq(false))
        .filter(newsletters::subscribe_on_signup.eq(true))
        .order((newsletters::position, newsletters::id))
        .select(newsletters::id)
        .load(conn)
}

/// Subscribes a new member to the newsletters new members join.
pub fn join_defaults(conn: &mut DbConnection, user_id: i32, now: PrimitiveDateTime) -> QueryResult<usize> {
    let defaults = joined_on_signup(conn)?;
    subscribe(conn, user_id, &defaults, now)
}

/// Subscribes a new member to what they ticked on a sign-up form (`None`:
/// the defaults). Only running public newsletters can be ticked; ticks of
/// anything else are ignored, and if none is left the defaults apply.
pub fn join_chosen(
    conn: &mut DbConnection,
    user_id: i32,
    chosen: Option<&[i32]>,
    now: PrimitiveDateTime,
) -> QueryResult<usize> {
    let Some(chosen) = chosen else {
        return join_defaults(conn, user_id, now);
    };
    let offered: Vec<i32> = newsletters::table
        .filter(newsletters::archived.eq(false))
        .filter(newsletters::visibility.eq(NewsletterVisibility::Public.as_str()))
        .filter(newsletters::id.eq_any(chosen))
        .select(newsletters::id)
        .load(conn)?;
    if offered.is_empty() {
        return join_defaults(conn, user_id, now);
    }
    subscribe(conn, user_id, &offered, now)
}

/// Subscribers per newsletter (members who deleted their account left out).
pub fn subscriber_counts(conn: &mut DbConnection) -> QueryResult<HashMap<i32, i64>> {
    let rows: Vec<(i32, i64)> = subs::table
        .inner_join(users::table)
        .filter(users::deleted_at.is_null())
        .group_by(subs::newsletter_id)
        .select((subs::newsletter_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// Everyone subscribed to at least one newsletter.
pub fn members_with_any(conn: &mut DbConnection) -> QueryResult<std::collections::HashSet<i32>> {
    let ids: Vec<i32> = subs::table.select(subs::user_id).distinct().load(conn)?;
    Ok(ids.into_iter().collect())
}

/// The newsletters `user_id` receives.
pub fn subscriptions_of(conn: &mut DbConnection, user_id: i32) -> QueryResult<Vec<i32>> {
    subs::table
        .filter(subs::user_id.eq(user_id))
        .order(subs::newsletter_id)
        .select(subs::newsletter_id)
        .load(conn)
}

/// Subscribes `user_id` to each of `newsletter_ids` it is not already on;
/// returns how many rows were added.
pub fn subscribe(
    conn: &mut DbConnection,
    user_id: i32,
    newsletter_ids: &[i32],
    now: PrimitiveDateTime,
) -> QueryResult<usize> {
    if newsletter_ids.is_empty() {
        return Ok(0);
    }
    let rows: Vec<_> = newsletter_ids
        .iter()
        .map(|&newsletter_id| {
            (
                subs::newsletter_id.eq(newsletter_id),
                subs::user_id.eq(user_id),
                subs::created_at.eq(now),
            )
        })
        .collect();
    per_backend!(conn, |c| diesel::insert_into(subs::table)
        .values(&rows)
        .on_conflict_do_nothing()
        .execute(c))
}

/// Takes `user_id` off one newsletter (`Some`) or all (`None`); returns
/// how many subscriptions ended.
pub fn unsubscribe(conn: &mut DbConnection, user_id: i32, newsletter_id: Option<i32>) -> QueryResult<usize> {
    match newsletter_id {
        Some(id) => diesel::delete(subs::table.find((id, user_id))).execute(conn),
        None => diesel::delete(subs::table.filter(subs::user_id.eq(user_id))).execute(conn),
    }
}

/// Subscribes the first `size` readers (by id) to `newsletter_id` in one
/// statement (the benchmark's seed).
pub fn subscribe_first_readers(
    conn: &mut DbConnection,
    newsletter_id: i32,
    size: i64,
    now: PrimitiveDateTime,
) -> QueryResult<usize> {
    diesel::delete(subs::table.filter(subs::newsletter_id.eq(newsletter_id))).execute(conn)?;
    let readers = users::table
        .filter(users::role.eq("reader"))
        .order(users::id)
        .limit(size)
        .select((
            newsletter_id.into_sql::<diesel::sql_types::Integer>(),
            users::id,
            now.into_sql::<diesel::sql_types::Timestamp>(),
        ));
    per_backend!(conn, |c| diesel::insert_into(subs::table)
        .values(readers)
        .into_columns((subs::newsletter_id, subs::user_id, subs::created_at))
        .execute(c))
}
