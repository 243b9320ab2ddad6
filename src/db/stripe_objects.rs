//! Objects we made in Stripe and reuse, by name, with a fingerprint of what
//! each was made from.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::db::{DbConnection, schema::stripe_objects};

/// The Billing Portal configuration made from the catalogue.
pub const PORTAL_CONFIGURATION: &str = "portal_configuration";

/// (Stripe id, fingerprint) of the object stored under `name`.
pub fn find(conn: &mut DbConnection, name: &str) -> QueryResult<Option<(String, String)>> {
    stripe_objects::table
        .find(name)
        .select((stripe_objects::stripe_id, stripe_objects::fingerprint))
        .first(conn)
        .optional()
}

pub fn store(
    conn: &mut DbConnection,
    name: &str,
    stripe_id: &str,
    fingerprint: &str,
    now: PrimitiveDateTime,
) -> QueryResult<usize> {
    diesel::delete(stripe_objects::table.find(name)).execute(conn)?;
    diesel::insert_into(stripe_objects::table)
        .values((
            stripe_objects::name.eq(name),
            stripe_objects::stripe_id.eq(stripe_id),
            stripe_objects::fingerprint.eq(fingerprint),
            stripe_objects::updated_at.eq(now),
        ))
        .execute(conn)
}
