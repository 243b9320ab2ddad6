//! The small editor at `/admin` for staff logged in on the site: list,
//! write with a live preview of the article and its teaser, publish or
//! schedule, and watch the email go out. It calls the same publishing
//! services as the admin API.

use crate::domain::access;
use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, post, web};
use serde::Deserialize;

use crate::web::{
    error::{PageResult, Problem},
    pages,
};
use crate::{
    db::articles::{Article, ArticleFilter},
    domain::{
        InvalidInput,
        article::{self, ArticleKind, ArticleMarkdown, ArticleTitle, EmailSegment, Visibility},
        markdown,
        slug::Slug,
        tags::{self, TagName},
    },
    newsletter,
    publishing::{self, ArticleDraft, ArticleEdit, Cover, EmailCopy, PublishOptions, PublishingError},
    reading::Page,
    state::AppState,
    web::{
        csrf::CsrfForm,
        extract::SiteStaff,
        views::{AdminEditPage, AdminListPage, AdminRow, EmailStatsView, ReachView, SendView},
    },
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list)
        .service(new_form)
        .service(create)
        .service(edit_form)
        .service(update)
        .service(preview);
}

#[get("/admin")]
async fn list(req: HttpRequest, state: web::Data<AppState>, staff: SiteStaff) -> PageResult<HttpResponse> {
    let actor = staff.actor;
    let reader = &staff;
    let page = Page {
        number: 1,
        per_page: Page::MAX_PER_PAGE,
    };
    let (articles, _) = publishing::list_articles(&state, actor, ArticleFilter::default(), page)
        .await
        .map_err(Problem::from)?;
    let layout = pages::layout(&req, &reader.reader).await;
    let rows = articles
        .into_iter()
        .map(|a| AdminRow {
            id: a.row.id,
            title: a.row.title,
            status: a.row.status.to_string(),
            visibility: a.row.visibility.to_string(),
            updated: layout.site.date(a.row.updated_at),
        })
        .collect();
    let page = AdminListPage {
        layout,
        articles: rows,
    };
    Ok(pages::render(&req, StatusCode::OK, &page)?)
}

#[derive(Deserialize, Default)]
struct EditorForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    markdown: String,
    #[serde(default)]
    visibility: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    publish_at: String,
    #[serde(default)]
    action: String,
    /// A newsletter's id; empty: the first one running.
    #[serde(default)]
    newsletter_id: String,
    #[serde(default)]
    email_subject: String,
    #[serde(default)]
    preheader: String,
    #[serde(default)]
    email_at: String,
    /// A checkbox: present when ticked.
    email_only: Option<String>,
    #[serde(default)]
    feature_image: String,
    #[serde(default)]
    feature_image_alt: String,
    #[serde(default)]
    feature_image_caption: String,
    /// Comma-separated.
    #[serde(default)]
    tags: String,
    /// `post` or `page`; empty: a post.
    #[serde(default)]
    kind: String,
    /// Author slugs, comma-separated (editors only; absent: unchanged).
    authors: Option<String>,
}

/// A validated form.
struct Parsed {
    title: ArticleTitle,
    markdown: ArticleMarkdown,
    visibility: Visibility,
    segment: EmailSegment,
    publish_at: Option<time::PrimitiveDateTime>,
    newsletter_id: Option<i32>,
    email: EmailCopy,
    on_site: bool,
    cover: Cover,
    tags: Vec<TagName>,
    kind: ArticleKind,
    authors: Option<Vec<Slug>>,
}

/// An optional field: empty is `None`, anything else must pass `check`.
fn optional(
    raw: &str,
    check: impl Fn(&str) -> Result<String, InvalidInput>,
) -> Result<Option<String>, InvalidInput> {
    match raw.trim() {
        "" => Ok(None),
        text => check(text).map(Some),
    }
}

