//! The reader's website: the front page, article pages, the account page.

use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, http::header, post, web};

use super::{
    error::{PageResult, Problem},
    pages,
};
use crate::{
    auth::{CurrentReader, accounts, csrf::CsrfForm},
    db::articles::Article,
    domain::{
        access::{Access, Standing},
        article::Visibility,
    },
    reading::{self, Lookup, Page},
    state::AppState,
    views::{self, AccountPage, ArticlePage, ArticleSummary, CtaView, HomePage, NoticePage},
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(home)
        .service(article_page)
        .service(account)
        .service(rotate_feed)
        .service(subscribe)
        .service(stylesheet);
}

/// How many articles the front page lists.
const HOME_PAGE_SIZE: i64 = 30;

#[get("/")]
async fn home(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
) -> PageResult<HttpResponse> {
    let page = Page {
        number: 1,
        per_page: HOME_PAGE_SIZE,
    };
    let articles = reading::latest(&state, &reader.reader, page).await?;
    let page = HomePage {
        layout: pages::layout(&req, &reader),
        articles: articles.iter().map(|a| summary(&a.article)).collect(),
    };
    Ok(pages::render(&req, StatusCode::OK, &page)?)
}

#[get("/p/{slug}")]
async fn article_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
    slug: web::Path<String>,
) -> PageResult<HttpResponse> {
    let slug = slug.into_inner();
    let not_found = || {
        Problem::not_found(format!(
            "There is no article at /p/{slug}. It may have moved or been unpublished."
        ))
    };
    let readable = match reading::article(&state, &reader.reader, slug.clone()).await? {
        Lookup::Found(readable) => readable,
        Lookup::Moved(new_slug) => return Ok(pages::moved_permanently(&format!("/p/{new_slug}"))),
        Lookup::Missing => return Err(not_found().into()),
    };
    let cta = readable.call_to_action().map(|link| CtaView {
        kind: link.cta.kind(),
        message: link.cta.message(),
        button: link.button(),
        url: link.path.clone(),
    });
    let banner = match readable.access {
        Access::Full { banner } => banner.map(|b| b.message()),
        Access::Preview { .. } => None,
    };
    let page = ArticlePage {
        layout: pages::layout(&req, &reader),
        html: readable.html().to_owned(),
        article: summary(&readable.article),
        cta,
        banner,
    };
    Ok(pages::render(&req, StatusCode::OK, &page)?)
}

#[get("/account")]
async fn account(
    req: HttpRequest,
    state: web::Data<AppState>,
    reader: CurrentReader,
) -> PageResult<HttpResponse> {
    let (Some(user), crate::domain::access::Reader::Member(member)) = (&reader.user, &reader.reader) else {
        return Ok(pages::redirect("/login?next=/account"));
    };
    let standing = Standing::of(member, crate::db::now(), &state.policy);
    let (plan, notice) = match standing {
        Standing::Staff => ("Staff: you read everything", None),
        Standing::Paid => ("Paid subscriber", None),
        Standing::InGrace => (
            "Paid subscriber",
            Some("Your last payment failed. Update your card to keep reading."),
        ),
        Standing::CardFailed => (
            "Paid subscriber, on hold",
            Some("Your card on file needs updating."),
        ),
        Standing::Lapsed => ("Free member (your subscription has ended)", None),
        Standing::Free => ("Free member", None),
    };
    let page = AccountPage {
        layout: pages::layout(&req, &reader),
        email: user.email.clone(),
        plan,
        notice,
        show_subscribe: matches!(standing, Standing::Free | Standing::Lapsed),
        feed_url: state.config.url_for(&accounts::feed_path(&state, user)),
        newsletter: user.newsletter,
        email_verified: user.email_verified_at.is_some(),
    };
    Ok(pages::render(&req, StatusCode::OK, &page)?)
}

#[post("/account/feed")]
async fn rotate_feed(
    state: web::Data<AppState>,
    reader: CurrentReader,
    _form: CsrfForm<pages::EmptyForm>,
) -> PageResult<HttpResponse> {
    let Some(user) = &reader.user else {
        return Ok(pages::redirect("/login?next=/account"));
    };
    accounts::rotate_feed(&state, user.id).await?;
    Ok(pages::redirect_with_flash(
        "/account",
        "Your private feed has a new address; the old one no longer works.",
    ))
}

/// Until billing is set up (its own issue), subscribing says so plainly.
#[get("/subscribe")]
async fn subscribe(req: HttpRequest, reader: CurrentReader) -> PageResult<HttpResponse> {
    if reader.user.is_none() {
        return Ok(pages::redirect("/signup?next=/subscribe"));
    }
    let page = NoticePage {
        layout: pages::layout(&req, &reader),
        title: "Billing is not configured",
        message: "Paid subscriptions are not open on this server yet. You are a free member and will get the free newsletter.",
    };
    Ok(pages::render(&req, StatusCode::SERVICE_UNAVAILABLE, &page)?)
}

#[get("/static/style.v1.css")]
async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(views::STYLESHEET)
}

fn summary(article: &Article) -> ArticleSummary {
    let row = &article.row;
    let visibility = article.visibility();
    let published = row.published_at.unwrap_or(row.created_at);
    ArticleSummary {
        slug: row.slug.clone(),
        title: row.title.clone(),
        author: article.author().to_owned(),
        visibility: visibility.as_str(),
        visibility_label: match visibility {
            Visibility::Public => "Free",
            Visibility::Members => "Members",
            Visibility::Paid => "Paid",
        },
        published_iso: crate::domain::time::rfc3339(published),
        published_human: crate::domain::time::human_date(published),
        preview_html: row.preview_html.clone(),
        excerpt: row.excerpt.clone(),
    }
}
