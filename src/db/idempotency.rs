//! Stored answers to POSTs sent with an `Idempotency-Key`.

use diesel::prelude::*;
use time::{Duration, PrimitiveDateTime};

use crate::db::{DbConnection, is_unique_violation, schema::idempotency_keys};

/// How long a key is remembered.
pub const KEEP_FOR: Duration = Duration::hours(24);

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = idempotency_keys)]
pub struct StoredRequest {
    pub id: i32,
    pub request_hash: String,
    pub response_status: Option<i32>,
    pub response_body: Option<String>,
}

/// Either this request now holds the key, or an earlier one does.
pub enum Claim {
    Claimed(i32),
    Existing(StoredRequest),
}

/// Takes `key` for this owner, or returns what an earlier request left.
/// The unique index makes two concurrent requests with one key resolve to
/// one claim.
pub fn claim(conn: &mut DbConnection, owner_hash: &str, key: &str, request_hash: &str) -> QueryResult<Claim> {
    let inserted = conn.transaction(|conn| {
        diesel::insert_into(idempotency_keys::table)
            .values((
                idempotency_keys::owner_hash.eq(owner_hash),
                idempotency_keys::idempotency_key.eq(key),
                idempotency_keys::request_hash.eq(request_hash),
                idempotency_keys::created_at.eq(super::now()),
            ))
            .execute(conn)
    });
    match inserted {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            let existing = idempotency_keys::table
                .filter(idempotency_keys::owner_hash.eq(owner_hash))
                .filter(idempotency_keys::idempotency_key.eq(key))
                .select(StoredRequest::as_select())
                .first(conn)?;
            return Ok(Claim::Existing(existing));
        }
        Err(e) => return Err(e),
    }
    idempotency_keys::table
        .filter(idempotency_keys::owner_hash.eq(owner_hash))
        .filter(idempotency_keys::idempotency_key.eq(key))
        .select(idempotency_keys::id)
        .first(conn)
        .map(Claim::Claimed)
}

pub fn store_response(conn: &mut DbConnection, id: i32, status: u16, body: &str) -> QueryResult<usize> {
    diesel::update(idempotency_keys::table.find(id))
        .set((
            idempotency_keys::response_status.eq(i32::from(status)),
            idempotency_keys::response_body.eq(body),
        ))
        .execute(conn)
}

/// Lets the key go (after a server error), so a retry is handled afresh.
pub fn release(conn: &mut DbConnection, id: i32) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.find(id)).execute(conn)
}

pub fn purge_older_than(conn: &mut DbConnection, before: PrimitiveDateTime) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(before))).execute(conn)
}
