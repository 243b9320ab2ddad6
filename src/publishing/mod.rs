//! The editorial workflow: create, edit, publish (now or scheduled),
//! unpublish and delete articles; and the scheduler's side of publishing.
//! Markdown is rendered and sanitized here, once, on save. Every change is
//! one transaction with its history row.

pub mod authors;
mod email;
pub mod media;
pub mod scheduler;
pub mod search;
pub mod tags;

pub use email::{MAX_TEST_RECIPIENTS, TestEmail, email_article, send_test_email};

use anyhow::Context;
use time::PrimitiveDateTime;

use crate::{
    config::Config,
    db::{
        self, DbConnection,
        articles::{self, Article, ArticleChanges, ArticleFilter, InsertArticleError, NewArticle},
    },
    domain::{
        InvalidInput,
        access::{Policy, TierId},
        article::{ArticleKind, ArticleMarkdown, ArticleStatus, ArticleTitle, EmailSegment, Visibility},
        editorial::Actor,
        slug::Slug,
        tags::TagName,
    },
    newsletter,
    state::AppState,
};

/// A new article, already validated.
#[derive(Debug)]
pub struct ArticleDraft {
    pub title: ArticleTitle,
    pub markdown: ArticleMarkdown,
    pub visibility: Visibility,
    /// Chosen by the editor; otherwise made from the title.
    pub slug: Option<Slug>,
    pub publish: bool,
    pub publish_at: Option<PrimitiveDateTime>,
    pub segment: EmailSegment,
    /// For a paid article: the tiers that may read it (none: any paid tier).
    pub tiers: Vec<Slug>,
    /// The newsletter it goes out through; `None`: the first one running.
    pub newsletter_id: Option<i32>,
    pub email: EmailCopy,
    /// `false`: an email-only post.
    pub on_site: bool,
    pub cover: Cover,
    /// In the writer's order; made on first use.
    pub tags: Vec<TagName>,
    pub kind: ArticleKind,
    /// The byline by profile slug, in order (editors only); empty: the
    /// writer alone.
    pub authors: Vec<Slug>,
}

impl ArticleDraft {
    /// A draft with everything else at its default: not published, not
    /// emailed, on the site, any paid tier, the default newsletter.
    pub fn new(title: ArticleTitle, markdown: ArticleMarkdown, visibility: Visibility) -> Self {
        Self {
            title,
            markdown,
            visibility,
            slug: None,
            publish: false,
            publish_at: None,
            segment: EmailSegment::None,
            tiers: Vec::new(),
            newsletter_id: None,
            email: EmailCopy::default(),
            on_site: true,
            cover: Cover::default(),
            tags: Vec::new(),
            kind: ArticleKind::Post,
            authors: Vec::new(),
        }
    }
}

/// What a post's email says beyond its body, and when it goes; each `None`:
/// the default (the title, the excerpt, at publishing).
#[derive(Debug, Default)]
pub struct EmailCopy {
    pub subject: Option<String>,
    pub preheader: Option<String>,
    pub at: Option<PrimitiveDateTime>,
}

/// A post's cover image (checked by `domain::article::feature_image`).
#[derive(Debug, Default)]
pub struct Cover {
    pub image: Option<String>,
    pub alt: Option<String>,
    pub caption: Option<String>,
}

