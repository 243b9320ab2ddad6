//! Gift links: rows that say how long a shared link lives and how many opens
//! it has left. The link's token is signed over the row id (`auth::signed`).

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::db::{
    DbConnection,
    schema::{articles, gift_links, users},
};
use crate::{domain::access::Gift, per_backend};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = gift_links)]
pub struct GiftLink {
    pub id: i32,
    pub article_id: i32,
    pub gifter_id: i32,
    pub created_at: PrimitiveDateTime,
    pub expires_at: PrimitiveDateTime,
    pub max_reads: i32,
    pub reads: i32,
    pub revoked_at: Option<PrimitiveDateTime>,
}

impl GiftLink {
    /// The link as the access policy sees it.
    pub fn pass(&self) -> Gift {
        Gift {
            expires_at: self.expires_at,
            reads_left: self.reads_left(),
            revoked: self.revoked_at.is_some(),
        }
    }

    pub fn reads_left(&self) -> i32 {
        (self.max_reads - self.reads).max(0)
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = gift_links)]
pub struct NewGiftLink {
    pub article_id: i32,
    pub gifter_id: i32,
    pub created_at: PrimitiveDateTime,
    pub expires_at: PrimitiveDateTime,
    pub max_reads: i32,
}

impl NewGiftLink {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<GiftLink> {
        per_backend!(conn, |c| diesel::insert_into(gift_links::table)
            .values(self)
            .returning(GiftLink::as_returning())
            .get_result(c))
    }
}

/// Links `gifter_id` created since `since` (for the monthly quota).
pub fn count_created_since(
    conn: &mut DbConnection,
    gifter_id: i32,
    since: PrimitiveDateTime,
) -> QueryResult<i64> {
    gift_links::table
        .filter(gift_links::gifter_id.eq(gifter_id))
        .filter(gift_links::created_at.ge(since))
        .count()
        .get_result(conn)
}

/// A link and the display name of whoever gave it.
pub fn find_with_gifter(conn: &mut DbConnection, id: i32) -> QueryResult<Option<(GiftLink, Option<String>)>> {
    gift_links::table
        .inner_join(users::table)
        .filter(gift_links::id.eq(id))
        .select((GiftLink::as_select(), users::name))
        .first(conn)
        .optional()
}

/// Uses one open of the link, unless it closed meanwhile (used up, expired
/// or revoked by a request that got there first): one guarded UPDATE, so
/// concurrent opens never exceed the limit.
pub fn spend_read(conn: &mut DbConnection, id: i32, now: PrimitiveDateTime) -> QueryResult<bool> {
    let updated = diesel::update(
        gift_links::table
            .find(id)
            .filter(gift_links::reads.lt(gift_links::max_reads))
            .filter(gift_links::revoked_at.is_null())
            .filter(gift_links::expires_at.gt(now)),
    )
    .set(gift_links::reads.eq(gift_links::reads + 1))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Revokes a link of `gifter_id`; `false` when they have no such link.
/// Revoking twice is fine.
pub fn revoke(conn: &mut DbConnection, id: i32, gifter_id: i32, now: PrimitiveDateTime) -> QueryResult<bool> {
    let Some(revoked_at) = gift_links::table
        .filter(gift_links::id.eq(id))
        .filter(gift_links::gifter_id.eq(gifter_id))
        .select(gift_links::revoked_at)
        .first::<Option<PrimitiveDateTime>>(conn)
        .optional()?
    else {
        return Ok(false);
    };
    if revoked_at.is_none() {
        diesel::update(gift_links::table.find(id))
            .set(gift_links::revoked_at.eq(now))
            .execute(conn)?;
    }
    Ok(true)
}

/// A gifter's links, newest first, with the article's slug and title.
pub fn list_for_gifter(
    conn: &mut DbConnection,
    gifter_id: i32,
) -> QueryResult<Vec<(GiftLink, String, String)>> {
    gift_links::table
        .inner_join(articles::table)
        .filter(gift_links::gifter_id.eq(gifter_id))
        .order(gift_links::id.desc())
        .select((GiftLink::as_select(), articles::slug, articles::title))
        .load(conn)
}
