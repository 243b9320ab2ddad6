//! Server-wide secrets kept in the database, so every instance shares them.

use diesel::prelude::*;

use crate::db::{DbConnection, schema::server_secrets};
use crate::per_backend;

/// The secret called `name`, created from `generate` the first time. Two
/// instances starting at once agree: the first insert wins, both read it.
pub fn get_or_create(
    conn: &mut DbConnection,
    name: &str,
    generate: impl FnOnce() -> String,
) -> QueryResult<String> {
    let value = generate();
    let now = super::now();
    per_backend!(conn, |c| diesel::insert_into(server_secrets::table)
        .values((
            server_secrets::name.eq(name),
            server_secrets::value.eq(&value),
            server_secrets::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    server_secrets::table
        .find(name)
        .select(server_secrets::value)
        .first(conn)
}
