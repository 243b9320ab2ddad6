//! The member list editors search: filters combined in SQL, newest first,
//! and the few facts each row shows. Where members stand is the access
//! policy's to say (`members::directory`), from the billing rows loaded for
//! the members who have any.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::db::{
    DbConnection,
    schema::{
        comps, deliveries, member_labels, newsletter_subscriptions, subscriptions, suppressions, users,
    },
};
use crate::domain::{delivery::DeliveryStatus, role::Role};

diesel::define_sql_function!(fn lower(text: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>);

/// The filters SQL can apply (the status filter is applied after, by policy).
#[derive(Debug, Clone, Default)]
pub struct DirectoryFilter {
    /// Lowercase; matched anywhere in the email or the name.
    pub search: Option<String>,
    pub label_id: Option<i32>,
    pub newsletter_id: Option<i32>,
    /// Exact, or a prefix when it ends with `*`.
    pub source: Option<String>,
    pub created_after: Option<PrimitiveDateTime>,
}

/// `text` with LIKE's own wildcards escaped (with `\\`), so `50%` means
/// the text.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

type Backend = <DbConnection as diesel::Connection>::Backend;

fn filtered(filter: &DirectoryFilter) -> users::BoxedQuery<'_, Backend> {
    let mut query = users::table.filter(users::deleted_at.is_null()).into_boxed();
    if let Some(search) = &filter.search {
        let pattern = format!("%{}%", escape_like(search));
        query = query.filter(
            users::email
                .like(pattern.clone())
                .escape('\\')
                .or(lower(users::name).like(pattern).escape('\\')),
        );
    }
    if let Some(label_id) = filter.label_id {
        query = query.filter(diesel::dsl::exists(
            member_labels::table
                .filter(member_labels::user_id.eq(users::id))
                .filter(member_labels::label_id.eq(label_id)),
        ));
    }
    if let Some(newsletter_id) = filter.newsletter_id {
        query = query.filter(diesel::dsl::exists(
            newsletter_subscriptions::table
                .filter(newsletter_subscriptions::user_id.eq(users::id))
                .filter(newsletter_subscriptions::newsletter_id.eq(newsletter_id)),
        ));
    }
    if let Some(source) = &filter.source {
        query = match source.strip_suffix('*') {
            Some(prefix) => query.filter(
                users::source
                    .like(format!("{}%", escape_like(prefix)))
                    .escape('\\'),
            ),
            None => query.filter(users::source.eq(source.clone())),
        };
    }
    if let Some(after) = filter.created_after {
        query = query.filter(users::created_at.gt(after));
    }
    query
}

fn stored_role(role: String) -> QueryResult<Role> {
    Role::try_from(role).map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))
}

/// One page of matching members (id and role), newest first, and how many
/// match in all.
pub fn page(
    conn: &mut DbConnection,
    filter: &DirectoryFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<(i32, Role)>, i64)> {
    let total = filtered(filter).count().get_result(conn)?;
    let rows: Vec<(i32, String)> = filtered(filter)
        .order((users::created_at.desc(), users::id.desc()))
        .limit(limit)
        .offset(offset)
        .select((users::id, users::role))
        .load(conn)?;
    let rows = rows
        .into_iter()
        .map(|(id, role)| Ok((id, stored_role(role)?)))
        .collect::<QueryResult<_>>()?;
    Ok((rows, total))
}

/// Every matching member (id and role), newest first: for a status filter,
/// which only the policy can apply.
pub fn all_matching(conn: &mut DbConnection, filter: &DirectoryFilter) -> QueryResult<Vec<(i32, Role)>> {
    let rows: Vec<(i32, String)> = filtered(filter)
        .order((users::created_at.desc(), users::id.desc()))
        .select((users::id, users::role))
        .load(conn)?;
    rows.into_iter()
        .map(|(id, role)| Ok((id, stored_role(role)?)))
        .collect()
}

/// Members who have a subscription or a comp row: the only ones who can
/// stand anywhere but free (or staff).
pub fn with_billing_rows(conn: &mut DbConnection) -> QueryResult<HashSet<i32>> {
    let subscribed: Vec<i32> = subscriptions::table
        .select(subscriptions::user_id)
        .distinct()
        .load(conn)?;
    let comped: Vec<i32> = comps::table.select(comps::user_id).distinct().load(conn)?;
    Ok(subscribed.into_iter().chain(comped).collect())
}

/// A member as a list row shows them.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct MemberRow {
    pub id: i32,
    pub email: String,
    pub name: Option<String>,
    pub email_verified_at: Option<PrimitiveDateTime>,
    pub created_at: PrimitiveDateTime,
    pub source: Option<String>,
    pub note: Option<String>,
    pub stripe_customer_id: Option<String>,
}

/// The rows of `ids`, in that order.
pub fn rows(conn: &mut DbConnection, ids: &[i32]) -> QueryResult<Vec<MemberRow>> {
    let mut found: HashMap<i32, MemberRow> = users::table
        .filter(users::id.eq_any(ids))
        .select(MemberRow::as_select())
        .load::<MemberRow>(conn)?
        .into_iter()
        .map(|row| (row.id, row))
        .collect();
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// Members created since `since` (accounts not deleted).
pub fn count_created_since(conn: &mut DbConnection, since: PrimitiveDateTime) -> QueryResult<i64> {
    users::table
        .filter(users::deleted_at.is_null())
        .filter(users::created_at.ge(since))
        .count()
        .get_result(conn)
}

/// Every member's id and role (accounts not deleted): for the counts.
pub fn everyone(conn: &mut DbConnection) -> QueryResult<Vec<(i32, Role)>> {
    all_matching(conn, &DirectoryFilter::default())
}

/// How the newsletters sent to `user_id` went, by delivery status.
pub fn delivery_counts(conn: &mut DbConnection, user_id: i32) -> QueryResult<HashMap<DeliveryStatus, i64>> {
    let rows: Vec<(String, i64)> = deliveries::table
        .filter(deliveries::user_id.eq(user_id))
        .group_by(deliveries::status)
        .select((deliveries::status, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(status, n)| Some((DeliveryStatus::try_from(status).ok()?, n)))
        .collect())
}

/// Why the address is not written to, if it is not.
pub fn suppression_of(conn: &mut DbConnection, email: &str) -> QueryResult<Option<String>> {
    suppressions::table
        .filter(suppressions::email.eq(email))
        .select(suppressions::reason)
        .first(conn)
        .optional()
}