impl EditorForm {
    fn parse(&self) -> Result<Parsed, InvalidInput> {
        let newsletter_id = optional(&self.newsletter_id, |id| {
            id.parse::<i32>()
                .map(|id| id.to_string())
                .map_err(|_| InvalidInput::new("newsletter_id", "choose a newsletter from the list"))
        })?
        .and_then(|id| id.parse().ok());
        Ok(Parsed {
            title: ArticleTitle::parse(&self.title)?,
            markdown: ArticleMarkdown::parse(self.markdown.clone())?,
            visibility: Visibility::parse(&self.visibility)?,
            segment: EmailSegment::parse(&self.email)?,
            publish_at: optional_time(&self.publish_at, "publish_at")?,
            newsletter_id,
            email: EmailCopy {
                subject: optional(&self.email_subject, article::email_subject)?,
                preheader: optional(&self.preheader, article::preheader)?,
                at: optional_time(&self.email_at, "email_at")?,
            },
            on_site: self.email_only.is_none(),
            cover: Cover {
                image: optional(&self.feature_image, article::feature_image)?,
                alt: optional(&self.feature_image_alt, article::feature_image_alt)?,
                caption: optional(&self.feature_image_caption, article::feature_image_caption)?,
            },
            tags: tags::from_field(&self.tags)?,
            kind: match self.kind.trim() {
                "" => ArticleKind::Post,
                kind => ArticleKind::parse(kind)?,
            },
            authors: self.authors.as_deref().map(author_slugs).transpose()?,
        })
    }
}

/// Author slugs typed in one field ("ada, grace").
fn author_slugs(field: &str) -> Result<Vec<Slug>, InvalidInput> {
    field
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            Slug::parse(s).map_err(|_| InvalidInput::new("authors", format!("{s:?} is not an author's slug")))
        })
        .collect()
}

fn optional_time(raw: &str, field: &'static str) -> Result<Option<time::PrimitiveDateTime>, InvalidInput> {
    match raw.trim() {
        "" => Ok(None),
        text => parse_local_utc(text, field).map(Some),
    }
}

/// `<input type="datetime-local">` sends `2026-12-01T09:00` with no zone:
/// the form says the time is UTC.
fn parse_local_utc(text: &str, field: &'static str) -> Result<time::PrimitiveDateTime, InvalidInput> {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let with_seconds = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    time::PrimitiveDateTime::parse(text, &format)
        .or_else(|_| time::PrimitiveDateTime::parse(text, &with_seconds))
        .map_err(|_| {
            InvalidInput::new(
                field,
                format!("{} must be a date and time", field.replace('_', " ")),
            )
        })
}

fn format_local(at: time::PrimitiveDateTime) -> String {
    at.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]"
    ))
    .unwrap_or_default()
}

const VISIBILITIES: [(&str, &str); 3] = [
    ("public", "Everyone"),
    ("members", "Members (free account)"),
    ("paid", "Paying subscribers"),
];
const SEGMENTS: [(&str, &str); 4] = [
    ("none", "Nobody"),
    ("all", "All members"),
    ("paid", "Paying subscribers"),
    ("free", "Free members"),
];

/// The editor page for `form`, with previews rendered from its markdown.
async fn editor_page(
    req: &HttpRequest,
    reader: &SiteStaff,
    state: &AppState,
    form: &EditorForm,
    article: Option<&Article>,
) -> AdminEditPage {
    let rendered = publishing::media::preview(state, form.markdown.clone())
        .await
        .unwrap_or_else(|_| {
            markdown::render(&form.markdown, state.config.preview_chars, &Default::default())
        });
    let chosen = form.newsletter_id.trim().parse::<i32>().ok();
    // Only a warning: the page still works when the count cannot be had.
    let audience = newsletter::audience_size(&state.pool, chosen).await.ok();
    let newsletters = crate::members::newsletters::running(state)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|n| (n.id.to_string(), n.name))
        .collect();
    AdminEditPage {
        nobody_confirmed: audience == Some(0),
        layout: pages::layout(req, &reader.reader).await,
        id: article.map(|a| a.row.id),
        action: article.map_or("/admin/articles".to_owned(), |a| {
            format!("/admin/articles/{}", a.row.id)
        }),
        status: article.map(|a| a.row.status.to_string()),
        url: article.map(Article::path),
        send: None,
        email_stats: None,
        reach: None,
        error: None,
        title: form.title.clone(),
        markdown: form.markdown.clone(),
        visibility: if form.visibility.is_empty() {
            "public".into()
        } else {
            form.visibility.clone()
        },
        email: if form.email.is_empty() {
            "none".into()
        } else {
            form.email.clone()
        },
        publish_at: form.publish_at.clone(),
        newsletters,
        newsletter_id: form.newsletter_id.clone(),
        email_subject: form.email_subject.clone(),
        preheader: form.preheader.clone(),
        email_at: form.email_at.clone(),
        email_only: form.email_only.is_some(),
        feature_image: form.feature_image.clone(),
        feature_image_alt: form.feature_image_alt.clone(),
        feature_image_caption: form.feature_image_caption.clone(),
        tags: form.tags.clone(),
        kind: if form.kind.is_empty() {
            "post".into()
        } else {
            form.kind.clone()
        },
        authors: form.authors.clone().unwrap_or_default(),
        visibilities: VISIBILITIES.to_vec(),
        segments: SEGMENTS.to_vec(),
        can_publish: reader.actor.role.can_publish(),
        preview_full: rendered.body_html,
        preview_teaser: rendered.preview_html,
    }
}

