//! Single-use emailed tokens: email verification, magic-link sign-in,
//! password reset. Only the SHA-256 of a token is stored.

use diesel::prelude::*;
use time::{Duration, PrimitiveDateTime};

use crate::db::{DbConnection, schema::login_tokens};
use crate::security::token;

/// Stores a new token for `user_id`; returns the raw token for the email.
pub fn create(
    conn: &mut DbConnection,
    user_id: i32,
    purpose: &str,
    lifetime: Duration,
) -> QueryResult<String> {
    let raw = token::generate("");
    let now = super::now();
    diesel::insert_into(login_tokens::table)
        .values((
            login_tokens::token_hash.eq(token::hash(&raw)),
            login_tokens::user_id.eq(user_id),
            login_tokens::purpose.eq(purpose),
            login_tokens::created_at.eq(now),
            login_tokens::expires_at.eq(now + lifetime),
        ))
        .execute(conn)?;
    Ok(raw)
}

/// Voids every unused emailed token of a user (their links stop working).
pub fn void_all_for_user(
    conn: &mut DbConnection,
    user_id: i32,
    now: PrimitiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        login_tokens::table
            .filter(login_tokens::user_id.eq(user_id))
            .filter(login_tokens::used_at.is_null()),
    )
    .set(login_tokens::used_at.eq(now))
    .execute(conn)
}

/// The user of an unused, unexpired token, without using it up (for the
/// confirm pages that precede the POST).
pub fn peek(
    conn: &mut DbConnection,
    raw: &str,
    purpose: &str,
    now: PrimitiveDateTime,
) -> QueryResult<Option<i32>> {
    login_tokens::table
        .filter(login_tokens::token_hash.eq(token::hash(raw)))
        .filter(login_tokens::purpose.eq(purpose))
        .filter(login_tokens::used_at.is_null())
        .filter(login_tokens::expires_at.gt(now))
        .select(login_tokens::user_id)
        .first(conn)
        .optional()
}

/// Uses the token up and returns its user; `None` if it is unknown, used,
/// expired or for another purpose. The conditional UPDATE makes a token
/// work once even when two requests race.
pub fn consume(
    conn: &mut DbConnection,
    raw: &str,
    purpose: &str,
    now: PrimitiveDateTime,
) -> QueryResult<Option<i32>> {
    let Some(user_id) = peek(conn, raw, purpose, now)? else {
        return Ok(None);
    };
    let used = diesel::update(
        login_tokens::table
            .filter(login_tokens::token_hash.eq(token::hash(raw)))
            .filter(login_tokens::used_at.is_null()),
    )
    .set(login_tokens::used_at.eq(now))
    .execute(conn)?;
    Ok((used == 1).then_some(user_id))
}
