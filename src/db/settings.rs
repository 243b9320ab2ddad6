//! The publication's settings document (one row; see `domain::settings`).

use diesel::prelude::*;

use crate::db::{DbConnection, schema::site_settings};
use crate::per_backend;

const THE_ROW: i32 = 1;

/// The stored document, if the settings were ever written.
pub fn load(conn: &mut DbConnection) -> QueryResult<Option<String>> {
    site_settings::table
        .find(THE_ROW)
        .select(site_settings::document)
        .first(conn)
        .optional()
}

/// Stores `document` unless settings exist already (first start: two
/// instances starting at once agree, the first insert wins).
pub fn insert_if_absent(conn: &mut DbConnection, document: &str) -> QueryResult<()> {
    write(conn, document, false)
}

/// Replaces the document.
pub fn save(conn: &mut DbConnection, document: &str) -> QueryResult<()> {
    write(conn, document, true)
}

fn write(conn: &mut DbConnection, document: &str, replace: bool) -> QueryResult<()> {
    let now = super::now();
    let row = (
        site_settings::id.eq(THE_ROW),
        site_settings::document.eq(document),
        site_settings::updated_at.eq(now),
    );
    if replace {
        per_backend!(conn, |c| diesel::insert_into(site_settings::table)
            .values(row)
            .on_conflict(site_settings::id)
            .do_update()
            .set((
                site_settings::document.eq(document),
                site_settings::updated_at.eq(now)
            ))
            .execute(c))?;
    } else {
        per_backend!(conn, |c| diesel::insert_into(site_settings::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(())
}
