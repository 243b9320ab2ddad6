//! `/search` (a page) and `/api/search` (JSON): ranked results over what
//! the reader may read (see `reading::search`).

use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, web};
use serde::{Deserialize, Serialize};

use crate::web::{
    CurrentReader,
    api::{AuthorJson, TagJson},
    error::{ApiResult, PageResult, Problem},
    page_cache::{self, PageKey},
    pages,
    views::{self, SearchPage, SearchResultView},
};
use crate::{
    domain::{search::SearchQuery, time::rfc3339},
    reading::{self, SearchResult},
    state::AppState,
};

pub fn configure_page(cfg: &mut web::ServiceConfig) {
    cfg.service(search_page);
}

pub fn configure_api(cfg: &mut web::ServiceConfig) {
    cfg.service(search_api);
}

#[derive(Deserialize)]
struct SearchParams {
    #[serde(default)]
    q: String,
}

/// The API's results: none for a query with no words in it.
async fn run(
    state: &AppState,
    reader: &CurrentReader,
    query: Option<SearchQuery>,
) -> anyhow::Result<Vec<SearchResult>> {
    match query {
        Some(query) => Ok(reading::search(state, reader.who(), query).await?.results),
        None => Ok(Vec::new()),
    }
}

/// The search page. An anonymous reader's page is rendered once for all of
/// them (`page_cache`: keyed by the query asked, the matches as loaded and
/// what was decided for each result); an invalid query is a 400 page.
#[get("/search")]
async fn search_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    params: web::Query<SearchParams>,
) -> PageResult<HttpResponse> {
    let typed = params.q.trim().to_owned();
    let query = match SearchQuery::parse(&typed) {
        Ok(Some(query)) => query,
        Ok(None) => {
            let page = search_page_view(&req, &reader, typed, None, &[]).await;
            return Ok(pages::render(&req, StatusCode::OK, &page)?);
        }
        Err(invalid) => {
            let page = search_page_view(&req, &reader, typed, Some(invalid.message), &[]).await;
            return Ok(pages::render(&req, StatusCode::BAD_REQUEST, &page)?);
        }
    };
    let searched = reading::search(&state, reader.who(), query).await?;
    let decided: Vec<_> = searched.results.iter().map(|r| r.readable.access).collect();
    let pin = |key: PageKey| key.showing(decided).from(&searched.matches);
    let render = || async {
        let page = search_page_view(&req, &reader, typed.clone(), None, &searched.results).await;
        views::render(&page)
    };
    Ok(page_cache::respond(&req, &reader, &state, pin, render).await?)
}

async fn search_page_view(
    req: &HttpRequest,
    reader: &CurrentReader,
    typed: String,
    error: Option<String>,
    results: &[SearchResult],
) -> SearchPage {
    let layout = pages::layout(req, reader).await;
    let results: Vec<SearchResultView> = results
        .iter()
        .map(|result| SearchResultView {
            article: super::site::summary(&result.readable.article, &layout.site),
            snippet_html: result.snippet_html.clone(),
        })
        .collect();
    SearchPage {
        count_label: match results.len() {
            0 => format!("Nothing found for “{typed}”."),
            1 => format!("1 result for “{typed}”."),
            n => format!("{n} results for “{typed}”."),
        },
        searched: !typed.is_empty() && error.is_none(),
        query: typed,
        error,
        results,
        layout,
    }
}

/// One result in `/api/search`.
#[derive(Serialize)]
struct SearchHitJson {
    slug: String,
    title: String,
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
    visibility: &'static str,
    published_at: Option<String>,
    authors: Vec<AuthorJson>,
    tags: Vec<TagJson>,
    /// Safe HTML: escaped text with the matched words in `<mark>`, cut from
    /// what this reader may read.
    snippet_html: String,
}

#[derive(Serialize)]
struct SearchJson {
    query: String,
    results: Vec<SearchHitJson>,
}

#[get("/search")]
async fn search_api(
    state: web::Data<AppState>,
    reader: CurrentReader,
    params: web::Query<SearchParams>,
) -> ApiResult<web::Json<SearchJson>> {
    let typed = params.q.trim().to_owned();
    if typed.is_empty() {
        return Err(Problem::bad_request("Say what to search for: ?q=words")
            .on_field("q")
            .into());
    }
    let query =
        SearchQuery::parse(&typed).map_err(|invalid| Problem::bad_request(invalid.message).on_field("q"))?;
    let results = run(&state, &reader, query).await?;
    Ok(web::Json(SearchJson {
        query: typed,
        results: results
            .iter()
            .map(|result| {
                let article = &result.readable.article;
                SearchHitJson {
                    slug: article.row.slug.clone(),
                    title: article.row.title.clone(),
                    kind: article.kind().as_str(),
                    url: state.config.url_for(&article.path()),
                    visibility: article.visibility().as_str(),
                    published_at: article.row.published_at.map(rfc3339),
                    authors: article
                        .authors
                        .iter()
                        .map(|a| AuthorJson::new(a, &state.config))
                        .collect(),
                    tags: article.tags.iter().map(TagJson::from).collect(),
                    snippet_html: result.snippet_html.clone(),
                }
            })
            .collect(),
    }))
}
