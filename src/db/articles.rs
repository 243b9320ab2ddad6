use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::{
    DbConnection, is_unique_violation,
    schema::{articles, users},
};
use crate::domain::{
    article::{ArticleStatus, EmailSegment, Visibility},
    slug::Slug,
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = articles)]
pub struct ArticleRow {
    pub id: i32,
    pub slug: String,
    pub title: String,
    pub author_id: i32,
    pub body_markdown: String,
    pub body_html: String,
    pub preview_html: String,
    pub excerpt: String,
    pub visibility: String,
    pub status: String,
    pub email: String,
    pub publish_at: Option<PrimitiveDateTime>,
    pub published_at: Option<PrimitiveDateTime>,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
}

/// An article with its author's display name.
#[derive(Debug, Clone)]
pub struct Article {
    pub row: ArticleRow,
    pub author_name: Option<String>,
}

impl Article {
    /// The stored visibility. The CHECK constraint keeps it valid; were it
    /// not, the strictest reading is the safe one.
    pub fn visibility(&self) -> Visibility {
        Visibility::parse(&self.row.visibility).unwrap_or(Visibility::Paid)
    }

    pub fn status(&self) -> ArticleStatus {
        ArticleStatus::parse(&self.row.status).unwrap_or(ArticleStatus::Draft)
    }

    pub fn email_segment(&self) -> EmailSegment {
        EmailSegment::parse(&self.row.email).unwrap_or(EmailSegment::None)
    }

    pub fn author(&self) -> &str {
        self.author_name.as_deref().unwrap_or("The editors")
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = articles)]
pub struct NewArticle<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    pub author_id: i32,
    pub body_markdown: &'a str,
    pub body_html: &'a str,
    pub preview_html: &'a str,
    pub excerpt: &'a str,
    pub visibility: &'a str,
    pub status: &'a str,
    pub email: &'a str,
    pub publish_at: Option<PrimitiveDateTime>,
    pub published_at: Option<PrimitiveDateTime>,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum InsertArticleError {
    #[error("the slug {0:?} is taken by another article")]
    SlugTaken(String),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// How many `-2`, `-3`, … suffixes to try before giving up on a title's slug.
const MAX_SLUG_SUFFIX: u32 = 50;

impl NewArticle<'_> {
    /// Inserts the article under `self.slug` when `slug_was_chosen`, or else
    /// under the first free one of `slug`, `slug-2`, `slug-3`, …
    pub fn insert(
        &self,
        conn: &mut DbConnection,
        slug_was_chosen: bool,
    ) -> Result<Article, InsertArticleError> {
        let base = Slug::parse(self.slug).map_err(|_| InsertArticleError::SlugTaken(self.slug.into()))?;
        let candidates: Vec<Slug> = if slug_was_chosen {
            vec![base]
        } else {
            std::iter::once(base.clone())
                .chain((2..=MAX_SLUG_SUFFIX).map(|n| base.with_suffix(n)))
                .collect()
        };
        conn.transaction(|conn| {
            for candidate in &candidates {
                if slug_exists(conn, candidate.as_str())? {
                    continue;
                }
                let new = NewArticle {
                    slug: candidate.as_str(),
                    ..*self
                };
                return match diesel::insert_into(articles::table).values(&new).execute(conn) {
                    Ok(_) => {
                        Ok(find_by_slug(conn, candidate.as_str())?.ok_or(diesel::result::Error::NotFound)?)
                    }
                    // Another writer took it between our check and insert.
                    Err(e) if is_unique_violation(&e) => {
                        Err(InsertArticleError::SlugTaken(candidate.to_string()))
                    }
                    Err(e) => Err(e.into()),
                };
            }
            Err(InsertArticleError::SlugTaken(candidates[0].to_string()))
        })
    }
}

fn slug_exists(conn: &mut DbConnection, slug: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        articles::table.filter(articles::slug.eq(slug)),
    ))
    .get_result(conn)
}

fn find_by_slug(conn: &mut DbConnection, slug: &str) -> QueryResult<Option<Article>> {
    articles::table
        .inner_join(users::table)
        .filter(articles::slug.eq(slug))
        .select((ArticleRow::as_select(), users::name))
        .first::<(ArticleRow, Option<String>)>(conn)
        .optional()
        .map(|found| found.map(Article::from))
}

impl From<(ArticleRow, Option<String>)> for Article {
    fn from((row, author_name): (ArticleRow, Option<String>)) -> Self {
        Self { row, author_name }
    }
}

/// Statuses whose articles are readable once `published_at` has passed: a
/// scheduled article goes live at its time even before the scheduler marks it.
const LIVE_STATUSES: [&str; 2] = ["published", "scheduled"];

/// Live articles, newest first: `limit` of them after skipping `offset`.
pub fn list_live(
    conn: &mut DbConnection,
    now: PrimitiveDateTime,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<Article>> {
    articles::table
        .inner_join(users::table)
        .filter(articles::status.eq_any(LIVE_STATUSES))
        .filter(articles::published_at.le(now))
        .order((articles::published_at.desc(), articles::id.desc()))
        .limit(limit)
        .offset(offset)
        .select((ArticleRow::as_select(), users::name))
        .load::<(ArticleRow, Option<String>)>(conn)
        .map(|rows| rows.into_iter().map(Article::from).collect())
}

/// The live article at `slug`, if any: drafts and future posts are not found.
pub fn find_live_by_slug(
    conn: &mut DbConnection,
    slug: &str,
    now: PrimitiveDateTime,
) -> QueryResult<Option<Article>> {
    Ok(find_by_slug(conn, slug)?.filter(|article| {
        LIVE_STATUSES.contains(&article.row.status.as_str())
            && article.row.published_at.is_some_and(|at| at <= now)
    }))
}
