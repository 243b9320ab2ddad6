//! Labels editors put on members, and which member carries which.

use std::collections::HashMap;

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::db::{
    DbConnection,
    schema::{labels, member_labels, users},
};
use crate::per_backend;

#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = labels)]
pub struct StoredLabel {
    pub id: i32,
    pub slug: String,
    pub name: String,
    pub created_at: PrimitiveDateTime,
}

/// Every label by name, with how many members (accounts not deleted) carry it.
pub fn list_with_counts(conn: &mut DbConnection) -> QueryResult<Vec<(StoredLabel, i64)>> {
    let all: Vec<StoredLabel> = labels::table
        .order(labels::name)
        .select(StoredLabel::as_select())
        .load(conn)?;
    let counts: HashMap<i32, i64> = member_labels::table
        .inner_join(users::table)
        .filter(users::deleted_at.is_null())
        .group_by(member_labels::label_id)
        .select((member_labels::label_id, diesel::dsl::count_star()))
        .load::<(i32, i64)>(conn)?
        .into_iter()
        .collect();
    Ok(all
        .into_iter()
        .map(|label| {
            let count = counts.get(&label.id).copied().unwrap_or(0);
            (label, count)
        })
        .collect())
}

pub fn find(conn: &mut DbConnection, id: i32) -> QueryResult<Option<StoredLabel>> {
    labels::table
        .find(id)
        .select(StoredLabel::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_slug(conn: &mut DbConnection, slug: &str) -> QueryResult<Option<StoredLabel>> {
    labels::table
        .filter(labels::slug.eq(slug))
        .select(StoredLabel::as_select())
        .first(conn)
        .optional()
}

/// Inserts a label; a taken name or slug is a unique violation for the caller.
pub fn insert(
    conn: &mut DbConnection,
    slug: &str,
    name: &str,
    now: PrimitiveDateTime,
) -> QueryResult<StoredLabel> {
    per_backend!(conn, |c| diesel::insert_into(labels::table)
        .values((
            labels::slug.eq(slug),
            labels::name.eq(name),
            labels::created_at.eq(now)
        ))
        .returning(StoredLabel::as_returning())
        .get_result(c))
}

/// The label with this slug, made with `name` if there is none yet (labels
/// are created on first use).
pub fn find_or_create(
    conn: &mut DbConnection,
    slug: &str,
    name: &str,
    now: PrimitiveDateTime,
) -> QueryResult<StoredLabel> {
    if let Some(label) = find_by_slug(conn, slug)? {
        return Ok(label);
    }
    // Two requests making the same label at once both get it: the second
    // insert does nothing.
    per_backend!(conn, |c| diesel::insert_into(labels::table)
        .values((
            labels::slug.eq(slug),
            labels::name.eq(name),
            labels::created_at.eq(now)
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    find_by_slug(conn, slug)?.ok_or(diesel::result::Error::NotFound)
}

pub fn rename(conn: &mut DbConnection, id: i32, slug: &str, name: &str) -> QueryResult<usize> {
    diesel::update(labels::table.find(id))
        .set((labels::slug.eq(slug), labels::name.eq(name)))
        .execute(conn)
}

/// Deletes a label; members who carried it lose it.
pub fn delete(conn: &mut DbConnection, id: i32) -> QueryResult<usize> {
    diesel::delete(member_labels::table.filter(member_labels::label_id.eq(id))).execute(conn)?;
    diesel::delete(labels::table.find(id)).execute(conn)
}

/// The labels `user_id` carries, by name.
pub fn labels_of(conn: &mut DbConnection, user_id: i32) -> QueryResult<Vec<StoredLabel>> {
    member_labels::table
        .inner_join(labels::table)
        .filter(member_labels::user_id.eq(user_id))
        .order(labels::name)
        .select(StoredLabel::as_select())
        .load(conn)
}

/// The label names of each of `user_ids` (one page of the member list).
pub fn names_of_many(conn: &mut DbConnection, user_ids: &[i32]) -> QueryResult<HashMap<i32, Vec<String>>> {
    let rows: Vec<(i32, String)> = member_labels::table
        .inner_join(labels::table)
        .filter(member_labels::user_id.eq_any(user_ids))
        .order((member_labels::user_id, labels::name))
        .select((member_labels::user_id, labels::name))
        .load(conn)?;
    let mut names: HashMap<i32, Vec<String>> = HashMap::new();
    for (user_id, name) in rows {
        names.entry(user_id).or_default().push(name);
    }
    Ok(names)
}

/// Makes `user_id` carry exactly `label_ids`.
pub fn set_member_labels(
    conn: &mut DbConnection,
    user_id: i32,
    label_ids: &[i32],
    now: PrimitiveDateTime,
) -> QueryResult<()> {
    diesel::delete(
        member_labels::table
            .filter(member_labels::user_id.eq(user_id))
            .filter(member_labels::label_id.ne_all(label_ids)),
    )
    .execute(conn)?;
    add_member_labels(conn, user_id, label_ids, now)
}

/// Adds `label_ids` to what `user_id` carries.
pub fn add_member_labels(
    conn: &mut DbConnection,
    user_id: i32,
    label_ids: &[i32],
    now: PrimitiveDateTime,
) -> QueryResult<()> {
    if label_ids.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = label_ids
        .iter()
        .map(|&label_id| {
            (
                member_labels::label_id.eq(label_id),
                member_labels::user_id.eq(user_id),
                member_labels::created_at.eq(now),
            )
        })
        .collect();
    per_backend!(conn, |c| diesel::insert_into(member_labels::table)
        .values(&rows)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(())
}
