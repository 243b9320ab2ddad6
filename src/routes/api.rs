//! The reader JSON API for apps. The reader is identified by the session
//! cookie or `Authorization: Bearer <session token>`; bodies follow the same
//! access policy as the site.

use actix_web::{get, web};
use serde::{Deserialize, Serialize};

use super::error::{ApiResult, Problem};
use crate::{
    auth::CurrentReader,
    domain::time::rfc3339,
    reading::{self, Page, ReadableArticle},
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
    let number = query.page.unwrap_or(1);
    let per_page = query.per_page.unwrap_or(20);
    if !(1..=100_000).contains(&number) {
        return Err(Problem::bad_request("page must be from 1 to 100000")
            .on_field("page")
            .into());
    }
    if !(1..=Page::MAX_PER_PAGE).contains(&per_page) {
        return Err(
            Problem::bad_request(format!("per_page must be from 1 to {}", Page::MAX_PER_PAGE))
                .on_field("per_page")
                .into(),
        );
    }
    let articles = reading::latest(&state, &reader.reader, Page { number, per_page }).await?;
    Ok(web::Json(ArticleList {
        articles: articles.iter().map(|a| ArticleJson::new(a, &state)).collect(),
        page: number,
        per_page,
    }))
}

#[get("/articles/{slug}")]
async fn get_article(
    state: web::Data<AppState>,
    reader: CurrentReader,
    slug: web::Path<String>,
) -> ApiResult<web::Json<ArticleJson>> {
    let slug = slug.into_inner();
    let readable = reading::article(&state, &reader.reader, slug.clone())
        .await?
        .ok_or_else(|| {
            Problem::not_found(format!("There is no published article with the slug {slug:?}."))
        })?;
    Ok(web::Json(ArticleJson::new(&readable, &state)))
}
