//! The reader's website: the front page, article pages, the account page.

use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, http::header, post, web};

use super::{
    error::{PageResult, Problem},
    pages,
};
use crate::{
    auth::{CurrentReader, accounts, csrf::CsrfForm},
    db::articles::Article,
    db::{self, billing},
    domain::{
        access::{Access, Reader, Standing},
        article::Visibility,
        time::human_date,
    },
    reading::{self, Lookup, Page},
    state::AppState,
    views::{self, AccountPage, ArticlePage, ArticleSummary, CtaView, HomePage},
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(home)
        .service(article_page)
        .service(account)
        .service(rotate_feed)
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
    let (Some(user), Reader::Member(member)) = (&reader.user, &reader.reader) else {
        return Ok(pages::redirect("/login?next=/account"));
    };
    let standing = Standing::of(member, crate::db::now(), &state.policy);
    let user_id = user.id;
    let subscriptions = db::run(&state.pool, move |conn| {
        Ok(billing::subscriptions_of(conn, user_id)?)
    })
    .await?;
    let latest = subscriptions.first();
    let plan_name = latest
        .and_then(|s| {
            state
                .billing
                .as_ref()
                .and_then(|b| b.prices.plan_name(&s.price_id))
        })
        .unwrap_or("Paid");
    let (plan, notice) = match standing {
        Standing::Staff => ("Staff: you read everything".to_owned(), None),
        Standing::Paid if latest.is_none() => ("Complimentary subscription".to_owned(), None),
        Standing::Paid => (format!("{plan_name} subscriber"), None),
        Standing::InGrace => (
            format!("{plan_name} subscriber"),
            Some("Your last payment failed. Update your card to keep reading."),
        ),
        Standing::CardFailed => (
            format!("{plan_name}, on hold"),
            Some("Your card on file needs updating."),
        ),
        Standing::Lapsed => ("Free member (your subscription has ended)".to_owned(), None),
        Standing::Free => ("Free member".to_owned(), None),
    };
    let renewal = latest.filter(|_| standing != Standing::Lapsed).and_then(|s| {
        let end = human_date(s.current_period_end?);
        Some(if s.cancel_at_period_end {
            format!("Ends on {end}")
        } else {
            format!("Renews on {end}")
        })
    });
    let page = AccountPage {
        layout: pages::layout(&req, &reader),
        email: user.email.clone(),
        plan,
        renewal,
        notice,
        show_subscribe: matches!(standing, Standing::Free | Standing::Lapsed),
        manage_billing: state.billing.is_some() && user.stripe_customer_id.is_some(),
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
