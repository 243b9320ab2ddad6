//! Tags and the posts that carry them (`tags`, `article_tags`), and the old
//! slugs of renamed tags (`tag_redirects`).

use std::collections::HashMap;

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::db::{
    DbConnection,
    schema::{article_tags, articles, tag_redirects, tags},
};
use crate::domain::tags::TagName;
use crate::per_backend;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = tags)]
pub struct Tag {
    pub id: i32,
    pub slug: String,
    pub name: String,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
}

/// A tag as a post shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRef {
    pub slug: String,
    pub name: String,
}

/// The tag with `tag`'s slug, made with its name the first time.
pub fn find_or_create(conn: &mut DbConnection, tag: &TagName, now: PrimitiveDateTime) -> QueryResult<i32> {
    per_backend!(conn, |c| diesel::insert_into(tags::table)
        .values((
            tags::slug.eq(tag.slug.as_str()),
            tags::name.eq(&tag.name),
            tags::created_at.eq(now),
            tags::updated_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    tags::table
        .filter(tags::slug.eq(tag.slug.as_str()))
        .select(tags::id)
        .first(conn)
}

/// Gives a post exactly these tags (ids), in this order.
pub fn set_for_article(conn: &mut DbConnection, article_id: i32, tag_ids: &[i32]) -> QueryResult<()> {
    diesel::delete(article_tags::table.filter(article_tags::article_id.eq(article_id))).execute(conn)?;
    let rows: Vec<_> = tag_ids
        .iter()
        .enumerate()
        .map(|(position, &tag_id)| {
            (
                article_tags::article_id.eq(article_id),
                article_tags::tag_id.eq(tag_id),
                article_tags::position.eq(position as i32),
            )
        })
        .collect();
    if !rows.is_empty() {
        per_backend!(conn, |c| diesel::insert_into(article_tags::table)
            .values(&rows)
            .execute(c))?;
    }
    Ok(())
}

/// The tags of each of these posts, in their order.
pub fn of_articles(conn: &mut DbConnection, article_ids: &[i32]) -> QueryResult<HashMap<i32, Vec<TagRef>>> {
    if article_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i32, String, String)> = article_tags::table
        .inner_join(tags::table)
        .filter(article_tags::article_id.eq_any(article_ids))
        .order((article_tags::article_id, article_tags::position))
        .select((article_tags::article_id, tags::slug, tags::name))
        .load(conn)?;
    let mut by_article: HashMap<i32, Vec<TagRef>> = HashMap::new();
    for (article_id, slug, name) in rows {
        by_article
            .entry(article_id)
            .or_default()
            .push(TagRef { slug, name });
    }
    Ok(by_article)
}

pub fn find(conn: &mut DbConnection, id: i32) -> QueryResult<Option<Tag>> {
    tags::table
        .find(id)
        .select(Tag::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_slug(conn: &mut DbConnection, slug: &str) -> QueryResult<Option<Tag>> {
    tags::table
        .filter(tags::slug.eq(slug))
        .select(Tag::as_select())
        .first(conn)
        .optional()
}

/// The current slug of the tag that used to be at `old_slug`.
pub fn redirect_target(conn: &mut DbConnection, old_slug: &str) -> QueryResult<Option<String>> {
    tag_redirects::table
        .inner_join(tags::table)
        .filter(tag_redirects::old_slug.eq(old_slug))
        .select(tags::slug)
        .first(conn)
        .optional()
}

/// Every tag, by name, with how many posts carry it (drafts included: the
/// editors' view).
pub fn list_with_counts(conn: &mut DbConnection) -> QueryResult<Vec<(Tag, i64)>> {
    let counts: HashMap<i32, i64> = article_tags::table
        .group_by(article_tags::tag_id)
        .select((article_tags::tag_id, diesel::dsl::count_star()))
        .load::<(i32, i64)>(conn)?
        .into_iter()
        .collect();
    let all: Vec<Tag> = tags::table
        .order(tags::name)
        .select(Tag::as_select())
        .load(conn)?;
    Ok(all
        .into_iter()
        .map(|tag| {
            let count = counts.get(&tag.id).copied().unwrap_or(0);
            (tag, count)
        })
        .collect())
}

/// Whether another tag has `slug`.
pub fn slug_taken_by_other(conn: &mut DbConnection, slug: &str, id: i32) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        tags::table.filter(tags::slug.eq(slug)).filter(tags::id.ne(id)),
    ))
    .get_result(conn)
}

/// Renames tag `id`; its old slug keeps answering (a redirect), and a
/// redirect from the new slug, if there was one, is dropped.
pub fn rename(conn: &mut DbConnection, tag: &Tag, to: &TagName, now: PrimitiveDateTime) -> QueryResult<()> {
    diesel::update(tags::table.find(tag.id))
        .set((
            tags::name.eq(&to.name),
            tags::slug.eq(to.slug.as_str()),
            tags::updated_at.eq(now),
        ))
        .execute(conn)?;
    diesel::delete(tag_redirects::table.filter(tag_redirects::old_slug.eq(to.slug.as_str())))
        .execute(conn)?;
    if tag.slug != to.slug.as_str() {
        diesel::delete(tag_redirects::table.filter(tag_redirects::old_slug.eq(&tag.slug))).execute(conn)?;
        diesel::insert_into(tag_redirects::table)
            .values((
                tag_redirects::old_slug.eq(&tag.slug),
                tag_redirects::tag_id.eq(tag.id),
                tag_redirects::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Ids of every article carrying `tag_id`, drafts included.
pub fn article_ids(conn: &mut DbConnection, tag_id: i32) -> QueryResult<Vec<i32>> {
    article_tags::table
        .filter(article_tags::tag_id.eq(tag_id))
        .select(article_tags::article_id)
        .load(conn)
}

/// Ids of the live posts on the site carrying `tag_id`, newest first.
pub fn live_article_ids(
    conn: &mut DbConnection,
    tag_id: i32,
    now: PrimitiveDateTime,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<i32>> {
    article_tags::table
        .inner_join(articles::table)
        .filter(article_tags::tag_id.eq(tag_id))
        .filter(super::articles::listed_on_site(now))
        .order((articles::published_at.desc(), articles::id.desc()))
        .limit(limit)
        .offset(offset)
        .select(articles::id)
        .load(conn)
}
