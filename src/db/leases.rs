//! Leases: work that one instance at a time should do (the scheduled
//! stripe-sync). Whoever holds an unexpired lease does it; a crashed
//! holder's lease simply runs out.

use diesel::prelude::*;
use time::{Duration, PrimitiveDateTime};

use crate::db::{DbConnection, schema::leases};
use crate::per_backend;

/// Takes the lease `name` for `holder` until `now + ttl` if it is free,
/// expired, or already `holder`'s. Says whether `holder` has it now.
pub fn try_acquire(
    conn: &mut DbConnection,
    name: &str,
    holder: &str,
    now: PrimitiveDateTime,
    ttl: Duration,
) -> QueryResult<bool> {
    let until = now + ttl;
    let inserted = per_backend!(conn, |c| diesel::insert_into(leases::table)
        .values((
            leases::name.eq(name),
            leases::holder.eq(holder),
            leases::expires_at.eq(until),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    if inserted == 1 {
        return Ok(true);
    }
    // One statement, so two instances racing for an expired lease cannot
    // both win: the second finds it unexpired and held by the first.
    let taken = diesel::update(
        leases::table
            .filter(leases::name.eq(name))
            .filter(leases::holder.eq(holder).or(leases::expires_at.le(now))),
    )
    .set((leases::holder.eq(holder), leases::expires_at.eq(until)))
    .execute(conn)?;
    Ok(taken == 1)
}

/// Who holds `name` and until when, if anyone ever did.
pub fn holder(conn: &mut DbConnection, name: &str) -> QueryResult<Option<(String, PrimitiveDateTime)>> {
    leases::table
        .find(name)
        .select((leases::holder, leases::expires_at))
        .first(conn)
        .optional()
}
