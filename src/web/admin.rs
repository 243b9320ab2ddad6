//! The editors' JSON API under `/admin/api`, authenticated by API key
//!. Every route here is listed in the OpenAPI document served at
//! `/admin/api/openapi.json`, generated from these handlers and types.

use crate::domain::access;
use actix_web::{HttpResponse, delete, get, http::header, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{
    IntoParams, Modify, OpenApi, ToSchema,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use crate::web::error::{ApiResult, ErrorBody, Problem};
use crate::web::tiers_api::{self, BenefitLines};
use crate::web::{
    api::{AuthorJson, TagJson},
    authors_api, media, members_api, newsletters_api, offers_api, stats_api, tags_api, webhooks_api,
};
use crate::{
    db::articles::{Article, ArticleFilter},
    domain::email::EmailAddress,
    domain::{
        InvalidInput,
        article::{
            self, ArticleKind, ArticleMarkdown, ArticleStatus, ArticleTitle, EmailSegment, Visibility,
        },
        settings::{NavLink, SettingsPatch, SiteSettings, WelcomeEmail},
        slug::Slug,
        tags::{self, TagName},
        time::{parse_rfc3339, rfc3339},
    },
    newsletter, publication,
    publishing::{
        self, ArticleDraft, ArticleEdit, Cover, EmailCopy, PublishOptions, PublishingError, TestEmail,
    },
    reading::Page,
    state::AppState,
    web::extract::ApiStaff,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(openapi_json)
        .service(list_articles)
        .service(create_article)
        .service(get_article)
        .service(patch_article)
        .service(delete_article)
        .service(publish_article)
        .service(unpublish_article)
        .service(email_article)
        .service(test_email)
        .service(get_send)
        .service(retry_send)
        .service(get_settings)
        .service(patch_settings);
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Broadsheet admin API", description = "Editors publish here. Authenticate with `Authorization: Bearer <API key>` (`broadsheet admin api-key`)."),
    paths(list_articles, create_article, get_article, patch_article, delete_article, publish_article, unpublish_article, email_article, test_email, get_send, retry_send, get_settings, patch_settings,
        members_api::list_members, members_api::member_counts, members_api::export_members, members_api::create_member, members_api::get_member, members_api::patch_member, members_api::delete_member,
        members_api::member_activity, members_api::grant_comp, members_api::revoke_comp, members_api::member_billing,
        members_api::list_labels, members_api::create_label, members_api::patch_label, members_api::delete_label,
        newsletters_api::list_newsletters, newsletters_api::create_newsletter, newsletters_api::get_newsletter, newsletters_api::patch_newsletter,
        tags_api::list_tags, tags_api::rename_tag,
        stats_api::article_stats, stats_api::publication_stats,
        authors_api::list_authors, authors_api::get_author, authors_api::patch_author,
        media::upload_with_key,
        tiers_api::list_tiers, tiers_api::create_tier, tiers_api::get_tier, tiers_api::patch_tier, tiers_api::delete_tier,
        tiers_api::add_price, tiers_api::patch_price, tiers_api::delete_price,
        offers_api::list_offers, offers_api::create_offer, offers_api::get_offer, offers_api::patch_offer, offers_api::delete_offer,
        webhooks_api::list_webhooks, webhooks_api::create_webhook, webhooks_api::get_webhook, webhooks_api::patch_webhook,
        webhooks_api::delete_webhook, webhooks_api::webhook_deliveries),
    components(schemas(ErrorBody, SiteSettings, SettingsPatch, NavLink, WelcomeEmail)),
    modifiers(&BearerKey, &TimeZones, &BenefitLines),
    security(("api_key" = []))
)]
pub struct AdminApiDoc;

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `timezone` takes the IANA names chrono-tz knows: listed in the document
/// so a client (and schemathesis) knows exactly which strings pass.
struct TimeZones;

impl Modify for TimeZones {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{RefOr, schema::Schema};
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let Some(RefOr::T(Schema::Object(patch))) = components.schemas.get_mut("SettingsPatch") else {
            return;
        };
        if let Some(RefOr::T(Schema::Object(zone))) = patch.properties.get_mut("timezone") {
            let names = crate::domain::settings::time_zone_names().map(|name| serde_json::json!(name));
            zone.enum_values = Some(names.chain([serde_json::Value::Null]).collect());
        }
    }
}

#[get("/openapi.json")]
async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(AdminApiDoc::openapi())
}

