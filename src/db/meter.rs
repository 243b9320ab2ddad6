//! Metered reads: which paid articles a free member read in full this month.
//! Each read takes a numbered slot (1..=allowance) under a unique key, so
//! the allowance holds across instances without locks: two requests racing
//! for the last slot cannot both insert it.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::db::{DbConnection, schema::meter_reads};
use crate::domain::{access::MeterReads, time::month_key};

/// This month's reads of `user_id`, and whether `article_id` is among them.
pub fn reads(
    conn: &mut DbConnection,
    user_id: i32,
    article_id: i32,
    now: PrimitiveDateTime,
    opening: bool,
) -> QueryResult<MeterReads> {
    let month = month_key(now);
    let read: Vec<i32> = meter_reads::table
        .filter(meter_reads::user_id.eq(user_id))
        .filter(meter_reads::month.eq(&month))
        .select(meter_reads::article_id)
        .load(conn)?;
    Ok(MeterReads {
        used: u32::try_from(read.len()).unwrap_or(u32::MAX),
        this_article: read.contains(&article_id),
        opening,
    })
}

/// Records that `user_id` read `article_id` this month. `false` when every
/// slot is taken (another request spent the last one first); reading an
/// article already counted is `true` and costs nothing.
pub fn spend(
    conn: &mut DbConnection,
    user_id: i32,
    article_id: i32,
    now: PrimitiveDateTime,
    allowance: u32,
) -> QueryResult<bool> {
    let month = month_key(now);
    let allowance = i32::try_from(allowance).unwrap_or(i32::MAX);
    // Each lost race means another read took a slot, so this ends within
    // `allowance` rounds.
    loop {
        let taken: Vec<(i32, i32)> = meter_reads::table
            .filter(meter_reads::user_id.eq(user_id))
            .filter(meter_reads::month.eq(&month))
            .select((meter_reads::article_id, meter_reads::slot))
            .load(conn)?;
        if taken.iter().any(|(article, _)| *article == article_id) {
            return Ok(true);
        }
        // The lowest free slot: slots of deleted articles are freed again.
        let Some(slot) = (1..=allowance).find(|slot| !taken.iter().any(|(_, s)| s == slot)) else {
            return Ok(false);
        };
        let inserted = conn.transaction(|conn| {
            diesel::insert_into(meter_reads::table)
                .values((
                    meter_reads::user_id.eq(user_id),
                    meter_reads::article_id.eq(article_id),
                    meter_reads::month.eq(&month),
                    meter_reads::slot.eq(slot),
                    meter_reads::read_at.eq(now),
                ))
                .execute(conn)
        });
        match inserted {
            Ok(_) => return Ok(true),
            Err(e) if super::is_unique_violation(&e) => continue,
            Err(e) => return Err(e),
        }
    }
}
