use diesel::prelude::*;
use time::{Duration, PrimitiveDateTime};

use crate::db::{
    DbConnection,
    schema::{sessions, users},
    users::User,
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: i32,
    pub user_id: i32,
    pub created_at: PrimitiveDateTime,
    pub expires_at: PrimitiveDateTime,
    pub last_seen_at: PrimitiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub user_id: i32,
    pub user_agent: Option<&'a str>,
    pub created_at: PrimitiveDateTime,
    pub expires_at: PrimitiveDateTime,
    pub last_seen_at: PrimitiveDateTime,
}

impl NewSession<'_> {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<usize> {
        diesel::insert_into(sessions::table).values(self).execute(conn)
    }
}

/// `last_seen_at` is refreshed at most this often, so reading a page is not a
/// write on every request.
const TOUCH_EVERY: Duration = Duration::minutes(10);

/// The live session with this token hash and its user.
pub fn find_live(
    conn: &mut DbConnection,
    token_hash: &str,
    now: PrimitiveDateTime,
) -> QueryResult<Option<(Session, User)>> {
    let found = sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(token_hash))
        .filter(sessions::expires_at.gt(now))
        .select((Session::as_select(), User::as_select()))
        .first(conn)
        .optional()?;
    if let Some((session, _)) = &found
        && now - session.last_seen_at > TOUCH_EVERY
    {
        diesel::update(sessions::table.find(session.id))
            .set(sessions::last_seen_at.eq(now))
            .execute(conn)?;
    }
    Ok(found)
}

pub fn delete_by_token_hash(conn: &mut DbConnection, token_hash: &str) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::token_hash.eq(token_hash))).execute(conn)
}

/// Ends every session of a user (after a password change).
pub fn delete_all_for_user(conn: &mut DbConnection, user_id: i32) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)
}

/// Ends every session of a user but `keep` (a token hash), if given.
pub fn delete_all_for_user_except(
    conn: &mut DbConnection,
    user_id: i32,
    keep: Option<&str>,
) -> QueryResult<usize> {
    let theirs = sessions::table.filter(sessions::user_id.eq(user_id));
    match keep {
        Some(hash) => diesel::delete(theirs.filter(sessions::token_hash.ne(hash))).execute(conn),
        None => diesel::delete(theirs).execute(conn),
    }
}

/// Whether the session with `token_hash` is one of `user_id`'s.
pub fn belongs_to(conn: &mut DbConnection, token_hash: &str, user_id: i32) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        sessions::table
            .filter(sessions::token_hash.eq(token_hash))
            .filter(sessions::user_id.eq(user_id)),
    ))
    .get_result(conn)
}

/// A session as the account page lists it.
#[derive(Debug, Clone, Queryable)]
pub struct SessionSummary {
    pub id: i32,
    pub token_hash: String,
    pub user_agent: Option<String>,
    pub created_at: PrimitiveDateTime,
    pub last_seen_at: PrimitiveDateTime,
}

pub fn live_for_user(
    conn: &mut DbConnection,
    user_id: i32,
    now: PrimitiveDateTime,
) -> QueryResult<Vec<SessionSummary>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::expires_at.gt(now))
        .order(sessions::last_seen_at.desc())
        .select((
            sessions::id,
            sessions::token_hash,
            sessions::user_agent,
            sessions::created_at,
            sessions::last_seen_at,
        ))
        .load(conn)
}

/// Ends one of the user's sessions; returns whether there was one.
pub fn delete_for_user(conn: &mut DbConnection, user_id: i32, id: i32) -> QueryResult<bool> {
    diesel::delete(
        sessions::table
            .filter(sessions::id.eq(id))
            .filter(sessions::user_id.eq(user_id)),
    )
    .execute(conn)
    .map(|n| n == 1)
}
