//! The reader JSON API for apps. The reader is identified by the session
//! cookie or `Authorization: Bearer <session token>`; bodies follow the same
//! access policy as the site.

use actix_web::{HttpResponse, delete, get, http::StatusCode, post, web};
use serde::{Deserialize, Serialize};

use crate::web::error::{ApiResult, Problem};
use crate::{
    domain::time::rfc3339,
    gifts::{self, GiftError, GiftRequest, GiftView},
    reading::{self, Lookup, Page, ReadableArticle},
    state::AppState,
    web::extract::CurrentReader,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_articles)
        .service(get_article)
        .service(gift_article)
        .service(list_gifts)
        .service(revoke_gift);
}

#[derive(Serialize)]
pub struct ArticleJson {
    slug: String,
    title: String,
    author: String,
    published_at: Option<String>,
    visibility: &'static str,
    /// "full" or "preview".
    access: &'static str,
    html: String,
    cta: Option<CtaJson>,
    /// In the writer's order.
    tags: Vec<TagJson>,
    /// The byline, in order.
    authors: Vec<AuthorJson>,
    /// `post` or `page`.
    #[serde(rename = "type")]
    kind: &'static str,
    /// Where it is read on the site.
    url: String,
}

/// A tag as a post carries it.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct TagJson {
    slug: String,
    name: String,
}

impl From<&crate::db::tags::TagRef> for TagJson {
    fn from(tag: &crate::db::tags::TagRef) -> Self {
        Self {
            slug: tag.slug.clone(),
            name: tag.name.clone(),
        }
    }
}

/// An author on a byline.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct AuthorJson {
    name: String,
    slug: String,
    /// Their page: `/author/{slug}`.
    url: String,
}

impl AuthorJson {
    pub(crate) fn new(author: &crate::db::authors::AuthorRef, config: &crate::config::Config) -> Self {
        Self {
            name: author.display_name().to_owned(),
            url: config.url_for(&format!("/author/{}", author.slug)),
            slug: author.slug.clone(),
        }
    }
}

#[derive(Serialize)]
pub struct CtaJson {
    kind: &'static str,
    message: String,
    url: String,
}

impl ArticleJson {
    fn new(readable: &ReadableArticle, state: &AppState) -> Self {
        let row = &readable.article.row;
        Self {
            slug: row.slug.clone(),
            title: row.title.clone(),
            author: readable.article.author().to_owned(),
            published_at: row.published_at.map(rfc3339),
            visibility: readable.article.visibility().as_str(),
            access: if readable.access.is_full() {
                "full"
            } else {
                "preview"
            },
            html: readable.html().to_owned(),
            cta: readable.call_to_action().map(|link| CtaJson {
                kind: link.cta.kind(),
                message: link.message(),
                url: state.config.url_for(&link.path),
            }),
            tags: readable.article.tags.iter().map(TagJson::from).collect(),
            authors: readable
                .article
                .authors
                .iter()
                .map(|a| AuthorJson::new(a, &state.config))
                .collect(),
            kind: readable.article.kind().as_str(),
            url: state.config.url_for(&readable.article.path()),
        }
    }
}

#[derive(Serialize)]
struct ArticleList {
    articles: Vec<ArticleJson>,
    page: i64,
    per_page: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    page: Option<i64>,
    per_page: Option<i64>,
    /// Only the posts carrying the tag with this slug.
    tag: Option<String>,
    /// Only the posts with this author (profile slug) on the byline.
    author: Option<String>,
}

#[get("/articles")]
async fn list_articles(
    state: web::Data<AppState>,
    reader: CurrentReader,
    query: web::Query<ListQuery>,
) -> ApiResult<web::Json<ArticleList>> {
    let page = Page::parse(query.page, query.per_page).map_err(Problem::bad_input)?;
    let articles = match (&query.tag, &query.author) {
        (None, None) => reading::latest(&state, reader.who(), page).await?,
        (Some(slug), None) => tagged(&state, &reader, slug, page).await?,
        (None, Some(slug)) => {
            reading::by_author(&state, reader.who(), slug.clone(), page)
                .await?
                .ok_or_else(|| {
                    Problem::not_found(format!("There is no author {slug:?}.")).on_field("author")
                })?
                .1
                .articles
        }
        (Some(_), Some(_)) => {
            return Err(Problem::bad_request("Filter by tag or by author, not both.").into());
        }
    };
    Ok(web::Json(ArticleList {
        articles: articles.iter().map(|a| ArticleJson::new(a, &state)).collect(),
        page: page.number,
        per_page: page.per_page,
    }))
}

