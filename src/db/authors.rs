//! Authors: the public profiles of staff (`author_profiles`) and the ordered
//! byline of each post (`article_authors`).

use std::collections::HashMap;

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::db::{
    DbConnection,
    schema::{article_authors, articles, author_profiles, users},
};
use crate::domain::{author, role::Role, slug::Slug};
use crate::per_backend;

/// An author as a byline shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorRef {
    pub user_id: i32,
    pub name: Option<String>,
    pub slug: String,
}

impl AuthorRef {
    /// The name to print: a writer without one is "The editors".
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or("The editors")
    }
}

/// A writer's public profile.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct AuthorProfile {
    pub user_id: i32,
    pub name: Option<String>,
    pub slug: String,
    pub bio: Option<String>,
    pub avatar_url: Option<String>,
}

impl AuthorProfile {
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or("The editors")
    }
}

type ProfileColumns = (
    author_profiles::user_id,
    users::name,
    author_profiles::slug,
    author_profiles::bio,
    author_profiles::avatar_url,
);
const PROFILE_COLUMNS: ProfileColumns = (
    author_profiles::user_id,
    users::name,
    author_profiles::slug,
    author_profiles::bio,
    author_profiles::avatar_url,
);

/// The profile of `user_id`, made (with a slug from their name) the first
/// time they are on a byline or edit it. Returns nothing new when it exists.
pub fn ensure_profile(conn: &mut DbConnection, user_id: i32, now: PrimitiveDateTime) -> QueryResult<()> {
    let exists = diesel::select(diesel::dsl::exists(
        author_profiles::table.filter(author_profiles::user_id.eq(user_id)),
    ))
    .get_result::<bool>(conn)?;
    if exists {
        return Ok(());
    }
    let name: Option<String> = users::table.find(user_id).select(users::name).first(conn)?;
    let base = author::first_slug(name.as_deref(), user_id);
    let candidates = std::iter::once(base.clone()).chain((2..).map(|n| base.with_suffix(n)));
    for slug in candidates.take(50) {
        if slug_taken_by_other(conn, slug.as_str(), user_id)? {
            continue;
        }
        let inserted = per_backend!(conn, |c| diesel::insert_into(author_profiles::table)
            .values((
                author_profiles::user_id.eq(user_id),
                author_profiles::slug.eq(slug.as_str()),
                author_profiles::created_at.eq(now),
                author_profiles::updated_at.eq(now),
            ))
            .on_conflict_do_nothing()
            .execute(c))?;
        if inserted == 1 || exists_for(conn, user_id)? {
            return Ok(());
        }
    }
    // Fifty namesakes: the id is unique.
    let slug = format!("author-{user_id}");
    per_backend!(conn, |c| diesel::insert_into(author_profiles::table)
        .values((
            author_profiles::user_id.eq(user_id),
            author_profiles::slug.eq(&slug),
            author_profiles::created_at.eq(now),
            author_profiles::updated_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(())
}

fn exists_for(conn: &mut DbConnection, user_id: i32) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        author_profiles::table.filter(author_profiles::user_id.eq(user_id)),
    ))
    .get_result(conn)
}

/// Gives a profile to every writer on a byline who has none (posts written
/// before profiles existed). Run after migrations; cheap when none is missing.
pub fn give_bylines_profiles(conn: &mut DbConnection, now: PrimitiveDateTime) -> QueryResult<usize> {
    let missing: Vec<i32> = article_authors::table
        .left_join(author_profiles::table.on(author_profiles::user_id.eq(article_authors::user_id)))
        .filter(author_profiles::user_id.is_null())
        .select(article_authors::user_id)
        .distinct()
        .load(conn)?;
    for user_id in &missing {
        ensure_profile(conn, *user_id, now)?;
    }
    Ok(missing.len())
}

/// Puts exactly these writers (user ids), in this order, on a post's
/// byline, giving each a profile.
pub fn set_for_article(
    conn: &mut DbConnection,
    article_id: i32,
    user_ids: &[i32],
    now: PrimitiveDateTime,
) -> QueryResult<()> {
    for user_id in user_ids {
        ensure_profile(conn, *user_id, now)?;
    }
    diesel::delete(article_authors::table.filter(article_authors::article_id.eq(article_id)))
        .execute(conn)?;
    let rows: Vec<_> = user_ids
        .iter()
        .enumerate()
        .map(|(position, &user_id)| {
            (
                article_authors::article_id.eq(article_id),
                article_authors::user_id.eq(user_id),
                article_authors::position.eq(position as i32),
            )
        })
        .collect();
    if !rows.is_empty() {
        per_backend!(conn, |c| diesel::insert_into(article_authors::table)
            .values(&rows)
            .execute(c))?;
    }
    Ok(())
}

