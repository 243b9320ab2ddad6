//! `/feed.xml`, `/feed/{token}.xml` and `/sitemap.xml`.

use actix_web::{HttpResponse, get, http::header, web};

use crate::web::error::{PageResult, Problem};
use crate::{
    accounts,
    domain::access::Reader,
    reading::{self, Page, feeds},
    state::AppState,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(public_feed)
        .service(tag_feed)
        .service(private_feed)
        .service(sitemap);
}

/// Feeds and the sitemap list this many of the newest articles.
const FEED_LENGTH: i64 = 50;
const SITEMAP_LENGTH: i64 = 50_000;

fn xml(content_type: &'static str, body: String, cache: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, cache))
        .body(body)
}

#[get("/feed.xml")]
async fn public_feed(state: web::Data<AppState>) -> PageResult<HttpResponse> {
    let page = Page {
        number: 1,
        per_page: FEED_LENGTH,
    };
    let articles = reading::latest(&state, reading::Who::uncounted(&Reader::Anonymous), page).await?;
    let site = crate::publication::current(&state).await;
    let body = feeds::rss(&state.config, &site, site.title(), &articles);
    Ok(xml(
        "application/rss+xml; charset=utf-8",
        body,
        "public, max-age=300",
    ))
}

/// The public feed of one tag's posts; a renamed tag's old address
/// answers 301.
#[get("/tag/{slug}/feed.xml")]
async fn tag_feed(state: web::Data<AppState>, slug: web::Path<String>) -> PageResult<HttpResponse> {
    let page = Page {
        number: 1,
        per_page: FEED_LENGTH,
    };
    let anonymous = reading::Who::uncounted(&Reader::Anonymous);
    let (tag, listed) = match reading::tagged(&state, anonymous, slug.into_inner(), page).await? {
        reading::TagLookup::Found(tag, listed) => (tag, listed),
        reading::TagLookup::Moved(new_slug) => {
            return Ok(crate::web::pages::moved_permanently(&format!(
                "/tag/{new_slug}/feed.xml"
            )));
        }
        reading::TagLookup::Missing => return Err(Problem::not_found("There is no tag by that name.").into()),
    };
    let site = crate::publication::current(&state).await;
    let title = format!("{} — {}", tag.name, site.title());
    let body = feeds::rss(&state.config, &site, &title, &listed.articles);
    Ok(xml(
        "application/rss+xml; charset=utf-8",
        body,
        "public, max-age=300",
    ))
}

/// A member's private feed: full text where they may read it, previews
/// elsewhere (so a lapsed subscriber's feed turns to previews by itself).
#[get("/feed/{token}.xml")]
async fn private_feed(state: web::Data<AppState>, token: web::Path<String>) -> PageResult<HttpResponse> {
    let (user, reader) = accounts::feed_reader(&state, &token).await?.ok_or_else(|| {
        Problem::not_found("This feed address is not valid (it may have been replaced on your account page).")
    })?;
    let page = Page {
        number: 1,
        per_page: FEED_LENGTH,
    };
    let articles = reading::latest(&state, reading::Who::uncounted(&reader), page).await?;
    let site = crate::publication::current(&state).await;
    let title = format!("{} for {}", site.title(), user.email);
    let body = feeds::rss(&state.config, &site, &title, &articles);
    Ok(xml(
        "application/rss+xml; charset=utf-8",
        body,
        "private, no-store",
    ))
}

#[get("/sitemap.xml")]
async fn sitemap(state: web::Data<AppState>) -> PageResult<HttpResponse> {
    let entries = reading::sitemap(&state, SITEMAP_LENGTH).await?;
    Ok(xml(
        "application/xml; charset=utf-8",
        feeds::sitemap(&state.config, &entries),
        "public, max-age=300",
    ))
}
