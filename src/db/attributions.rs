//! What brought each member (`member_attributions`): a row per sign-up and
//! per start of a paid subscription, with the parts of the reader's trail
//! that still name something here.

use std::collections::HashMap;

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::db::{
    DbConnection,
    schema::{articles, gift_links, member_attributions, offers},
};
use crate::domain::attribution::{AttributionKind, Trail};

/// What the server adds to a trail: what only it knows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Known<'a> {
    /// The origin of the page that framed the embedded form.
    pub embed_origin: Option<&'a str>,
    /// The gift subscription redeemed.
    pub gift_subscription_id: Option<i32>,
}

fn article_id(conn: &mut DbConnection, slug: Option<&str>) -> QueryResult<Option<i32>> {
    let Some(slug) = slug else { return Ok(None) };
    articles::table
        .filter(articles::slug.eq(slug))
        .select(articles::id)
        .first(conn)
        .optional()
}

/// Records `kind` for the member. Ids and slugs that name nothing are left
/// out (a trail is the visitor's to edit); a member's second sign-up is
/// ignored. A gift link stands for its post when the trail names none.
pub fn record(
    conn: &mut DbConnection,
    user_id: i32,
    kind: AttributionKind,
    trail: &Trail,
    known: Known<'_>,
    now: PrimitiveDateTime,
) -> QueryResult<()> {
    if kind == AttributionKind::Signup {
        let counted: bool = diesel::select(diesel::dsl::exists(
            member_attributions::table
                .filter(member_attributions::user_id.eq(user_id))
                .filter(member_attributions::kind.eq(kind.as_str())),
        ))
        .get_result(conn)?;
        if counted {
            return Ok(());
        }
    }
    let gift: Option<(i32, i32)> = match trail.gift_link {
        Some(id) => gift_links::table
            .find(id)
            .select((gift_links::id, gift_links::article_id))
            .first(conn)
            .optional()?,
        None => None,
    };
    let post = match article_id(conn, trail.post.as_ref().map(|s| s.as_str()))? {
        Some(id) => Some(id),
        None => gift.map(|(_, article)| article),
    };
    let newsletter = article_id(conn, trail.newsletter.as_ref().map(|s| s.as_str()))?;
    let offer: Option<i32> = match trail.offer {
        Some(id) => offers::table.find(id).select(offers::id).first(conn).optional()?,
        None => None,
    };
    diesel::insert_into(member_attributions::table)
        .values((
            member_attributions::user_id.eq(user_id),
            member_attributions::kind.eq(kind.as_str()),
            member_attributions::article_id.eq(post),
            member_attributions::newsletter_article_id.eq(newsletter),
            member_attributions::gift_link_id.eq(gift.map(|(id, _)| id)),
            member_attributions::gift_subscription_id.eq(known.gift_subscription_id),
            member_attributions::offer_id.eq(offer),
            member_attributions::embed_origin.eq(known.embed_origin),
            member_attributions::referrer.eq(trail.referrer.as_deref()),
            member_attributions::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The members a post brought: by its page or by its newsletter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PostAttribution {
    pub signups: i64,
    pub paid_conversions: i64,
}

pub fn of_article(conn: &mut DbConnection, article_id: i32) -> QueryResult<PostAttribution> {
    let kinds: Vec<String> = member_attributions::table
        .filter(
            member_attributions::article_id
                .eq(article_id)
                .or(member_attributions::newsletter_article_id.eq(article_id)),
        )
        .select(member_attributions::kind)
        .load(conn)?;
    let count = |kind: AttributionKind| kinds.iter().filter(|k| *k == kind.as_str()).count() as i64;
    Ok(PostAttribution {
        signups: count(AttributionKind::Signup),
        paid_conversions: count(AttributionKind::Paid),
    })
}

/// One attribution as the member's record (and their data export) shows
/// it, posts by slug.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MemberAttribution {
    pub kind: AttributionKind,
    pub post: Option<String>,
    pub newsletter: Option<String>,
    pub gift_link_id: Option<i32>,
    pub gift_subscription_id: Option<i32>,
    pub offer_code: Option<String>,
    pub embed_origin: Option<String>,
    pub referrer: Option<String>,
    #[serde(serialize_with = "crate::domain::time::serialize_rfc3339")]
    pub created_at: PrimitiveDateTime,
}

#[derive(Queryable)]
struct StoredRow {
    #[diesel(deserialize_as = String)]
    kind: AttributionKind,
    article_id: Option<i32>,
    newsletter_article_id: Option<i32>,
    gift_link_id: Option<i32>,
    gift_subscription_id: Option<i32>,
    offer_code: Option<String>,
    embed_origin: Option<String>,
    referrer: Option<String>,
    created_at: PrimitiveDateTime,
}

/// A member's attributions, oldest first.
pub fn of_member(conn: &mut DbConnection, user_id: i32) -> QueryResult<Vec<MemberAttribution>> {
    let rows: Vec<StoredRow> = member_attributions::table
        .left_join(offers::table.on(offers::id.nullable().eq(member_attributions::offer_id)))
        .filter(member_attributions::user_id.eq(user_id))
        .order(member_attributions::id.asc())
        .select((
            member_attributions::kind,
            member_attributions::article_id,
            member_attributions::newsletter_article_id,
            member_attributions::gift_link_id,
            member_attributions::gift_subscription_id,
            offers::code.nullable(),
            member_attributions::embed_origin,
            member_attributions::referrer,
            member_attributions::created_at,
        ))
        .load(conn)?;
    let ids: Vec<i32> = rows
        .iter()
        .flat_map(|r| [r.article_id, r.newsletter_article_id])
        .flatten()
        .collect();
    let slugs: HashMap<i32, String> = articles::table
        .filter(articles::id.eq_any(&ids))
        .select((articles::id, articles::slug))
        .load::<(i32, String)>(conn)?
        .into_iter()
        .collect();
    let slug = |id: Option<i32>| id.and_then(|id| slugs.get(&id).cloned());
    Ok(rows
        .into_iter()
        .map(|row| MemberAttribution {
            kind: row.kind,
            post: slug(row.article_id),
            newsletter: slug(row.newsletter_article_id),
            gift_link_id: row.gift_link_id,
            gift_subscription_id: row.gift_subscription_id,
            offer_code: row.offer_code,
            embed_origin: row.embed_origin,
            referrer: row.referrer,
            created_at: row.created_at,
        })
        .collect())
}