/// The byline of each of these posts, in order.
pub fn of_articles(
    conn: &mut DbConnection,
    article_ids: &[i32],
) -> QueryResult<HashMap<i32, Vec<AuthorRef>>> {
    if article_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i32, i32, Option<String>, String)> = article_authors::table
        .inner_join(users::table)
        .inner_join(author_profiles::table.on(author_profiles::user_id.eq(article_authors::user_id)))
        .filter(article_authors::article_id.eq_any(article_ids))
        .order((article_authors::article_id, article_authors::position))
        .select((
            article_authors::article_id,
            article_authors::user_id,
            users::name,
            author_profiles::slug,
        ))
        .load(conn)?;
    let mut by_article: HashMap<i32, Vec<AuthorRef>> = HashMap::new();
    for (article_id, user_id, name, slug) in rows {
        by_article
            .entry(article_id)
            .or_default()
            .push(AuthorRef { user_id, name, slug });
    }
    Ok(by_article)
}

pub fn find(conn: &mut DbConnection, user_id: i32) -> QueryResult<Option<AuthorProfile>> {
    author_profiles::table
        .inner_join(users::table)
        .filter(author_profiles::user_id.eq(user_id))
        .select(PROFILE_COLUMNS)
        .first(conn)
        .optional()
}

pub fn find_by_slug(conn: &mut DbConnection, slug: &str) -> QueryResult<Option<AuthorProfile>> {
    author_profiles::table
        .inner_join(users::table)
        .filter(author_profiles::slug.eq(slug))
        .filter(users::deleted_at.is_null())
        .select(PROFILE_COLUMNS)
        .first(conn)
        .optional()
}

/// The user ids of the staff with these profile slugs, in the same order;
/// `Err(slug)` names the first slug that is no staff member's.
pub fn staff_ids_by_slug(conn: &mut DbConnection, slugs: &[Slug]) -> QueryResult<Result<Vec<i32>, String>> {
    let staff: Vec<&str> = [Role::Admin, Role::Editor, Role::Author]
        .iter()
        .map(|r| r.as_str())
        .collect();
    let found: Vec<(String, i32)> = author_profiles::table
        .inner_join(users::table)
        .filter(author_profiles::slug.eq_any(slugs.iter().map(Slug::as_str)))
        .filter(users::role.eq_any(staff))
        .filter(users::deleted_at.is_null())
        .select((author_profiles::slug, author_profiles::user_id))
        .load(conn)?;
    let mut ids = Vec::with_capacity(slugs.len());
    for slug in slugs {
        match found.iter().find(|(s, _)| s == slug.as_str()) {
            Some((_, id)) => ids.push(*id),
            None => return Ok(Err(slug.to_string())),
        }
    }
    Ok(Ok(ids))
}

/// Every staff member's profile (made for those without one), by name.
pub fn list_staff(conn: &mut DbConnection, now: PrimitiveDateTime) -> QueryResult<Vec<AuthorProfile>> {
    let staff: Vec<&str> = [Role::Admin, Role::Editor, Role::Author]
        .iter()
        .map(|r| r.as_str())
        .collect();
    let ids: Vec<i32> = users::table
        .filter(users::role.eq_any(&staff))
        .filter(users::deleted_at.is_null())
        .select(users::id)
        .load(conn)?;
    for id in &ids {
        ensure_profile(conn, *id, now)?;
    }
    author_profiles::table
        .inner_join(users::table)
        .filter(users::id.eq_any(&ids))
        .order((users::name, users::id))
        .select(PROFILE_COLUMNS)
        .load(conn)
}

pub fn slug_taken_by_other(conn: &mut DbConnection, slug: &str, user_id: i32) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        author_profiles::table
            .filter(author_profiles::slug.eq(slug))
            .filter(author_profiles::user_id.ne(user_id)),
    ))
    .get_result(conn)
}

/// The profile columns an edit may change; `None` leaves one alone.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = author_profiles)]
pub struct ProfileChanges<'a> {
    pub slug: Option<&'a str>,
    pub bio: Option<Option<&'a str>>,
    pub avatar_url: Option<Option<&'a str>>,
    pub updated_at: Option<PrimitiveDateTime>,
}

/// Applies `changes` and, when given, the new name (on the account).
pub fn update(
    conn: &mut DbConnection,
    user_id: i32,
    name: Option<&str>,
    changes: &ProfileChanges<'_>,
) -> QueryResult<()> {
    if let Some(name) = name {
        diesel::update(users::table.find(user_id))
            .set(users::name.eq(name))
            .execute(conn)?;
    }
    diesel::update(author_profiles::table.find(user_id))
        .set(changes)
        .execute(conn)?;
    Ok(())
}

/// Ids of every article with `user_id` on the byline, drafts included.
pub fn article_ids(conn: &mut DbConnection, user_id: i32) -> QueryResult<Vec<i32>> {
    article_authors::table
        .filter(article_authors::user_id.eq(user_id))
        .select(article_authors::article_id)
        .load(conn)
}

/// Ids of the live posts on the site with `user_id` on the byline, newest
/// first.
pub fn live_article_ids(
    conn: &mut DbConnection,
    user_id: i32,
    now: PrimitiveDateTime,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<i32>> {
    article_authors::table
        .inner_join(articles::table)
        .filter(article_authors::user_id.eq(user_id))
        .filter(super::articles::listed_on_site(now))
        .order((articles::published_at.desc(), articles::id.desc()))
        .limit(limit)
        .offset(offset)
        .select(articles::id)
        .load(conn)
}
