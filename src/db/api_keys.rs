use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::db::{
    DbConnection,
    schema::{api_keys, users},
    users::User,
};

#[derive(Debug, Insertable)]
#[diesel(table_name = api_keys)]
pub struct NewApiKey<'a> {
    pub name: &'a str,
    pub key_hash: &'a str,
    pub user_id: i32,
    pub created_at: PrimitiveDateTime,
}

impl NewApiKey<'_> {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<usize> {
        diesel::insert_into(api_keys::table).values(self).execute(conn)
    }
}

/// The owner of the unrevoked key with this hash, marking the key used.
pub fn owner_of_live_key(
    conn: &mut DbConnection,
    key_hash: &str,
    now: PrimitiveDateTime,
) -> QueryResult<Option<User>> {
    let found: Option<(i32, User)> = api_keys::table
        .inner_join(users::table)
        .filter(api_keys::key_hash.eq(key_hash))
        .filter(api_keys::revoked_at.is_null())
        .select((api_keys::id, User::as_select()))
        .first(conn)
        .optional()?;
    let Some((key_id, user)) = found else {
        return Ok(None);
    };
    diesel::update(api_keys::table.find(key_id))
        .set(api_keys::last_used_at.eq(now))
        .execute(conn)?;
    Ok(Some(user))
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: i32,
    pub name: String,
    pub user_id: i32,
    pub created_at: PrimitiveDateTime,
    pub last_used_at: Option<PrimitiveDateTime>,
    pub revoked_at: Option<PrimitiveDateTime>,
}

/// Every key with its owner's email, oldest first.
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<(ApiKey, String)>> {
    api_keys::table
        .inner_join(users::table)
        .order(api_keys::id)
        .select((ApiKey::as_select(), users::email))
        .load(conn)
}

/// Revokes key `id`; returns whether a live key was revoked.
pub fn revoke(conn: &mut DbConnection, id: i32, now: PrimitiveDateTime) -> QueryResult<bool> {
    diesel::update(api_keys::table.find(id).filter(api_keys::revoked_at.is_null()))
        .set(api_keys::revoked_at.eq(now))
        .execute(conn)
        .map(|n| n == 1)
}
