use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::db::{
    DbConnection, is_unique_violation,
    schema::{article_events, article_tiers, articles, slug_redirects, tiers},
};
use crate::domain::{
    access,
    article::{ArticleKind, ArticleStatus, EmailSegment, Visibility},
    slug::Slug,
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = articles)]
pub struct ArticleRow {
    pub id: i32,
    pub slug: String,
    pub title: String,
    pub author_id: i32,
    /// The whole body is private: it is reachable only with the proof a
    /// `Full` access decision carries (`full_body`), so nothing can show it
    /// without a decision that allowed it.
    body_markdown: String,
    body_html: String,
    /// The free part, rendered and sanitized on save.
    pub preview_html: String,
    pub excerpt: String,
    /// Stored as text; an unknown value fails the load (never a guess).
    #[diesel(deserialize_as = String)]
    pub visibility: Visibility,
    #[diesel(deserialize_as = String)]
    pub status: ArticleStatus,
    #[diesel(deserialize_as = String)]
    pub email: EmailSegment,
    pub publish_at: Option<PrimitiveDateTime>,
    pub published_at: Option<PrimitiveDateTime>,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
    /// The newsletter it goes out through; `None`: the first one running.
    pub newsletter_id: Option<i32>,
    /// The email's subject; `None`: the title.
    pub email_subject: Option<String>,
    /// The line inboxes show after the subject; `None`: the excerpt.
    pub preheader: Option<String>,
    /// `false`: an email-only post, never shown on the site.
    pub on_site: bool,
    /// The email goes out then rather than at publishing.
    pub email_at: Option<PrimitiveDateTime>,
    pub feature_image: Option<String>,
    pub feature_image_alt: Option<String>,
    pub feature_image_caption: Option<String>,
    /// A post, or a page at `/{slug}` (never listed, fed or emailed).
    #[diesel(deserialize_as = String)]
    pub kind: ArticleKind,
}

/// The whole body of an article.
pub struct FullBody<'a> {
    pub html: &'a str,
    pub markdown: &'a str,
}

impl ArticleRow {
    /// The whole body, for a reader the access policy let read it all (or
    /// staff: `access::staff_view`).
    pub fn full_body(&self, _proof: access::FullBody) -> FullBody<'_> {
        FullBody {
            html: &self.body_html,
            markdown: &self.body_markdown,
        }
    }

    /// The free part as markdown (for plain-text email), cut by the same
    /// splitter that rendered `preview_html`.
    pub fn preview_markdown(&self, preview_chars: usize) -> String {
        crate::domain::markdown::preview_part(&self.body_markdown, preview_chars)
    }

    /// The subject its email goes out under.
    pub fn subject(&self) -> &str {
        self.email_subject.as_deref().unwrap_or(&self.title)
    }

    /// The preview line its email shows in inbox lists.
    pub fn preheader(&self) -> &str {
        self.preheader.as_deref().unwrap_or(&self.excerpt)
    }
}

/// What the search index holds of an article: plain text, its free part
/// apart from its whole body.
#[derive(Debug, Clone)]
pub struct SearchText {
    pub title: String,
    pub tags: String,
    pub authors: String,
    pub preview: String,
    pub body: String,
}

/// An article with its byline and, for a paid article, the tiers it is for
/// (none: any paid tier).
#[derive(Debug, Clone)]
pub struct Article {
    pub row: ArticleRow,
    /// Its byline, in order.
    pub authors: Vec<super::authors::AuthorRef>,
    pub tiers: Vec<access::TierId>,
    /// The same tiers by slug, for the admin API.
    pub tier_slugs: Vec<String>,
    /// Its tags, in its writer's order.
    pub tags: Vec<super::tags::TagRef>,
}

impl Article {
    /// Published (or scheduled and due) by `now`, email-only or not.
    pub fn is_out(&self, now: PrimitiveDateTime) -> bool {
        LIVE_STATUSES.contains(&self.row.status.as_str()) && self.row.published_at.is_some_and(|at| at <= now)
    }

