//! What recipients did with a newsletter: the tracked links of each send,
//! the first click per delivery and link, and the first open.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::db::{
    DbConnection,
    schema::{articles, deliveries, link_clicks, send_links, sends},
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
    /// The slug of the post whose newsletter had the link.
    pub post_slug: String,
}

/// Where `delivery_id`'s link `key` goes: only ever a URL its send
/// recorded.
pub fn click_target(
    conn: &mut DbConnection,
    delivery_id: i32,
    key: LinkKey,
) -> QueryResult<Option<ClickTarget>> {
    let found: Option<(i32, String, String)> = deliveries::table
        .inner_join(send_links::table.on(send_links::send_id.eq(deliveries::send_id)))
        .inner_join(sends::table.on(sends::id.eq(deliveries::send_id)))
        .inner_join(articles::table.on(articles::id.eq(sends::article_id)))
        .filter(deliveries::id.eq(delivery_id))
        .filter(send_links::link_key.eq(key.hex()))
        .select((send_links::id, send_links::url, articles::slug))
        .first(conn)
        .optional()?;
    Ok(found.map(|(link_id, url, post_slug)| ClickTarget {
        link_id,
        url,
        post_slug,
    }))
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

/// What can happen to a delivery after it went out; each is kept once,
/// the first time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    Opened,
    Unsubscribed,
    Bounced,
    Complained,
}

/// Keeps the first time `moment` happened to `delivery_id` of `user_id`'s;
/// false for an unknown delivery, someone else's, or one already marked.
pub fn record_first(
    conn: &mut DbConnection,
    delivery_id: i32,
    user_id: i32,
    moment: Moment,
    at: PrimitiveDateTime,
) -> QueryResult<bool> {
    let theirs = deliveries::table
        .filter(deliveries::id.eq(delivery_id))
        .filter(deliveries::user_id.eq(user_id));
    let updated = match moment {
        Moment::Opened => diesel::update(theirs.filter(deliveries::opened_at.is_null()))
            .set(deliveries::opened_at.eq(at))
            .execute(conn)?,
        Moment::Unsubscribed => diesel::update(theirs.filter(deliveries::unsubscribed_at.is_null()))
            .set(deliveries::unsubscribed_at.eq(at))
            .execute(conn)?,
        Moment::Bounced => diesel::update(theirs.filter(deliveries::bounced_at.is_null()))
            .set(deliveries::bounced_at.eq(at))
            .execute(conn)?,
        Moment::Complained => diesel::update(theirs.filter(deliveries::complained_at.is_null()))
            .set(deliveries::complained_at.eq(at))
            .execute(conn)?,
    };
    Ok(updated == 1)
}

/// The recipient of a delivery.
pub fn recipient_of(conn: &mut DbConnection, delivery_id: i32) -> QueryResult<Option<i32>> {
    deliveries::table
        .find(delivery_id)
        .select(deliveries::user_id)
        .first(conn)
        .optional()
}

/// What recipients of one send did after it went out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendEngagement {
    pub bounced: i64,
    pub complained: i64,
    pub unsubscribed: i64,
    pub opened: i64,
    /// Recipients who clicked any tracked link.
    pub clicked: i64,
}

/// One tracked link of a send and the recipients who followed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkClicks {
    pub url: String,
    pub clicked: i64,
}

/// What recipients of send `send_id` did: two aggregate statements, none
/// per delivery.
pub fn send_engagement(conn: &mut DbConnection, send_id: i32) -> QueryResult<SendEngagement> {
    use diesel::dsl::count;
    let (opened, unsubscribed, bounced, complained) = deliveries::table
        .filter(deliveries::send_id.eq(send_id))
        .select((
            count(deliveries::opened_at),
            count(deliveries::unsubscribed_at),
            count(deliveries::bounced_at),
            count(deliveries::complained_at),
        ))
        .first(conn)?;
    let clicked = link_clicks::table
        .inner_join(deliveries::table)
        .filter(deliveries::send_id.eq(send_id))
        .select(count(link_clicks::delivery_id).aggregate_distinct())
        .first(conn)?;
    Ok(SendEngagement {
        bounced,
        complained,
        unsubscribed,
        opened,
        clicked,
    })
}

/// Each tracked link of send `send_id` with its clicks, most followed first.
pub fn clicks_per_link(conn: &mut DbConnection, send_id: i32) -> QueryResult<Vec<LinkClicks>> {
    use diesel::dsl::count;
    let rows: Vec<(String, i64)> = send_links::table
        .left_join(link_clicks::table)
        .filter(send_links::send_id.eq(send_id))
        .group_by((send_links::id, send_links::url))
        .select((send_links::url, count(link_clicks::delivery_id.nullable())))
        .order((count(link_clicks::delivery_id.nullable()).desc(), send_links::id))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(url, clicked)| LinkClicks { url, clicked })
        .collect())
}