/// For a path the admin API has but not with this method: the methods it
/// does answer (for a 405 with `Allow`). Read off the OpenAPI document, which
/// a test holds to the real routes.
pub(crate) fn methods_allowed_at(path: &str) -> Option<Vec<String>> {
    static PATHS: std::sync::OnceLock<Vec<(String, Vec<String>)>> = std::sync::OnceLock::new();
    let paths = PATHS.get_or_init(|| {
        let doc = serde_json::to_value(AdminApiDoc::openapi()).unwrap_or_default();
        doc["paths"]
            .as_object()
            .map(|paths| {
                paths
                    .iter()
                    .map(|(template, item)| {
                        let methods = item
                            .as_object()
                            .map(|ops| ops.keys().map(|m| m.to_uppercase()).collect())
                            .unwrap_or_default();
                        (template.clone(), methods)
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    let matches = |template: &str| {
        let (mut want, mut got) = (template.split('/'), path.split('/'));
        loop {
            match (want.next(), got.next()) {
                (None, None) => return true,
                (Some(w), Some(g)) if w == g || (w.starts_with('{') && !g.is_empty()) => {}
                _ => return false,
            }
        }
    };
    paths
        .iter()
        .find(|(template, _)| matches(template))
        .map(|(_, methods)| methods.clone())
}

impl From<PublishingError> for Problem {
    fn from(e: PublishingError) -> Self {
        match e {
            PublishingError::NotFound => Problem::not_found("There is no article with that id."),
            PublishingError::Forbidden(message) => Problem::forbidden(message),
            PublishingError::Conflict { field, message } => Problem::conflict(field, message),
            PublishingError::Invalid(invalid) => Problem::from(invalid),
            PublishingError::MailServer(message) => {
                Problem::new(actix_web::http::StatusCode::BAD_GATEWAY, "mail_server", message)
            }
            PublishingError::Internal(e) => Problem::internal(e),
        }
    }
}

/// The body of `POST /admin/api/articles`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateArticleBody {
    /// 1 to 300 characters, not all spaces, no control characters.
    #[schema(
        min_length = 1,
        max_length = 300,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    title: String,
    /// The body in markdown (not blank, no NUL characters, at most 1 MB);
    /// a line `<!-- paywall -->` ends the free preview.
    #[schema(pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    markdown: String,
    visibility: Visibility,
    /// Made from the title when left out.
    #[schema(max_length = 100, pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$")]
    slug: Option<String>,
    /// Publish now.
    #[serde(default)]
    publish: bool,
    /// RFC 3339. In the future: schedule; in the past: backdate.
    #[schema(format = DateTime)]
    publish_at: Option<String>,
    /// Who gets it by email when it is published (default `none`).
    email: Option<EmailSegment>,
    /// For a paid article: the slugs of the tiers that may read it (left
    /// out or empty: any paid tier).
    #[schema(max_items = 20)]
    tiers: Option<Vec<TierSlug>>,
    /// The newsletter it goes out through (`/admin/api/newsletters`); left
    /// out: the first one running.
    #[schema(minimum = 1)]
    newsletter_id: Option<i32>,
    /// The email's subject line (left out: the title). One line, 1 to 200 characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    email_subject: Option<String>,
    /// The line inboxes show after the subject (left out: the excerpt).
    #[schema(
        min_length = 1,
        max_length = 300,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    preheader: Option<String>,
    /// RFC 3339: send the email then rather than at publishing (never
    /// before publishing).
    #[schema(format = DateTime)]
    email_at: Option<String>,
    /// `false`: an email-only post, sent but never on the site, its feeds
    /// or its search (default `true`). Needs `email` other than `none`.
    #[serde(default = "on_site")]
    site: bool,
    /// The cover image, atop the post, on cards and in its email: a path
    /// on this site (`/media/…`) or an `https://` address.
    #[schema(
        max_length = 2000,
        pattern = r"^/([^/\\\s\x00-\x1F\x7F-\x9F][^\s\x00-\x1F\x7F-\x9F]*)?$|^https://([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*(/[^\s\x00-\x1F\x7F-\x9F]*)?$"
    )]
    feature_image: Option<String>,
    /// The image described, for screen readers. One line, at most 500 characters.
    #[schema(max_length = 500, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    feature_image_alt: Option<String>,
    /// One line, at most 500 characters.
    #[schema(max_length = 500, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    feature_image_caption: Option<String>,
    /// Tag names in order (made on first use; "Rust" and "rust" are one
    /// tag), at most 20, each 1 to 50 characters with a letter or digit.
    #[schema(max_items = 20)]
    tags: Option<Vec<String>>,
    /// `post` (default) or `page`: a page (About, Terms…) lives at
    /// `/{slug}` and is never listed, in feeds or emailed.
    #[serde(rename = "type")]
    kind: Option<ArticleKind>,
    /// The byline: staff profile slugs in order (`/admin/api/authors`).
    /// Editors and admins only; left out: the writer alone.
    #[schema(max_items = 10)]
    authors: Option<Vec<AuthorSlug>>,
}

/// An author's profile slug (`/admin/api/authors`).
#[derive(Deserialize, ToSchema)]
#[schema(value_type = String, pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$")]
#[serde(transparent)]
struct AuthorSlug(String);

fn author_slugs(raw: Vec<AuthorSlug>) -> Result<Vec<Slug>, InvalidInput> {
    if raw.len() > crate::domain::author::MAX_PER_POST {
        return Err(InvalidInput::new(
            "authors",
            format!(
                "a byline has at most {} authors",
                crate::domain::author::MAX_PER_POST
            ),
        ));
    }
    raw.iter()
        .map(|slug| Slug::parse(&slug.0).map_err(|e| InvalidInput::new("authors", e.message)))
        .collect()
}

fn tag_names(names: Vec<String>) -> Result<Vec<TagName>, InvalidInput> {
    tags::post_tags(&names)
}

fn on_site() -> bool {
    true
}

/// Checks an optional text field with `check`.
fn checked(
    raw: Option<String>,
    check: fn(&str) -> Result<String, InvalidInput>,
) -> Result<Option<String>, InvalidInput> {
    raw.as_deref().map(check).transpose()
}

/// Checks a nullable text field of a PATCH with `check`.
fn checked_patch(
    raw: Option<Option<String>>,
    check: fn(&str) -> Result<String, InvalidInput>,
) -> Result<Option<Option<String>>, InvalidInput> {
    raw.map(|value| checked(value, check)).transpose()
}

/// A tier's slug (`/admin/api/tiers`).
#[derive(Deserialize, ToSchema)]
#[schema(value_type = String, pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$")]
#[serde(transparent)]
struct TierSlug(String);

fn tier_slugs(raw: Option<Vec<TierSlug>>) -> Result<Vec<Slug>, InvalidInput> {
    let raw = raw.unwrap_or_default();
    if raw.len() > 20 {
        return Err(InvalidInput::new("tiers", "an article names at most 20 tiers"));
    }
    raw.iter()
        .map(|slug| {
            crate::domain::tier::tier_slug(&slug.0).map_err(|e| InvalidInput::new("tiers", e.message))
        })
        .collect()
}

impl TryFrom<CreateArticleBody> for ArticleDraft {
    type Error = InvalidInput;

    fn try_from(body: CreateArticleBody) -> Result<Self, InvalidInput> {
        Ok(ArticleDraft {
            title: ArticleTitle::parse(&body.title)?,
            markdown: ArticleMarkdown::parse(body.markdown)?,
            visibility: body.visibility,
            slug: body.slug.as_deref().map(Slug::parse).transpose()?,
            publish: body.publish,
            publish_at: body
                .publish_at
                .as_deref()
                .map(|t| parse_rfc3339(t, "publish_at"))
                .transpose()?,
            segment: body.email.unwrap_or(EmailSegment::None),
            tiers: tier_slugs(body.tiers)?,
            newsletter_id: body.newsletter_id,
            email: EmailCopy {
                subject: checked(body.email_subject, article::email_subject)?,
                preheader: checked(body.preheader, article::preheader)?,
                at: body
                    .email_at
                    .as_deref()
                    .map(|t| parse_rfc3339(t, "email_at"))
                    .transpose()?,
            },
            on_site: body.site,
            cover: Cover {
                image: checked(body.feature_image, article::feature_image)?,
                alt: checked(body.feature_image_alt, article::feature_image_alt)?,
                caption: checked(body.feature_image_caption, article::feature_image_caption)?,
            },
            tags: tag_names(body.tags.unwrap_or_default())?,
            kind: body.kind.unwrap_or(ArticleKind::Post),
            authors: author_slugs(body.authors.unwrap_or_default())?,
        })
    }
}

/// Tells a field sent as `null` (`Some(None)`) from a field left out (`None`).
/// The body of `PATCH /admin/api/articles/{id}`: only the fields sent change;
/// `null` clears `slug` (made from the title again), `email` (to `none`) and
/// `publish_at` (unschedules). `title`, `markdown` and `visibility` cannot be
/// cleared.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PatchArticleBody {
    /// Left out: unchanged. It cannot be cleared.
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 300, pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$")]
    title: Option<Option<String>>,
    /// Left out: unchanged. It cannot be cleared.
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    #[schema(value_type = String, required = false, pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    markdown: Option<Option<String>>,
    /// Left out: unchanged. It cannot be cleared.
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    #[schema(value_type = Visibility, required = false)]
    visibility: Option<Option<Visibility>>,
    /// `null`: made from the title again.
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    #[schema(value_type = Option<String>, max_length = 100, pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$")]
    slug: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    #[schema(value_type = Option<EmailSegment>)]
    email: Option<Option<EmailSegment>>,
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    #[schema(value_type = Option<String>, format = DateTime)]
    publish_at: Option<Option<String>>,
    /// Replaces the tiers of a paid article; `null` or `[]`: any paid tier.
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    #[schema(value_type = Option<Vec<TierSlug>>, max_items = 20)]
    tiers: Option<Option<Vec<TierSlug>>>,
    /// `null`: the first newsletter running.
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    #[schema(value_type = Option<i32>, minimum = 1)]
    newsletter_id: Option<Option<i32>>,
    /// `null`: the title again.
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$")]
    email_subject: Option<Option<String>>,
    /// `null`: the excerpt again.
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 300, pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$")]
    preheader: Option<Option<String>>,
    /// `null`: at publishing.
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    #[schema(value_type = Option<String>, format = DateTime)]
    email_at: Option<Option<String>>,
    /// `false`: email-only. It cannot be cleared.
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    #[schema(value_type = bool, required = false)]
    site: Option<Option<bool>>,
    /// `null` removes the cover image with its alt text and caption.
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    #[schema(value_type = Option<String>, max_length = 2000, pattern = r"^/([^/\\\s\x00-\x1F\x7F-\x9F][^\s\x00-\x1F\x7F-\x9F]*)?$|^https://([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*(/[^\s\x00-\x1F\x7F-\x9F]*)?$")]
    feature_image: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    #[schema(value_type = Option<String>, max_length = 500, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    feature_image_alt: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    #[schema(value_type = Option<String>, max_length = 500, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    feature_image_caption: Option<Option<String>>,
    /// Replaces the tags; `null` or `[]`: none.
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    #[schema(value_type = Option<Vec<String>>, max_items = 20)]
    tags: Option<Option<Vec<String>>>,
    /// `post` or `page`.
    #[serde(rename = "type", default, deserialize_with = "crate::domain::nullable")]
    #[schema(value_type = ArticleKind, required = false)]
    kind: Option<Option<ArticleKind>>,
    /// Replaces the byline (editors and admins); `null` or `[]`: the
    /// writer alone.
    #[serde(default, deserialize_with = "crate::domain::nullable")]
    #[schema(value_type = Option<Vec<String>>, max_items = 10)]
    authors: Option<Option<Vec<AuthorSlug>>>,
}

fn required<T>(field: &'static str, value: Option<Option<T>>) -> Result<Option<T>, InvalidInput> {
    match value {
        Some(None) => Err(InvalidInput::new(field, format!("{field} cannot be cleared"))),
        Some(Some(v)) => Ok(Some(v)),
        None => Ok(None),
    }
}

impl TryFrom<PatchArticleBody> for ArticleEdit {
    type Error = InvalidInput;

    fn try_from(body: PatchArticleBody) -> Result<Self, InvalidInput> {
        Ok(ArticleEdit {
            title: required("title", body.title)?
                .as_deref()
                .map(ArticleTitle::parse)
                .transpose()?,
            markdown: required("markdown", body.markdown)?
                .map(ArticleMarkdown::parse)
                .transpose()?,
            visibility: required("visibility", body.visibility)?,
            slug: body
                .slug
                .map(|s| s.as_deref().map(Slug::parse).transpose())
                .transpose()?,
            segment: body.email.map(|e| e.unwrap_or(EmailSegment::None)),
            publish_at: body
                .publish_at
                .map(|t| t.as_deref().map(|t| parse_rfc3339(t, "publish_at")).transpose())
                .transpose()?,
            tiers: body.tiers.map(tier_slugs).transpose()?,
            newsletter_id: body.newsletter_id,
            email_subject: checked_patch(body.email_subject, article::email_subject)?,
            preheader: checked_patch(body.preheader, article::preheader)?,
            email_at: body
                .email_at
                .map(|t| t.as_deref().map(|t| parse_rfc3339(t, "email_at")).transpose())
                .transpose()?,
            on_site: required("site", body.site)?,
            feature_image: checked_patch(body.feature_image, article::feature_image)?,
            feature_image_alt: checked_patch(body.feature_image_alt, article::feature_image_alt)?,
            feature_image_caption: checked_patch(body.feature_image_caption, article::feature_image_caption)?,
            tags: body
                .tags
                .map(|tags| tag_names(tags.unwrap_or_default()))
                .transpose()?,
            kind: required("type", body.kind)?,
            authors: body
                .authors
                .map(|slugs| author_slugs(slugs.unwrap_or_default()))
                .transpose()?,
        })
    }
}

/// The optional body of `POST /admin/api/articles/{id}/publish`.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
struct PublishBody {
    /// RFC 3339; in the future it schedules. Left out: publish now.
    #[schema(format = DateTime)]
    publish_at: Option<String>,
    /// `false`: publish as an email-only post (sent, never on the site).
    /// Left out: as the article says.
    site: Option<bool>,
}

/// An article as the admin API answers it.
#[derive(Serialize, ToSchema)]
struct AdminArticle {
    id: i32,
    slug: String,
    title: String,
    author: String,
    author_id: i32,
    status: ArticleStatus,
    visibility: Visibility,
    email: EmailSegment,
    markdown: String,
    /// The whole body, rendered and sanitized.
    html: String,
    /// The free part shown in teasers, feeds and meta tags.
    preview_html: String,
    url: String,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    #[schema(format = DateTime)]
    publish_at: Option<String>,
    /// When it went (or goes) live.
    #[schema(format = DateTime)]
    published_at: Option<String>,
    /// The newsletter send, once the article was emailed
    /// (`/admin/api/sends/{send_id}`).
    send_id: Option<i32>,
    /// A paid article's tiers by slug; empty: any paid tier.
    tiers: Vec<String>,
    /// The newsletter it goes out through; `null`: the first one running.
    newsletter_id: Option<i32>,
    /// `null`: the title.
    email_subject: Option<String>,
    /// `null`: the excerpt.
    preheader: Option<String>,
    /// When the email goes (or went) out, when not at publishing.
    #[schema(format = DateTime)]
    email_at: Option<String>,
    /// `false`: an email-only post.
    site: bool,
    feature_image: Option<String>,
    feature_image_alt: Option<String>,
    feature_image_caption: Option<String>,
    /// In the writer's order.
    tags: Vec<TagJson>,
    /// `post` or `page`.
    #[serde(rename = "type")]
    kind: ArticleKind,
    /// The byline, in order.
    authors: Vec<AuthorJson>,
}

impl AdminArticle {
    fn new(article: Article, proof: access::FullBody, state: &AppState) -> Self {
        let (author, status, visibility, email) = (
            article.author().to_owned(),
            article.status(),
            article.visibility(),
            article.email_segment(),
        );
        let url = state.config.url_for(&article.path());
        let tiers = article.tier_slugs;
        let tags = article.tags.iter().map(TagJson::from).collect();
        let authors = article
            .authors
            .iter()
            .map(|a| AuthorJson::new(a, &state.config))
            .collect();
        let row = article.row;
        let body = row.full_body(proof);
        let (markdown, html) = (body.markdown.to_owned(), body.html.to_owned());
        Self {
            url,
            kind: row.kind,
            authors,
            id: row.id,
            slug: row.slug,
            title: row.title,
            author,
            author_id: row.author_id,
            status,
            visibility,
            email,
            markdown,
            html,
            preview_html: row.preview_html,
            created_at: rfc3339(row.created_at),
            updated_at: rfc3339(row.updated_at),
            publish_at: row.publish_at.map(rfc3339),
            published_at: row.published_at.map(rfc3339),
            send_id: None,
            tiers,
            newsletter_id: row.newsletter_id,
            email_subject: row.email_subject,
            preheader: row.preheader,
            email_at: row.email_at.map(rfc3339),
            site: row.on_site,
            feature_image: row.feature_image,
            feature_image_alt: row.feature_image_alt,
            feature_image_caption: row.feature_image_caption,
            tags,
        }
    }

    /// With the id of its newsletter send, for the single-article answers.
    async fn with_send(article: Article, proof: access::FullBody, state: &AppState) -> Result<Self, Problem> {
        let mut json = Self::new(article, proof, state);
        json.send_id = newsletter::send_of_article(&state.pool, json.id).await?;
        Ok(json)
    }
}

#[derive(Serialize, ToSchema)]
struct AdminArticleList {
    articles: Vec<AdminArticle>,
    page: i64,
    per_page: i64,
    /// How many articles match the filter in all.
    total: i64,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListParams {
    status: Option<ArticleStatus>,
    visibility: Option<Visibility>,
    /// 1-based (default 1).
    #[param(minimum = 1, maximum = 100000)]
    page: Option<i64>,
    /// 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    per_page: Option<i64>,
}

/// Articles, most recently changed first. Authors see only their own.
#[utoipa::path(get, path = "/admin/api/articles", params(ListParams),
    responses((status = 200, body = AdminArticleList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[get("/articles")]
async fn list_articles(
    state: web::Data<AppState>,
    staff: ApiStaff,
    params: web::Query<ListParams>,
) -> ApiResult<web::Json<AdminArticleList>> {
    let params = params.into_inner();
    let page = Page::parse(params.page, params.per_page).map_err(Problem::bad_input)?;
    let filter = ArticleFilter {
        status: params.status,
        visibility: params.visibility,
        author_id: None,
    };
    let (articles, total) = publishing::list_articles(&state, staff.actor, filter, page).await?;
    Ok(web::Json(AdminArticleList {
        articles: articles
            .into_iter()
            .map(|a| AdminArticle::new(a, staff.proof, &state))
            .collect(),
        page: page.number,
        per_page: page.per_page,
        total,
    }))
}

/// Creates an article: a draft, or published or scheduled at once (editors).
#[utoipa::path(post, path = "/admin/api/articles", request_body = CreateArticleBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for a repeated request", pattern = r"^[\x21-\x7E]{1,255}$")),
    responses((status = 201, body = AdminArticle), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/articles")]
async fn create_article(
    state: web::Data<AppState>,
    staff: ApiStaff,
    body: web::Json<CreateArticleBody>,
) -> ApiResult<HttpResponse> {
    let draft = ArticleDraft::try_from(body.into_inner())?;
    let article = publishing::create_article(&state, staff.actor, draft).await?;
    let json = AdminArticle::with_send(article, staff.proof, &state).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/admin/api/articles/{}", json.id)))
        .json(json))
}

fn article_id(raw: &str) -> Result<i32, Problem> {
    super::path_id(raw, "article")
}

#[utoipa::path(get, path = "/admin/api/articles/{id}", params(("id" = i32, Path)),
    responses((status = 200, body = AdminArticle), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/articles/{id}")]
async fn get_article(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
) -> ApiResult<web::Json<AdminArticle>> {
    let article = publishing::get_article(&state, staff.actor, article_id(&id)?).await?;
    Ok(web::Json(
        AdminArticle::with_send(article, staff.proof, &state).await?,
    ))
}

/// Changes only the fields sent. Authors edit only their own drafts.
#[utoipa::path(patch, path = "/admin/api/articles/{id}", params(("id" = i32, Path)), request_body = PatchArticleBody,
    responses((status = 200, body = AdminArticle), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[patch("/articles/{id}")]
async fn patch_article(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
    body: web::Json<PatchArticleBody>,
) -> ApiResult<web::Json<AdminArticle>> {
    let id = article_id(&id)?;
    let edit = ArticleEdit::try_from(body.into_inner())?;
    let article = publishing::edit_article(&state, staff.actor, id, edit).await?;
    Ok(web::Json(
        AdminArticle::with_send(article, staff.proof, &state).await?,
    ))
}

/// Deletes a draft (published articles must be unpublished first).
#[utoipa::path(delete, path = "/admin/api/articles/{id}", params(("id" = i32, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[delete("/articles/{id}")]
async fn delete_article(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    publishing::delete_article(&state, staff.actor, article_id(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Publishes now, or schedules with a future `publish_at`. Editors only.
#[utoipa::path(post, path = "/admin/api/articles/{id}/publish", params(("id" = i32, Path)), request_body(content = Option<PublishBody>),
    responses((status = 200, body = AdminArticle), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/articles/{id}/publish")]
async fn publish_article(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<web::Json<AdminArticle>> {
    let id = article_id(&id)?;
    let body: PublishBody = super::optional_json(&body)?;
    let at = body
        .publish_at
        .as_deref()
        .map(|t| parse_rfc3339(t, "publish_at"))
        .transpose()?;
    let options = PublishOptions {
        at,
        on_site: body.site,
    };
    let article = publishing::publish_article(&state, staff.actor, id, options).await?;
    Ok(web::Json(
        AdminArticle::with_send(article, staff.proof, &state).await?,
    ))
}

/// Takes an article back to draft. Editors only.
#[utoipa::path(post, path = "/admin/api/articles/{id}/unpublish", params(("id" = i32, Path)),
    responses((status = 200, body = AdminArticle), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/articles/{id}/unpublish")]
async fn unpublish_article(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
) -> ApiResult<web::Json<AdminArticle>> {
    let article = publishing::unpublish_article(&state, staff.actor, article_id(&id)?).await?;
    Ok(web::Json(
        AdminArticle::with_send(article, staff.proof, &state).await?,
    ))
}

/// The optional body of `POST /admin/api/articles/{id}/email`.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
struct EmailBody {
    /// Who gets it; left out: the segment the article names.
    email: Option<EmailSegment>,
}

/// Emails a published post that was not emailed, now: once, as publishing
/// would have (a second call is a 409). Editors only.
#[utoipa::path(post, path = "/admin/api/articles/{id}/email", params(("id" = i32, Path)), request_body(content = Option<EmailBody>),
    responses((status = 200, body = AdminArticle), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/articles/{id}/email")]
async fn email_article(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<web::Json<AdminArticle>> {
    let id = article_id(&id)?;
    let body: EmailBody = super::optional_json(&body)?;
    let article = publishing::email_article(&state, staff.actor, id, body.email).await?;
    Ok(web::Json(
        AdminArticle::with_send(article, staff.proof, &state).await?,
    ))
}

/// Whose copy a test shows.
#[derive(Deserialize, ToSchema, Clone, Copy, Default)]
#[serde(rename_all = "lowercase")]
enum TestAs {
    #[default]
    Paid,
    Free,
}

/// The body of `POST /admin/api/articles/{id}/test-email`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TestEmailBody {
    /// 1 to 5 addresses of staff accounts.
    #[schema(min_items = 1, max_items = 5)]
    to: Vec<String>,
    /// The copy a paying subscriber gets (default) or a free member's.
    #[serde(default, rename = "as")]
    as_: TestAs,
}

#[derive(Serialize, ToSchema)]
struct TestEmailSent {
    /// The addresses it went to.
    sent_to: Vec<String>,
}

/// Sends the exact copy a segment would get to up to five staff
/// addresses, marked as a test, now; nothing is recorded as a delivery.
#[utoipa::path(post, path = "/admin/api/articles/{id}/test-email", params(("id" = i32, Path)), request_body = TestEmailBody,
    responses((status = 200, body = TestEmailSent), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 502, body = ErrorBody)))]
#[post("/articles/{id}/test-email")]
async fn test_email(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
    body: web::Json<TestEmailBody>,
) -> ApiResult<web::Json<TestEmailSent>> {
    let id = article_id(&id)?;
    let body = body.into_inner();
    if body.to.len() > publishing::MAX_TEST_RECIPIENTS {
        return Err(InvalidInput::new("to", "a test goes to at most 5 addresses").into());
    }
    let to = body
        .to
        .iter()
        .map(|raw| EmailAddress::parse(raw).map_err(|e| InvalidInput::new("to", e.message)))
        .collect::<Result<Vec<_>, _>>()?;
    let test = TestEmail {
        to,
        as_paid: matches!(body.as_, TestAs::Paid),
    };
    let sent_to = publishing::send_test_email(&state, staff.actor, id, test).await?;
    Ok(web::Json(TestEmailSent { sent_to }))
}

/// Delivery progress of an emailed article.
#[derive(Serialize, ToSchema)]
pub(crate) struct SendJson {
    id: i32,
    article_id: i32,
    segment: String,
    /// `sending` or `finished`.
    status: String,
    total: i32,
    sent: i64,
    failed: i64,
    /// Unsubscribed or bounced before their turn came.
    suppressed: i64,
    pending: i64,
    #[schema(format = DateTime)]
    started_at: String,
    #[schema(format = DateTime)]
    finished_at: Option<String>,
}

impl From<newsletter::Progress> for SendJson {
    fn from(p: newsletter::Progress) -> Self {
        Self {
            id: p.send.id,
            article_id: p.send.article_id,
            segment: p.send.segment,
            status: p.send.status,
            total: p.send.total,
            sent: p.sent,
            failed: p.failed,
            suppressed: p.suppressed,
            pending: p.pending,
            started_at: rfc3339(p.send.created_at),
            finished_at: p.send.finished_at.map(rfc3339),
        }
    }
}

fn may_see_sends(staff: &ApiStaff) -> Result<(), Problem> {
    if staff.actor.role.can_publish() {
        Ok(())
    } else {
        Err(Problem::forbidden("Send progress is for editors and admins."))
    }
}

fn send_id(raw: &str) -> Result<i32, Problem> {
    super::path_id(raw, "send")
}

async fn send_progress(state: &AppState, id: i32) -> Result<SendJson, Problem> {
    let progress = newsletter::progress(&state.pool, id).await?;
    Ok(progress
        .ok_or_else(|| Problem::not_found("There is no send with that id."))?
        .into())
}

#[utoipa::path(get, path = "/admin/api/sends/{id}", params(("id" = i32, Path)),
    responses((status = 200, body = SendJson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/sends/{id}")]
async fn get_send(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
) -> ApiResult<web::Json<SendJson>> {
    may_see_sends(&staff)?;
    let id = send_id(&id)?;
    Ok(web::Json(send_progress(&state, id).await?))
}

/// Puts the failed deliveries back in the queue (only those).
#[utoipa::path(post, path = "/admin/api/sends/{id}/retry", params(("id" = i32, Path)),
    responses((status = 200, body = SendJson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/sends/{id}/retry")]
async fn retry_send(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
) -> ApiResult<web::Json<SendJson>> {
    may_see_sends(&staff)?;
    let id = send_id(&id)?;
    let requeued = newsletter::retry_failed(&state.pool, id)
        .await?
        .ok_or_else(|| Problem::not_found("There is no send with that id."))?;
    tracing::info!(
        send_id = id,
        requeued,
        actor_id = staff.actor.user_id,
        "retrying failed deliveries"
    );
    state.mail_wakeup.ring();
    Ok(web::Json(send_progress(&state, id).await?))
}

/// The publication's settings. Editors and admins.
#[utoipa::path(get, path = "/admin/api/settings",
    responses((status = 200, body = SiteSettings), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[get("/settings")]
async fn get_settings(state: web::Data<AppState>, staff: ApiStaff) -> ApiResult<web::Json<SiteSettings>> {
    let settings = publication::read(&state, staff.actor).await?;
    Ok(web::Json(settings))
}

/// Changes the settings sent; every page, feed and email shows the change
/// within the read-cache lifetime. Admins only.
#[utoipa::path(patch, path = "/admin/api/settings", request_body = SettingsPatch,
    responses((status = 200, body = SiteSettings), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[patch("/settings")]
async fn patch_settings(
    state: web::Data<AppState>,
    staff: ApiStaff,
    body: web::Json<SettingsPatch>,
) -> ApiResult<web::Json<SiteSettings>> {
    let settings = publication::update(&state, staff.actor, body.into_inner()).await?;
    Ok(web::Json(settings))
}

#[cfg(test)]
mod tests {
    /// utoipa keys components by the type's name, so two `ToSchema` types
    /// of one name in different modules silently share one schema, and one
    /// of the two routes then answers against the other's (schemathesis
    /// caught it once: the members API answered against the post stats'
    /// `EmailStatsJson`).
    #[test]
    fn no_two_api_schemas_share_a_name() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web");
        let mut seen = std::collections::HashMap::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let source = std::fs::read_to_string(&path).unwrap();
            let mut derives_schema = false;
            for line in source.lines().map(str::trim) {
                if line.starts_with("#[derive(") {
                    derives_schema = line.contains("ToSchema");
                    continue;
                }
                if line.starts_with("#[") || line.starts_with("///") {
                    continue;
                }
                let name = [
                    "pub(crate) struct ",
                    "pub struct ",
                    "struct ",
                    "pub(crate) enum ",
                    "pub enum ",
                    "enum ",
                ]
                .iter()
                .find_map(|prefix| line.strip_prefix(prefix))
                .and_then(|rest| rest.split(|c: char| !c.is_alphanumeric() && c != '_').next());
                if let (true, Some(name)) = (derives_schema, name) {
                    let file = path.file_name().unwrap().to_string_lossy().into_owned();
                    if let Some(other) = seen.insert(name.to_owned(), file.clone()) {
                        panic!("two API schemas are named {name}: in {other} and {file}");
                    }
                }
                derives_schema = false;
            }
        }
        assert!(seen.len() > 20, "the scan found the schemas: {seen:?}");
    }

    /// utoipa places an `IntoParams` struct's fields in the path unless it
    /// says `parameter_in = Query`; a query string documented as path
    /// parameters is what schemathesis then sends wrong (it caught
    /// `/admin/api/stats?from=&to=` once).
    #[test]
    fn every_path_parameter_is_in_its_path() {
        use utoipa::OpenApi;
        let doc = serde_json::to_value(super::AdminApiDoc::openapi()).unwrap();
        for (path, operations) in doc["paths"].as_object().unwrap() {
            for (method, operation) in operations.as_object().unwrap() {
                for parameter in operation["parameters"].as_array().into_iter().flatten() {
                    if parameter["in"] == "path" {
                        let name = parameter["name"].as_str().unwrap();
                        assert!(
                            path.contains(&format!("{{{name}}}")),
                            "{method} {path} documents {name} as a path parameter"
                        );
                    }
                }
            }
        }
    }
}