    /// Out by `now` and on the site: what readers may find there. An
    /// email-only post never is.
    pub fn is_live(&self, now: PrimitiveDateTime) -> bool {
        self.row.on_site && self.is_out(now)
    }

    pub fn visibility(&self) -> Visibility {
        self.row.visibility
    }

    /// What the access policy asks of a reader of this article.
    pub fn gate(&self) -> access::Gate<'_> {
        access::Gate {
            visibility: self.row.visibility,
            tiers: &self.tiers,
        }
    }

    pub fn status(&self) -> ArticleStatus {
        self.row.status
    }

    pub fn email_segment(&self) -> EmailSegment {
        self.row.email
    }

    /// The byline as one line: "Ada and Grace".
    pub fn author(&self) -> String {
        let names: Vec<&str> = self.authors.iter().map(|a| a.display_name()).collect();
        match names.is_empty() {
            true => "The editors".to_owned(),
            false => crate::domain::author::byline(&names),
        }
    }

    pub fn kind(&self) -> ArticleKind {
        self.row.kind
    }

    /// Its text for the search index. The whole body's text goes only
    /// there, where a reader's search may match it only after an access
    /// decision let them read it (`reading::search`).
    pub fn search_text(&self, preview_chars: usize) -> SearchText {
        use crate::domain::markdown::excerpt;
        SearchText {
            title: self.row.title.clone(),
            tags: self
                .tags
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            authors: self
                .authors
                .iter()
                .map(|a| a.display_name())
                .collect::<Vec<_>>()
                .join(" "),
            preview: excerpt(&self.row.preview_markdown(preview_chars), usize::MAX),
            body: excerpt(&self.row.body_markdown, usize::MAX),
        }
    }

    /// Where readers find it: `/p/{slug}` for a post, `/{slug}` for a page.
    pub fn path(&self) -> String {
        path_of(self.row.kind, &self.row.slug)
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
    pub newsletter_id: Option<i32>,
    pub email_subject: Option<&'a str>,
    pub preheader: Option<&'a str>,
    pub on_site: bool,
    pub email_at: Option<PrimitiveDateTime>,
    pub feature_image: Option<&'a str>,
    pub feature_image_alt: Option<&'a str>,
    pub feature_image_caption: Option<&'a str>,
    pub kind: &'a str,
}

/// Where readers find an article of `kind` at `slug`.
pub fn path_of(kind: ArticleKind, slug: &str) -> String {
    match kind {
        ArticleKind::Post => format!("/p/{slug}"),
        ArticleKind::Page => format!("/{slug}"),
    }
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
    let found = articles::table
        .filter(articles::slug.eq(slug))
        .select(ArticleRow::as_select())
        .first(conn)
        .optional()?;
    Ok(with_details(conn, found.into_iter().collect())?.pop())
}

/// Articles from their rows, with the tiers of the paid ones (one more
/// statement, and none when no article is paid), their tags and their
/// bylines (one more each).
fn with_details(conn: &mut DbConnection, rows: Vec<ArticleRow>) -> QueryResult<Vec<Article>> {
    let paid: Vec<i32> = rows
        .iter()
        .filter(|row| row.visibility == Visibility::Paid)
        .map(|row| row.id)
        .collect();
    let gated: Vec<(i32, i32, String)> = if paid.is_empty() {
        Vec::new()
    } else {
        article_tiers::table
            .inner_join(tiers::table)
            .filter(article_tiers::article_id.eq_any(&paid))
            .order((article_tiers::article_id, tiers::position, tiers::id))
            .select((article_tiers::article_id, article_tiers::tier_id, tiers::slug))
            .load(conn)?
    };
    let ids: Vec<i32> = rows.iter().map(|row| row.id).collect();
    let mut tags = super::tags::of_articles(conn, &ids)?;
    let mut authors = super::authors::of_articles(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let (tiers, tier_slugs) = gated
                .iter()
                .filter(|(article_id, _, _)| *article_id == row.id)
                .map(|(_, tier, slug)| (*tier, slug.clone()))
                .unzip();
            Article {
                tags: tags.remove(&row.id).unwrap_or_default(),
                authors: authors.remove(&row.id).unwrap_or_default(),
                row,
                tiers,
                tier_slugs,
            }
        })
        .collect())
}

