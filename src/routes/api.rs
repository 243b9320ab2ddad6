//! The reader JSON API for apps. The reader is identified by the session
//! cookie or `Authorization: Bearer <session token>`; bodies follow the same
//! access policy as the site.

use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};

use super::error::{ApiResult, Problem};
use crate::{
    auth::CurrentReader,
    domain::time::rfc3339,
    reading::{self, Lookup, Page, ReadableArticle},
    state::AppState,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_articles).service(get_article);
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
}

#[derive(Serialize)]
pub struct CtaJson {
    kind: &'static str,
    message: &'static str,
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
                message: link.cta.message(),
                url: state.config.url_for(&link.path),
            }),
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
}

#[get("/articles")]
async fn list_articles(
    state: web::Data<AppState>,
    reader: CurrentReader,
    query: web::Query<ListQuery>,
) -> ApiResult<web::Json<ArticleList>> {
    let page = Page::parse(query.page, query.per_page).map_err(Problem::bad_input)?;
    let articles = reading::latest(&state, &reader.reader, page).await?;
    Ok(web::Json(ArticleList {
        articles: articles.iter().map(|a| ArticleJson::new(a, &state)).collect(),
        page: page.number,
        per_page: page.per_page,
    }))
}

#[get("/articles/{slug}")]
async fn get_article(
    state: web::Data<AppState>,
    reader: CurrentReader,
    slug: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let slug = slug.into_inner();
    match reading::article(&state, &reader.reader, slug.clone()).await? {
        Lookup::Found(readable) => Ok(HttpResponse::Ok().json(ArticleJson::new(&readable, &state))),
        Lookup::Moved(new_slug) => Ok(super::pages::moved_permanently(&format!(
            "/api/articles/{new_slug}"
        ))),
        Lookup::Missing => {
            Err(Problem::not_found(format!("There is no published article with the slug {slug:?}.")).into())
        }
    }
}