/// A partial edit. `None`: leave as is. For `publish_at`, `Some(None)`
/// clears the schedule.
#[derive(Debug, Default)]
pub struct ArticleEdit {
    pub title: Option<ArticleTitle>,
    pub markdown: Option<ArticleMarkdown>,
    pub visibility: Option<Visibility>,
    /// `Some(None)`: make the slug from the title again.
    pub slug: Option<Option<Slug>>,
    pub segment: Option<EmailSegment>,
    pub publish_at: Option<Option<PrimitiveDateTime>>,
    /// Replaces the tiers a paid article is for.
    pub tiers: Option<Vec<Slug>>,
    /// `Some(None)`: the first newsletter running.
    pub newsletter_id: Option<Option<i32>>,
    /// For these, `Some(None)` goes back to the default.
    pub email_subject: Option<Option<String>>,
    pub preheader: Option<Option<String>>,
    pub email_at: Option<Option<PrimitiveDateTime>>,
    pub on_site: Option<bool>,
    /// `Some(None)` removes the cover image with its alt text and caption.
    pub feature_image: Option<Option<String>>,
    pub feature_image_alt: Option<Option<String>>,
    pub feature_image_caption: Option<Option<String>>,
    /// Replaces the post's tags.
    pub tags: Option<Vec<TagName>>,
    pub kind: Option<ArticleKind>,
    /// Replaces the byline (editors only).
    pub authors: Option<Vec<Slug>>,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishingError {
    #[error("there is no article with that id")]
    NotFound,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{message}")]
    Conflict { field: &'static str, message: String },
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// The mail server refused or could not be reached (a test send).
    #[error("{0}")]
    MailServer(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for PublishingError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Internal(anyhow::Error::new(e).context("article storage"))
    }
}

const AUTHORS_DRAFT_ONLY: &str = "Authors write and edit their own drafts; an editor publishes them.";
const EDITORS_CHOOSE_AUTHORS: &str = "Only editors and admins change who is on a byline.";

/// The user ids of a byline given by profile slugs, each once.
fn resolve_authors(conn: &mut DbConnection, slugs: &[Slug]) -> Result<Vec<i32>, PublishingError> {
    if slugs.len() > crate::domain::author::MAX_PER_POST {
        return Err(InvalidInput::new(
            "authors",
            format!(
                "a byline has at most {} authors",
                crate::domain::author::MAX_PER_POST
            ),
        )
        .into());
    }
    let mut unique: Vec<Slug> = Vec::with_capacity(slugs.len());
    for slug in slugs {
        if !unique.contains(slug) {
            unique.push(slug.clone());
        }
    }
    db::authors::staff_ids_by_slug(conn, &unique)?.map_err(|slug| {
        InvalidInput::new(
            "authors",
            format!("there is no staff member with the author slug {slug}"),
        )
        .into()
    })
}

/// The slug a page made from its title takes: the title's, unless the site
/// keeps that one (a page called "Search" lives at /search-page).
fn page_slug_from_title(title: &str) -> Slug {
    let slug = Slug::from_title(title);
    if crate::domain::article::page_slug_is_free(slug.as_str()) {
        slug
    } else {
        Slug::parse(&format!("{slug}-page")).unwrap_or(slug)
    }
}

/// Where a new article stands: a future `publish_at` schedules it, a past
/// one backdates it, `publish` alone publishes now.
fn status_of(draft: &ArticleDraft, now: PrimitiveDateTime) -> (ArticleStatus, Option<PrimitiveDateTime>) {
    match (draft.publish, draft.publish_at) {
        (_, Some(at)) if at > now => (ArticleStatus::Scheduled, Some(at)),
        (_, Some(at)) => (ArticleStatus::Published, Some(at)),
        (true, None) => (ArticleStatus::Published, Some(now)),
        (false, None) => (ArticleStatus::Draft, None),
    }
}

/// The tier ids of `slugs`, for an article whose visibility will be
/// `visibility`: only a paid article is for some tiers, and every tier named
/// must exist.
fn resolve_tiers(
    conn: &mut DbConnection,
    visibility: Visibility,
    slugs: &[Slug],
) -> Result<Vec<TierId>, PublishingError> {
    if !slugs.is_empty() && visibility != Visibility::Paid {
        return Err(InvalidInput::new("tiers", "only a paid article can be for some tiers").into());
    }
    let mut ids = Vec::with_capacity(slugs.len());
    for slug in slugs {
        let id = db::tiers::id_by_slug(conn, slug.as_str())?
            .ok_or_else(|| InvalidInput::new("tiers", format!("there is no tier {slug}")))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// `newsletter_id` if it names a newsletter still running (posts are not
/// sent through an archived one).
fn check_newsletter(
    conn: &mut DbConnection,
    newsletter_id: Option<i32>,
) -> Result<Option<i32>, PublishingError> {
    let Some(id) = newsletter_id else {
        return Ok(None);
    };
    match db::newsletters::find(conn, id)? {
        Some(newsletter) if !newsletter.archived => Ok(Some(id)),
        Some(_) => Err(InvalidInput::new("newsletter_id", "that newsletter is archived").into()),
        None => Err(InvalidInput::new("newsletter_id", format!("there is no newsletter {id}")).into()),
    }
}

/// Runs `work` in one transaction on the blocking pool.
async fn in_transaction<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&mut DbConnection) -> Result<T, PublishingError> + Send + 'static,
) -> Result<T, PublishingError> {
    db::run(&state.pool, move |conn| Ok(db::write_transaction(conn, work)))
        .await
        .map_err(PublishingError::Internal)?
}

#[tracing::instrument(skip_all, fields(author_id = actor.user_id))]
pub async fn create_article(
    state: &AppState,
    actor: Actor,
    draft: ArticleDraft,
) -> Result<Article, PublishingError> {
    if !actor.role.can_publish() && (draft.publish || draft.publish_at.is_some()) {
        return Err(PublishingError::Forbidden(AUTHORS_DRAFT_ONLY));
    }
    if !actor.role.can_publish() && !draft.authors.is_empty() {
        return Err(PublishingError::Forbidden(EDITORS_CHOOSE_AUTHORS));
    }
    check_email_only(draft.on_site, draft.segment)?;
    crate::domain::article::check_page_email(draft.kind, draft.segment)?;
    if let (ArticleKind::Page, Some(slug)) = (draft.kind, &draft.slug) {
        crate::domain::article::check_page_slug(slug.as_str())?;
    }
    let preview_chars = state.config.preview_chars;
    let policy = state.policy;
    let site = state.config.clone();
    let article = in_transaction(state, move |conn| {
        let rendered = media::render(conn, draft.markdown.as_str(), preview_chars)?;
        let now = db::now();
        let (status, published_at) = status_of(&draft, now);
        let slug = draft.slug.clone().unwrap_or_else(|| match draft.kind {
            ArticleKind::Post => Slug::from_title(draft.title.as_str()),
            ArticleKind::Page => page_slug_from_title(draft.title.as_str()),
        });
        let new = NewArticle {
            slug: slug.as_str(),
            title: draft.title.as_str(),
            author_id: actor.user_id,
            body_markdown: draft.markdown.as_str(),
            body_html: &rendered.body_html,
            preview_html: &rendered.preview_html,
            excerpt: &rendered.excerpt,
            visibility: draft.visibility.as_str(),
            status: status.as_str(),
            email: draft.segment.as_str(),
            publish_at: draft.publish_at,
            published_at,
            created_at: now,
            updated_at: now,
            newsletter_id: check_newsletter(conn, draft.newsletter_id)?,
            email_subject: draft.email.subject.as_deref(),
            preheader: draft.email.preheader.as_deref(),
            on_site: draft.on_site,
            email_at: draft.email.at,
            feature_image: draft.cover.image.as_deref(),
            feature_image_alt: draft.cover.image.as_ref().and(draft.cover.alt.as_deref()),
            feature_image_caption: draft.cover.image.as_ref().and(draft.cover.caption.as_deref()),
            kind: draft.kind.as_str(),
        };
        let tiers = resolve_tiers(conn, draft.visibility, &draft.tiers)?;
        let byline = match draft.authors.is_empty() {
            true => vec![actor.user_id],
            false => resolve_authors(conn, &draft.authors)?,
        };
        let article = new.insert(conn, draft.slug.is_some()).map_err(|e| match e {
            InsertArticleError::SlugTaken(slug) => slug_conflict(&slug),
            InsertArticleError::Database(e) => e.into(),
        })?;
        articles::set_tiers(conn, article.row.id, &tiers)?;
        set_tags(conn, article.row.id, &draft.tags, now)?;
        db::authors::set_for_article(conn, article.row.id, &byline, now)?;
        search::reindex(conn, &[article.row.id], preview_chars)?;
        let article = reload(conn, article.row.id)?;
        articles::drop_redirect(conn, &article.row.slug)?;
        articles::record_event(conn, article.row.id, "created", Some(actor.user_id))?;
        if status != ArticleStatus::Draft {
            articles::record_event(conn, article.row.id, status_event(status), Some(actor.user_id))?;
        }
        if status == ArticleStatus::Published {
            went_live(conn, &article, &policy, &site)?;
        }
        Ok(article)
    })
    .await?;
    state.mail_wakeup.ring();
    tracing::info!(article_id = article.row.id, slug = %article.row.slug, status = %article.row.status, "article created");
    Ok(article)
}

/// An article that has just gone live: its newsletter queued, and the
/// `article.published` webhook, which names the article and never carries
/// any part of its body.
fn went_live(
    conn: &mut DbConnection,
    article: &Article,
    policy: &Policy,
    site: &Config,
) -> anyhow::Result<()> {
    newsletter::fan_out(conn, article, policy)?;
    let row = &article.row;
    let data = serde_json::json!({"article": {
        "id": row.id,
        "title": row.title,
        "slug": row.slug,
        "type": row.kind,
        "visibility": row.visibility,
        "url": row.on_site.then(|| site.url_for(&article.path())),
        "published_at": row.published_at.map(|t| t.assume_utc().unix_timestamp()),
        "emailed_to": row.email,
    }});
    db::webhooks::article_published(conn, data)?;
    Ok(())
}

/// Gives a post these tags, making those used for the first time.
fn set_tags(
    conn: &mut DbConnection,
    article_id: i32,
    tags: &[TagName],
    now: PrimitiveDateTime,
) -> Result<(), PublishingError> {
    let ids = tags
        .iter()
        .map(|tag| db::tags::find_or_create(conn, tag, now))
        .collect::<Result<Vec<_>, _>>()?;
    db::tags::set_for_article(conn, article_id, &ids)?;
    Ok(())
}

fn check_email_only(on_site: bool, segment: EmailSegment) -> Result<(), PublishingError> {
    Ok(crate::domain::article::check_email_only(on_site, segment)?)
}

fn slug_conflict(slug: &str) -> PublishingError {
    PublishingError::Conflict {
        field: "slug",
        message: format!("The slug {slug:?} is already used by another article."),
    }
}

fn status_event(status: ArticleStatus) -> &'static str {
    match status {
        ArticleStatus::Draft => "unpublished",
        ArticleStatus::Scheduled => "scheduled",
        ArticleStatus::Published => "published",
    }
}

/// The article, if `actor` may see it.
pub async fn get_article(state: &AppState, actor: Actor, id: i32) -> Result<Article, PublishingError> {
    in_transaction(state, move |conn| visible(conn, actor, id)).await
}

fn visible(conn: &mut DbConnection, actor: Actor, id: i32) -> Result<Article, PublishingError> {
    let article = articles::find(conn, id)?.ok_or(PublishingError::NotFound)?;
    if !actor.may_view(article.row.author_id) {
        return Err(PublishingError::Forbidden("Authors see only their own articles."));
    }
    Ok(article)
}

/// The article as it is now, after a change.
fn reload(conn: &mut DbConnection, id: i32) -> Result<Article, PublishingError> {
    articles::find(conn, id)?.ok_or(PublishingError::NotFound)
}

fn editable(conn: &mut DbConnection, actor: Actor, id: i32) -> Result<Article, PublishingError> {
    let article = visible(conn, actor, id)?;
    if !actor.may_edit(article.row.author_id, article.status()) {
        return Err(PublishingError::Forbidden(AUTHORS_DRAFT_ONLY));
    }
    Ok(article)
}

/// A page of the articles `actor` may see, and how many there are.
pub async fn list_articles(
    state: &AppState,
    actor: Actor,
    mut filter: ArticleFilter,
    page: crate::reading::Page,
) -> Result<(Vec<Article>, i64), PublishingError> {
    if !actor.role.can_publish() {
        filter.author_id = Some(actor.user_id);
    }
    in_transaction(state, move |conn| {
        Ok(articles::list(conn, &filter, page.per_page, page.offset())?)
    })
    .await
}

#[tracing::instrument(skip_all, fields(article_id = id, actor_id = actor.user_id))]
pub async fn edit_article(
    state: &AppState,
    actor: Actor,
    id: i32,
    edit: ArticleEdit,
) -> Result<Article, PublishingError> {
    if edit.publish_at.is_some() && !actor.role.can_publish() {
        return Err(PublishingError::Forbidden(AUTHORS_DRAFT_ONLY));
    }
    if edit.authors.is_some() && !actor.role.can_publish() {
        return Err(PublishingError::Forbidden(EDITORS_CHOOSE_AUTHORS));
    }
    let preview_chars = state.config.preview_chars;
    in_transaction(state, move |conn| {
        let article = editable(conn, actor, id)?;
        let segment = edit.segment.unwrap_or(article.email_segment());
        let kind = edit.kind.unwrap_or(article.kind());
        check_email_only(edit.on_site.unwrap_or(article.row.on_site), segment)?;
        crate::domain::article::check_page_email(kind, segment)?;
        let now = db::now();
        let title = edit
            .title
            .as_ref()
            .map_or(article.row.title.as_str(), |t| t.as_str());
        let new_slug = match (&edit.slug, kind) {
            (Some(Some(slug)), _) => Some(slug.clone()),
            (Some(None), ArticleKind::Post) => Some(Slug::from_title(title)),
            (Some(None), ArticleKind::Page) => Some(page_slug_from_title(title)),
            (None, _) => None,
        }
        .filter(|slug| slug.as_str() != article.row.slug);
        if kind == ArticleKind::Page {
            let slug = new_slug.as_ref().map_or(article.row.slug.as_str(), Slug::as_str);
            crate::domain::article::check_page_slug(slug)?;
        }
        if let Some(slug) = &new_slug {
            if articles::slug_taken_by_other(conn, slug.as_str(), id)? {
                return Err(slug_conflict(slug.as_str()));
            }
            articles::drop_redirect(conn, slug.as_str())?;
            // Links already shared keep working.
            if article.status() != ArticleStatus::Draft {
                articles::add_redirect(conn, &article.row.slug, id)?;
            }
        }
        let rendered = edit
            .markdown
            .as_ref()
            .map(|md| media::render(conn, md.as_str(), preview_chars))
            .transpose()?;
        let (status, published_at) = match edit.publish_at {
            None => (None, None),
            Some(schedule) => Some(reschedule(article.status(), schedule, now)?).unzip(),
        };
        let changes = ArticleChanges {
            slug: new_slug.as_ref().map(Slug::as_str),
            title: edit.title.as_ref().map(ArticleTitle::as_str),
            body_markdown: edit.markdown.as_ref().map(ArticleMarkdown::as_str),
            body_html: rendered.as_ref().map(|r| r.body_html.as_str()),
            preview_html: rendered.as_ref().map(|r| r.preview_html.as_str()),
            excerpt: rendered.as_ref().map(|r| r.excerpt.as_str()),
            visibility: edit.visibility.map(Visibility::as_str),
            email: edit.segment.map(EmailSegment::as_str),
            status: status.map(ArticleStatus::as_str),
            publish_at: edit.publish_at,
            published_at,
            updated_at: Some(now),
            newsletter_id: edit
                .newsletter_id
                .map(|id| check_newsletter(conn, id))
                .transpose()?,
            email_subject: edit.email_subject.as_ref().map(Option::as_deref),
            preheader: edit.preheader.as_ref().map(Option::as_deref),
            on_site: edit.on_site,
            email_at: edit.email_at,
            feature_image: edit.feature_image.as_ref().map(Option::as_deref),
            // Removing the image removes its words with it.
            feature_image_alt: match &edit.feature_image {
                Some(None) => Some(None),
                _ => edit.feature_image_alt.as_ref().map(Option::as_deref),
            },
            feature_image_caption: match &edit.feature_image {
                Some(None) => Some(None),
                _ => edit.feature_image_caption.as_ref().map(Option::as_deref),
            },
            kind: edit.kind.map(ArticleKind::as_str),
        };
        articles::update(conn, id, None, &changes)?;
        if let Some(slugs) = &edit.authors {
            let byline = match slugs.is_empty() {
                true => vec![article.row.author_id],
                false => resolve_authors(conn, slugs)?,
            };
            db::authors::set_for_article(conn, id, &byline, now)?;
        }
        let visibility = edit.visibility.unwrap_or(article.visibility());
        match &edit.tiers {
            Some(slugs) => {
                let tiers = resolve_tiers(conn, visibility, slugs)?;
                articles::set_tiers(conn, id, &tiers)?;
            }
            // No longer paid: no longer for some tiers.
            None if visibility != Visibility::Paid && !article.tiers.is_empty() => {
                articles::set_tiers(conn, id, &[])?;
            }
            None => {}
        }
        if let Some(tags) = &edit.tags {
            set_tags(conn, id, tags, now)?;
        }
        articles::record_event(conn, id, "updated", Some(actor.user_id))?;
        if let Some(status) = status.filter(|s| *s != article.status()) {
            articles::record_event(conn, id, status_event(status), Some(actor.user_id))?;
        }
        search::reindex(conn, &[id], preview_chars)?;
        reload(conn, id)
    })
    .await
}

/// The status and `published_at` after changing an article's schedule.
fn reschedule(
    current: ArticleStatus,
    schedule: Option<PrimitiveDateTime>,
    now: PrimitiveDateTime,
) -> Result<(ArticleStatus, Option<PrimitiveDateTime>), PublishingError> {
    match (current, schedule) {
        (ArticleStatus::Published, _) => Err(PublishingError::Conflict {
            field: "publish_at",
            message: "The article is already published; unpublish it before scheduling it.".into(),
        }),
        (_, Some(at)) if at > now => Ok((ArticleStatus::Scheduled, Some(at))),
        (_, Some(_)) => Err(PublishingError::Conflict {
            field: "publish_at",
            message: "publish_at is in the past; publish the article instead.".into(),
        }),
        (_, None) => Ok((ArticleStatus::Draft, None)),
    }
}

/// How to publish: when (`None` or a past time: now; a future time
/// schedules) and, when given, whether on the site or by email only.
#[derive(Debug, Default, Clone, Copy)]
pub struct PublishOptions {
    pub at: Option<PrimitiveDateTime>,
    pub on_site: Option<bool>,
}

/// Publishes now, or schedules for `at` when it is in the future. Publishing
/// a published article changes nothing.
#[tracing::instrument(skip_all, fields(article_id = id, actor_id = actor.user_id))]
pub async fn publish_article(
    state: &AppState,
    actor: Actor,
    id: i32,
    options: PublishOptions,
) -> Result<Article, PublishingError> {
    if !actor.role.can_publish() {
        return Err(PublishingError::Forbidden(AUTHORS_DRAFT_ONLY));
    }
    let policy = state.policy;
    let site = state.config.clone();
    let article = in_transaction(state, move |conn| {
        let article = visible(conn, actor, id)?;
        if article.status() == ArticleStatus::Published {
            return Ok(article);
        }
        let on_site = options.on_site.unwrap_or(article.row.on_site);
        check_email_only(on_site, article.email_segment())?;
        let now = db::now();
        let (status, published_at) = match options.at {
            Some(at) if at > now => (ArticleStatus::Scheduled, at),
            _ => (ArticleStatus::Published, now),
        };
        let changes = ArticleChanges {
            status: Some(status.as_str()),
            publish_at: Some(options.at),
            published_at: Some(Some(published_at)),
            updated_at: Some(now),
            on_site: Some(on_site),
            ..Default::default()
        };
        articles::update(conn, id, None, &changes)?;
        articles::record_event(conn, id, status_event(status), Some(actor.user_id))?;
        let article = reload(conn, id)?;
        if status == ArticleStatus::Published {
            went_live(conn, &article, &policy, &site)?;
        }
        Ok(article)
    })
    .await;
    state.mail_wakeup.ring();
    article
}

/// Takes a published or scheduled article back to draft.
#[tracing::instrument(skip_all, fields(article_id = id, actor_id = actor.user_id))]
pub async fn unpublish_article(state: &AppState, actor: Actor, id: i32) -> Result<Article, PublishingError> {
    if !actor.role.can_publish() {
        return Err(PublishingError::Forbidden(AUTHORS_DRAFT_ONLY));
    }
    in_transaction(state, move |conn| {
        let article = visible(conn, actor, id)?;
        if article.status() == ArticleStatus::Draft {
            return Ok(article);
        }
        let changes = ArticleChanges {
            status: Some(ArticleStatus::Draft.as_str()),
            publish_at: Some(None),
            published_at: Some(None),
            updated_at: Some(db::now()),
            ..Default::default()
        };
        articles::update(conn, id, None, &changes)?;
        articles::record_event(conn, id, "unpublished", Some(actor.user_id))?;
        reload(conn, id)
    })
    .await
}

/// Deletes a draft. Published articles are unpublished first, so a link
/// that was shared never silently disappears.
pub async fn delete_article(state: &AppState, actor: Actor, id: i32) -> Result<(), PublishingError> {
    in_transaction(state, move |conn| {
        let article = editable(conn, actor, id)?;
        if article.status() != ArticleStatus::Draft {
            return Err(PublishingError::Conflict {
                field: "status",
                message: "Only drafts can be deleted; unpublish the article first.".into(),
            });
        }
        articles::delete(conn, id)?;
        db::search::remove(conn, id)?;
        tracing::info!(article_id = id, actor_id = actor.user_id, "article deleted");
        Ok(())
    })
    .await
}

/// Publishes every scheduled article whose time has come; returns how many
/// this call published. Each is claimed by a conditional UPDATE, so with
/// several instances running each article is published by exactly one.
pub async fn publish_due(state: &AppState) -> anyhow::Result<usize> {
    let policy = state.policy;
    let site = state.config.clone();
    let published = db::run(&state.pool, move |conn| {
        let now = db::now();
        let mut published = 0;
        for id in articles::due_scheduled(conn, now)? {
            let claimed = db::write_transaction(conn, |conn| {
                let changes = ArticleChanges {
                    status: Some(ArticleStatus::Published.as_str()),
                    updated_at: Some(now),
                    ..Default::default()
                };
                let claimed = articles::update(conn, id, Some(&[ArticleStatus::Scheduled]), &changes)? == 1;
                if claimed {
                    articles::record_event(conn, id, "published", None)?;
                    let article = articles::find(conn, id)?.context("the claimed article vanished")?;
                    went_live(conn, &article, &policy, &site)?;
                }
                anyhow::Ok(claimed)
            });
            if claimed.with_context(|| format!("publishing scheduled article {id}"))? {
                tracing::info!(article_id = id, "published a scheduled article");
                published += 1;
            }
        }
        Ok(published)
    })
    .await?;
    if published > 0 {
        // Published without a request: the cache may still say 404.
        state.read_cache.clear();
        state.mail_wakeup.ring();
    }
    Ok(published)
}

/// Emails every published post whose separate email time has come; returns
/// how many. The send is made once per article (`sends::create`), however
/// many instances try.
pub async fn email_due(state: &AppState) -> anyhow::Result<usize> {
    let policy = state.policy;
    let emailed = db::run(&state.pool, move |conn| {
        let mut emailed = 0;
        for id in articles::due_emails(conn, db::now())? {
            let send = db::write_transaction(conn, |conn| {
                let article = articles::find(conn, id)?.context("a due article vanished")?;
                newsletter::fan_out(conn, &article, &policy)
            })
            .with_context(|| format!("emailing article {id} at its email time"))?;
            if send.is_some() {
                tracing::info!(article_id = id, "emailed a post at its email time");
                emailed += 1;
            }
        }
        Ok(emailed)
    })
    .await?;
    if emailed > 0 {
        state.mail_wakeup.ring();
    }
    Ok(emailed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::{Duration, macros::datetime};

    fn draft(publish: bool, publish_at: Option<PrimitiveDateTime>) -> ArticleDraft {
        ArticleDraft {
            publish,
            publish_at,
            ..ArticleDraft::new(
                ArticleTitle::parse("t").unwrap(),
                ArticleMarkdown::parse("b".into()).unwrap(),
                Visibility::Public,
            )
        }
    }

    #[test]
    fn the_publishing_choice_sets_the_status() {
        let now = datetime!(2026-11-27 12:00);
        let later = now + Duration::hours(1);
        let earlier = now - Duration::hours(1);
        assert_eq!(status_of(&draft(false, None), now), (ArticleStatus::Draft, None));
        assert_eq!(
            status_of(&draft(true, None), now),
            (ArticleStatus::Published, Some(now))
        );
        assert_eq!(
            status_of(&draft(true, Some(later)), now),
            (ArticleStatus::Scheduled, Some(later))
        );
        assert_eq!(
            status_of(&draft(false, Some(earlier)), now),
            (ArticleStatus::Published, Some(earlier))
        );
    }

    #[test]
    fn rescheduling_follows_the_status() {
        let now = datetime!(2026-11-27 12:00);
        let later = now + Duration::hours(1);
        assert!(matches!(
            reschedule(ArticleStatus::Draft, Some(later), now),
            Ok((ArticleStatus::Scheduled, Some(_)))
        ));
        assert!(matches!(
            reschedule(ArticleStatus::Scheduled, None, now),
            Ok((ArticleStatus::Draft, None))
        ));
        assert!(reschedule(ArticleStatus::Published, Some(later), now).is_err());
        assert!(reschedule(ArticleStatus::Draft, Some(now - Duration::hours(1)), now).is_err());
    }
}