fn form_of(article: &Article, proof: access::FullBody) -> EditorForm {
    let row = &article.row;
    EditorForm {
        title: row.title.clone(),
        markdown: row.full_body(proof).markdown.to_owned(),
        visibility: row.visibility.to_string(),
        email: row.email.to_string(),
        publish_at: row.publish_at.map(format_local).unwrap_or_default(),
        action: String::new(),
        newsletter_id: row.newsletter_id.map(|id| id.to_string()).unwrap_or_default(),
        email_subject: row.email_subject.clone().unwrap_or_default(),
        preheader: row.preheader.clone().unwrap_or_default(),
        email_at: row.email_at.map(format_local).unwrap_or_default(),
        email_only: (!row.on_site).then(String::new),
        feature_image: row.feature_image.clone().unwrap_or_default(),
        feature_image_alt: row.feature_image_alt.clone().unwrap_or_default(),
        feature_image_caption: row.feature_image_caption.clone().unwrap_or_default(),
        tags: article
            .tags
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        kind: row.kind.to_string(),
        authors: Some(
            article
                .authors
                .iter()
                .map(|a| a.slug.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ),
    }
}

#[get("/admin/articles/new")]
async fn new_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: SiteStaff,
) -> PageResult<HttpResponse> {
    let reader = &staff;
    let page = editor_page(&req, reader, &state, &EditorForm::default(), None).await;
    Ok(pages::render(&req, StatusCode::OK, &page)?)
}

/// Re-shows the form with an error, keeping everything typed.
async fn form_error(
    req: &HttpRequest,
    reader: &SiteStaff,
    state: &AppState,
    form: &EditorForm,
    article: Option<&Article>,
    error: String,
) -> PageResult<HttpResponse> {
    let mut page = editor_page(req, reader, state, form, article).await;
    page.error = Some(error);
    Ok(pages::render(req, StatusCode::UNPROCESSABLE_ENTITY, &page)?)
}

#[post("/admin/articles")]
async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: SiteStaff,
    CsrfForm(form): CsrfForm<EditorForm>,
) -> PageResult<HttpResponse> {
    let actor = staff.actor;
    let reader = &staff;
    if form.action == "preview" {
        let page = editor_page(&req, reader, &state, &form, None).await;
        return Ok(pages::render(&req, StatusCode::OK, &page)?);
    }
    let parsed = match form.parse() {
        Ok(parsed) => parsed,
        Err(invalid) => return form_error(&req, reader, &state, &form, None, invalid.message).await,
    };
    let publish = form.action == "publish";
    let draft = ArticleDraft {
        title: parsed.title,
        markdown: parsed.markdown,
        visibility: parsed.visibility,
        slug: None,
        publish: publish && parsed.publish_at.is_none(),
        publish_at: if publish { parsed.publish_at } else { None },
        segment: parsed.segment,
        // Tiers are chosen through the admin API.
        tiers: Vec::new(),
        newsletter_id: parsed.newsletter_id,
        email: parsed.email,
        on_site: parsed.on_site,
        kind: parsed.kind,
        authors: parsed
            .authors
            .filter(|_| actor.role.can_publish())
            .unwrap_or_default(),
        cover: parsed.cover,
        tags: parsed.tags,
    };
    match publishing::create_article(&state, actor, draft).await {
        Ok(article) => Ok(pages::redirect_with_flash(
            &format!("/admin/articles/{}", article.row.id),
            flash_for(&article),
        )),
        Err(PublishingError::Internal(e)) => Err(e.into()),
        Err(e) => form_error(&req, reader, &state, &form, None, e.to_string()).await,
    }
}

fn flash_for(article: &Article) -> &'static str {
    match article.row.status.as_str() {
        "published" => "Published.",
        "scheduled" => "Scheduled.",
        _ => "Saved as a draft.",
    }
}

fn article_id(raw: &str) -> Result<i32, Problem> {
    super::path_id(raw, "article")
}