/// The tiers a paid article is for, replacing what it had.
pub fn set_tiers(conn: &mut DbConnection, article_id: i32, tiers: &[access::TierId]) -> QueryResult<()> {
    diesel::delete(article_tiers::table.filter(article_tiers::article_id.eq(article_id))).execute(conn)?;
    for tier in tiers {
        diesel::insert_into(article_tiers::table)
            .values((
                article_tiers::article_id.eq(article_id),
                article_tiers::tier_id.eq(tier),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Statuses whose articles are readable once `published_at` has passed: a
/// scheduled article goes live at its time even before the scheduler marks it.
const LIVE_STATUSES: [&str; 2] = ["published", "scheduled"];

/// The SQL of `Article::is_live`: out by `now` and on the site.
#[diesel::dsl::auto_type]
pub(crate) fn live_on_site(now: PrimitiveDateTime) -> _ {
    let statuses: [&'static str; 2] = LIVE_STATUSES;
    articles::status
        .eq_any(statuses)
        .and(articles::published_at.le(now))
        .and(articles::on_site.eq(true))
}

/// The SQL of what lists show: live posts on the site (never pages).
#[diesel::dsl::auto_type]
pub(crate) fn listed_on_site(now: PrimitiveDateTime) -> _ {
    let statuses: [&'static str; 2] = LIVE_STATUSES;
    let post: &'static str = "post";
    articles::status
        .eq_any(statuses)
        .and(articles::published_at.le(now))
        .and(articles::on_site.eq(true))
        .and(articles::kind.eq(post))
}

/// The articles with these ids, in the order of `ids`.
pub fn load_in_order(conn: &mut DbConnection, ids: &[i32]) -> QueryResult<Vec<Article>> {
    let rows = articles::table
        .filter(articles::id.eq_any(ids))
        .select(ArticleRow::as_select())
        .load(conn)?;
    let mut found = with_details(conn, rows)?;
    found.sort_by_key(|a| ids.iter().position(|id| *id == a.row.id));
    Ok(found)
}

/// Live articles, newest first: `limit` of them after skipping `offset`.
/// Two steps: the ids come from the `(status, published_at)` index, so the
/// sort never drags whole bodies along; then only those rows are read.
pub fn list_live(
    conn: &mut DbConnection,
    now: PrimitiveDateTime,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<Article>> {
    let ids: Vec<i32> = articles::table
        .filter(listed_on_site(now))
        .order((articles::published_at.desc(), articles::id.desc()))
        .limit(limit)
        .offset(offset)
        .select(articles::id)
        .load(conn)?;
    load_in_order(conn, &ids)
}

/// A live post as the archive lists it: no body.
#[derive(Debug, Clone, Queryable)]
pub struct ArchiveEntry {
    pub slug: String,
    pub title: String,
    pub published_at: Option<PrimitiveDateTime>,
}

/// A slice of the live posts on the site, newest first, without bodies.
pub fn archive(
    conn: &mut DbConnection,
    now: PrimitiveDateTime,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<ArchiveEntry>> {
    articles::table
        .filter(listed_on_site(now))
        .order((articles::published_at.desc(), articles::id.desc()))
        .select((articles::slug, articles::title, articles::published_at))
        .limit(limit)
        .offset(offset)
        .load(conn)
}

/// A live post or page as the sitemap lists it.
#[derive(Debug, Clone)]
pub struct SitemapEntry {
    pub slug: String,
    pub kind: ArticleKind,
    pub updated_at: PrimitiveDateTime,
}

/// Every live post and page on the site (newest first), at most `limit`.
pub fn sitemap(
    conn: &mut DbConnection,
    now: PrimitiveDateTime,
    limit: i64,
) -> QueryResult<Vec<SitemapEntry>> {
    let rows: Vec<(String, String, PrimitiveDateTime)> = articles::table
        .filter(live_on_site(now))
        .order((articles::published_at.desc(), articles::id.desc()))
        .limit(limit)
        .select((articles::slug, articles::kind, articles::updated_at))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(slug, kind, updated_at)| {
            Some(SitemapEntry {
                slug,
                kind: ArticleKind::parse(&kind).ok()?,
                updated_at,
            })
        })
        .collect())
}

/// The live article at `slug`, if any: drafts and future posts are not found.
pub fn find_live_by_slug(
    conn: &mut DbConnection,
    slug: &str,
    now: PrimitiveDateTime,
) -> QueryResult<Option<Article>> {
    Ok(find_by_slug(conn, slug)?.filter(|article| article.is_live(now)))
}

pub fn find(conn: &mut DbConnection, id: i32) -> QueryResult<Option<Article>> {
    let found = articles::table
        .filter(articles::id.eq(id))
        .select(ArticleRow::as_select())
        .first(conn)
        .optional()?;
    Ok(with_details(conn, found.into_iter().collect())?.pop())
}

/// Which articles an editor's list shows.
#[derive(Debug, Clone, Default)]
pub struct ArticleFilter {
    pub status: Option<ArticleStatus>,
    pub visibility: Option<Visibility>,
    /// Only this author's (an author sees only their own).
    pub author_id: Option<i32>,
}

/// A page of articles matching `filter`, newest first, and how many match.
pub fn list(
    conn: &mut DbConnection,
    filter: &ArticleFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<Article>, i64)> {
    let filtered = || {
        let mut query = articles::table.into_boxed();
        if let Some(status) = filter.status {
            query = query.filter(articles::status.eq(status.as_str()));
        }
        if let Some(visibility) = filter.visibility {
            query = query.filter(articles::visibility.eq(visibility.as_str()));
        }
        if let Some(author_id) = filter.author_id {
            query = query.filter(articles::author_id.eq(author_id));
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let ids: Vec<i32> = filtered()
        .order((articles::updated_at.desc(), articles::id.desc()))
        .limit(limit)
        .offset(offset)
        .select(articles::id)
        .load(conn)?;
    Ok((load_in_order(conn, &ids)?, total))
}

/// The columns an edit may change; `None` leaves a column alone.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = articles)]
pub struct ArticleChanges<'a> {
    pub slug: Option<&'a str>,
    pub title: Option<&'a str>,
    pub body_markdown: Option<&'a str>,
    pub body_html: Option<&'a str>,
    pub preview_html: Option<&'a str>,
    pub excerpt: Option<&'a str>,
    pub visibility: Option<&'a str>,
    pub email: Option<&'a str>,
    pub status: Option<&'a str>,
    pub publish_at: Option<Option<PrimitiveDateTime>>,
    pub published_at: Option<Option<PrimitiveDateTime>>,
    pub updated_at: Option<PrimitiveDateTime>,
    pub newsletter_id: Option<Option<i32>>,
    pub email_subject: Option<Option<&'a str>>,
    pub preheader: Option<Option<&'a str>>,
    pub on_site: Option<bool>,
    pub email_at: Option<Option<PrimitiveDateTime>>,
    pub feature_image: Option<Option<&'a str>>,
    pub feature_image_alt: Option<Option<&'a str>>,
    pub feature_image_caption: Option<Option<&'a str>>,
    pub kind: Option<&'a str>,
}

/// Applies `changes` to article `id`. Where `from_statuses` is given, only
/// while the article is in one of them: the compare-and-set that makes a
/// scheduled publish happen once however many instances try. Returns the
/// number of rows changed (0 or 1).
pub fn update(
    conn: &mut DbConnection,
    id: i32,
    from_statuses: Option<&[ArticleStatus]>,
    changes: &ArticleChanges<'_>,
) -> QueryResult<usize> {
    let mut update = diesel::update(articles::table.filter(articles::id.eq(id))).into_boxed();
    if let Some(statuses) = from_statuses {
        update = update.filter(articles::status.eq_any(statuses.iter().map(|s| s.as_str())));
    }
    update.set(changes).execute(conn)
}

pub fn delete(conn: &mut DbConnection, id: i32) -> QueryResult<usize> {
    diesel::delete(articles::table.find(id)).execute(conn)
}

pub fn slug_taken_by_other(conn: &mut DbConnection, slug: &str, id: i32) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        articles::table
            .filter(articles::slug.eq(slug))
            .filter(articles::id.ne(id)),
    ))
    .get_result(conn)
}

/// Ids of published articles to be emailed whose email time has come and
/// that have no send yet.
pub fn due_emails(conn: &mut DbConnection, now: PrimitiveDateTime) -> QueryResult<Vec<i32>> {
    use crate::db::schema::sends;
    articles::table
        .filter(articles::email_at.le(now))
        .filter(articles::status.eq(ArticleStatus::Published.as_str()))
        .filter(articles::email.ne(EmailSegment::None.as_str()))
        .filter(articles::kind.eq(ArticleKind::Post.as_str()))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            sends::table.filter(sends::article_id.eq(articles::id)),
        )))
        .select(articles::id)
        .load(conn)
}

/// Ids of scheduled articles whose time has come.
pub fn due_scheduled(conn: &mut DbConnection, now: PrimitiveDateTime) -> QueryResult<Vec<i32>> {
    articles::table
        .filter(articles::status.eq(ArticleStatus::Scheduled.as_str()))
        .filter(articles::published_at.le(now))
        .select(articles::id)
        .load(conn)
}

/// Keeps `old_slug` answering with a redirect to the article.
pub fn add_redirect(conn: &mut DbConnection, old_slug: &str, article_id: i32) -> QueryResult<usize> {
    diesel::delete(slug_redirects::table.filter(slug_redirects::old_slug.eq(old_slug))).execute(conn)?;
    diesel::insert_into(slug_redirects::table)
        .values((
            slug_redirects::old_slug.eq(old_slug),
            slug_redirects::article_id.eq(article_id),
            slug_redirects::created_at.eq(super::now()),
        ))
        .execute(conn)
}

/// A slug taken by an article stops redirecting elsewhere.
pub fn drop_redirect(conn: &mut DbConnection, slug: &str) -> QueryResult<usize> {
    diesel::delete(slug_redirects::table.filter(slug_redirects::old_slug.eq(slug))).execute(conn)
}

/// Where a renamed article lives now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedTo {
    pub slug: String,
    pub kind: ArticleKind,
}

