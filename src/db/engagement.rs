//! What recipients did with a newsletter: the tracked links of each send,
//! the first click per delivery and link, and the first open.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::db::{
    DbConnection,
    schema::{deliveries, link_clicks, send_links},
};
use crate::{domain::tracking::LinkKey, per_backend};

/// Keeps the tracked links of a send (each URL once, whichever worker or
/// copy names it first), before any message that carries them goes out.
pub fn record_links(conn: &mut DbConnection, send_id: i32, links: &[(LinkKey, String)]) -> QueryResult<()> {
    let rows: Vec<_> = links
        .iter()
        .map(|(key, url)| {
            (
                send_links::send_id.eq(send_id),
                send_links::link_key.eq(key.hex()),
                send_links::url.eq(url.as_str()),
            )
        })
        .collect();
    for chunk in rows.chunks(500) {
        per_backend!(conn, |c| diesel::insert_into(send_links::table)
            .values(chunk)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(())
}

/// A tracked link as a click finds it.
pub struct ClickTarget {
    pub link_id: i32,
    pub url: String,
}

/// Where `delivery_id`'s link `key` goes: only ever a URL its send
/// recorded.
pub fn click_target(
    conn: &mut DbConnection,
    delivery_id: i32,
    key: LinkKey,
) -> QueryResult<Option<ClickTarget>> {
    let found: Option<(i32, String)> = deliveries::table
        .inner_join(send_links::table.on(send_links::send_id.eq(deliveries::send_id)))
        .filter(deliveries::id.eq(delivery_id))
        .filter(send_links::link_key.eq(key.hex()))
        .select((send_links::id, send_links::url))
        .first(conn)
        .optional()?;
    Ok(found.map(|(link_id, url)| ClickTarget { link_id, url }))
}

/// The first click of a delivery on a link; later ones change nothing.
pub fn record_click(
    conn: &mut DbConnection,
    delivery_id: i32,
    link_id: i32,
    at: PrimitiveDateTime,
) -> QueryResult<bool> {
    let row = (
        link_clicks::delivery_id.eq(delivery_id),
        link_clicks::link_id.eq(link_id),
        link_clicks::clicked_at.eq(at),
    );
    let inserted = per_backend!(conn, |c| diesel::insert_into(link_clicks::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(inserted == 1)
}

/// The first open of a delivery; later ones change nothing. False for an
/// unknown delivery or one already opened.
pub fn record_open(conn: &mut DbConnection, delivery_id: i32, at: PrimitiveDateTime) -> QueryResult<bool> {
    let updated = diesel::update(
        deliveries::table
            .filter(deliveries::id.eq(delivery_id))
            .filter(deliveries::opened_at.is_null()),
    )
    .set(deliveries::opened_at.eq(at))
    .execute(conn)?;
    Ok(updated == 1)
}