#[get("/admin/articles/{id}")]
async fn edit_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: SiteStaff,
    id: web::Path<String>,
) -> PageResult<HttpResponse> {
    let actor = staff.actor;
    let reader = &staff;
    let article = publishing::get_article(&state, actor, article_id(&id)?)
        .await
        .map_err(Problem::from)?;
    let mut page = editor_page(
        &req,
        reader,
        &state,
        &form_of(&article, staff.proof),
        Some(&article),
    )
    .await;
    let stats = newsletter::engagement::article_stats(&state, actor, article.row.id).await?;
    if let Some(stats) = &stats {
        page.reach = Some(ReachView {
            views: stats.views.iter().map(|(_, n)| n).sum(),
            signups: stats.attribution.signups,
            paid_conversions: stats.attribution.paid_conversions,
        });
    }
    if let Some(email) = stats.and_then(|stats| stats.email) {
        let progress = &email.progress;
        page.send = Some(SendView {
            total: progress.send.total,
            sent: progress.sent,
            failed: progress.failed,
            pending: progress.pending,
            status: progress.send.status.clone(),
        });
        page.email_stats = Some(EmailStatsView::new(&email));
    }
    Ok(pages::render(&req, StatusCode::OK, &page)?)
}

#[post("/admin/articles/{id}")]
async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: SiteStaff,
    id: web::Path<String>,
    CsrfForm(form): CsrfForm<EditorForm>,
) -> PageResult<HttpResponse> {
    let actor = staff.actor;
    let reader = &staff;
    let id = article_id(&id)?;
    let article = publishing::get_article(&state, actor, id)
        .await
        .map_err(Problem::from)?;
    let outcome = match form.action.as_str() {
        "preview" => {
            let page = editor_page(&req, reader, &state, &form, Some(&article)).await;
            return Ok(pages::render(&req, StatusCode::OK, &page)?);
        }
        "unpublish" => publishing::unpublish_article(&state, actor, id).await,
        action => {
            let parsed = match form.parse() {
                Ok(parsed) => parsed,
                Err(invalid) => {
                    return form_error(&req, reader, &state, &form, Some(&article), invalid.message).await;
                }
            };
            let edit = ArticleEdit {
                title: Some(parsed.title),
                markdown: Some(parsed.markdown),
                visibility: Some(parsed.visibility),
                slug: None,
                segment: Some(parsed.segment),
                publish_at: None,
                // The editor page does not choose tiers (the admin API does);
                // saving here keeps what the article has.
                tiers: None,
                newsletter_id: Some(parsed.newsletter_id),
                email_subject: Some(parsed.email.subject),
                preheader: Some(parsed.email.preheader),
                email_at: Some(parsed.email.at),
                on_site: Some(parsed.on_site),
                feature_image: Some(parsed.cover.image),
                feature_image_alt: Some(parsed.cover.alt),
                feature_image_caption: Some(parsed.cover.caption),
                tags: Some(parsed.tags),
                kind: Some(parsed.kind),
                // Only editors see the field; an author's form keeps the byline.
                authors: parsed.authors.filter(|_| actor.role.can_publish()),
            };
            match publishing::edit_article(&state, actor, id, edit).await {
                Ok(_) if action == "publish" => {
                    let options = PublishOptions {
                        at: parsed.publish_at,
                        on_site: None,
                    };
                    publishing::publish_article(&state, actor, id, options).await
                }
                other => other,
            }
        }
    };
    match outcome {
        Ok(article) => Ok(pages::redirect_with_flash(
            &format!("/admin/articles/{id}"),
            flash_for(&article),
        )),
        Err(PublishingError::Internal(e)) => Err(e.into()),
        Err(e) => form_error(&req, reader, &state, &form, Some(&article), e.to_string()).await,
    }
}

#[derive(Deserialize)]
struct PreviewForm {
    #[serde(default)]
    markdown: String,
}

/// The live preview: the article and its teaser, rendered and sanitized
/// exactly as publishing would.
#[post("/admin/preview")]
async fn preview(
    state: web::Data<AppState>,
    _staff: SiteStaff,
    CsrfForm(form): CsrfForm<PreviewForm>,
) -> PageResult<HttpResponse> {
    let markdown = ArticleMarkdown::parse(form.markdown)
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let rendered = publishing::media::preview(&state, markdown).await?;
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({ "html": rendered.body_html, "preview_html": rendered.preview_html })))
}