impl MovedTo {
    pub fn path(&self) -> String {
        path_of(self.kind, &self.slug)
    }
}

/// Where the live article that used to be at `old_slug` is now.
pub fn redirect_target(
    conn: &mut DbConnection,
    old_slug: &str,
    now: PrimitiveDateTime,
) -> QueryResult<Option<MovedTo>> {
    let found: Option<(String, String)> = slug_redirects::table
        .inner_join(articles::table)
        .filter(slug_redirects::old_slug.eq(old_slug))
        .filter(live_on_site(now))
        .select((articles::slug, articles::kind))
        .first(conn)
        .optional()?;
    Ok(found.map(|(slug, kind)| MovedTo {
        slug,
        kind: ArticleKind::parse(&kind).unwrap_or(ArticleKind::Post),
    }))
}

pub fn record_event(
    conn: &mut DbConnection,
    article_id: i32,
    event: &str,
    actor_id: Option<i32>,
) -> QueryResult<usize> {
    diesel::insert_into(article_events::table)
        .values((
            article_events::article_id.eq(article_id),
            article_events::event.eq(event),
            article_events::actor_id.eq(actor_id),
            article_events::created_at.eq(super::now()),
        ))
        .execute(conn)
}

pub fn count_events(conn: &mut DbConnection, article_id: i32, event: &str) -> QueryResult<i64> {
    article_events::table
        .filter(article_events::article_id.eq(article_id))
        .filter(article_events::event.eq(event))
        .count()
        .get_result(conn)
}