/// A page of the posts carrying the tag at `slug` (or at the slug it was
/// renamed to).
async fn tagged(
    state: &AppState,
    reader: &CurrentReader,
    slug: &str,
    page: Page,
) -> Result<Vec<ReadableArticle>, Problem> {
    let mut slug = slug.to_owned();
    for _renames in 0..2 {
        match reading::tagged(state, reader.who(), slug.clone(), page).await? {
            reading::TagLookup::Found(_, listed) => return Ok(listed.articles),
            reading::TagLookup::Moved(new_slug) => slug = new_slug,
            reading::TagLookup::Missing => break,
        }
    }
    Err(Problem::not_found(format!("There is no tag {slug:?}.")).on_field("tag"))
}

#[get("/articles/{slug}")]
async fn get_article(
    state: web::Data<AppState>,
    reader: CurrentReader,
    slug: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let slug = slug.into_inner();
    match reading::article(&state, reader.who(), slug.clone(), None).await? {
        Lookup::Found(readable) => Ok(HttpResponse::Ok().json(ArticleJson::new(&readable, &state))),
        Lookup::Moved(moved) => Ok(super::pages::moved_permanently(&format!(
            "/api/articles/{}",
            moved.slug
        ))),
        Lookup::Missing => {
            Err(Problem::not_found(format!("There is no published article with the slug {slug:?}.")).into())
        }
    }
}

/// A gift link as the API shows it to its creator.
#[derive(Serialize)]
struct GiftJson {
    id: i32,
    url: String,
    slug: String,
    expires_at: String,
    reads_left: i32,
    revoked: bool,
}

impl From<GiftView> for GiftJson {
    fn from(gift: GiftView) -> Self {
        Self {
            id: gift.id,
            url: gift.url,
            slug: gift.slug,
            expires_at: rfc3339(gift.expires_at),
            reads_left: gift.reads_left,
            revoked: gift.revoked,
        }
    }
}

/// Optional limits for a new gift link; the configured defaults otherwise.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct GiftBody {
    expires_in_days: Option<i64>,
    max_reads: Option<i32>,
}

/// Creates a gift link (201). Cookie-authenticated POSTs are safe from
/// cross-site forgery here because the session cookie is `SameSite=Lax`:
/// browsers do not send it on another site's POST.
#[post("/articles/{slug}/gift")]
async fn gift_article(
    state: web::Data<AppState>,
    reader: CurrentReader,
    slug: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let body = super::optional_json::<GiftBody>(&body)?;
    let request =
        GiftRequest::parse(body.expires_in_days, body.max_reads, &state.config).map_err(Problem::from)?;
    match gifts::create(&state, reader.who(), &slug, request).await {
        Ok(gift) => Ok(HttpResponse::Created().json(GiftJson::from(gift))),
        Err(refused) => Err(gift_problem(refused).into()),
    }
}

fn gift_problem(refused: GiftError) -> Problem {
    let message = refused.to_string();
    match refused {
        GiftError::NotLoggedIn => Problem::unauthorized(message),
        GiftError::NotSubscriber => Problem::forbidden(message),
        GiftError::NoArticle => Problem::not_found(message),
        GiftError::FreeToRead => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "free_to_read", message),
        GiftError::QuotaUsed(_) => Problem::new(StatusCode::FORBIDDEN, "gift_quota_used", message),
        GiftError::Internal(e) => Problem::internal(e),
    }
}

/// The caller's gift links, newest first.
#[get("/gifts")]
async fn list_gifts(state: web::Data<AppState>, reader: CurrentReader) -> ApiResult<HttpResponse> {
    let user = reader
        .user
        .as_ref()
        .ok_or_else(|| Problem::unauthorized("log in to see your gift links"))?;
    let gifts: Vec<GiftJson> = gifts::list(&state, user.id)
        .await?
        .into_iter()
        .map(GiftJson::from)
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "gifts": gifts })))
}

/// Revokes one of the caller's gift links (204); it shows the teaser from now on.
#[delete("/gifts/{id}")]
async fn revoke_gift(
    state: web::Data<AppState>,
    reader: CurrentReader,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let user = reader
        .user
        .as_ref()
        .ok_or_else(|| Problem::unauthorized("log in to revoke your gift links"))?;
    let gift_id = super::path_id(&id, "gift link")?;
    if !gifts::revoke(&state, user.id, gift_id).await? {
        return Err(Problem::not_found(format!("You have no gift link with the id {gift_id}.")).into());
    }
    Ok(HttpResponse::NoContent().finish())
}
