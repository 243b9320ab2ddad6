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
    views::{self, AccountPage, ArticlePage, ArticleSummary, CtaView, HomePage, SessionView},
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(home)
        .service(article_page)
        .service(account)
        .service(rotate_feed)
        .service(revoke_session)
        .service(stylesheet)
        .service(admin_script);
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
    let (subscriptions, sessions) = db::run(&state.pool, move |conn| {
        Ok((
            billing::subscriptions_of(conn, user_id)?,
            db::sessions::live_for_user(conn, user_id, db::now())?,
        ))
    })
    .await?;
    let current_hash = reader.session_token.as_deref().map(crate::auth::token::hash);
    let sessions = sessions
        .into_iter()
        .map(|s| SessionView {
            current: current_hash.as_deref() == Some(s.token_hash.as_str()),
            id: s.id,
            device: s
                .user_agent
                .as_deref()
                .map_or("Unknown device".to_owned(), describe_device),
            last_seen: human_date(s.last_seen_at),
        })
        .collect();
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
        sessions,
    };
    Ok(pages::render(&req, StatusCode::OK, &page)?)
}

/// A short name for a browser from its user agent.
fn describe_device(user_agent: &str) -> String {
    let browser = ["Firefox", "Edg", "Chrome", "Safari"]
        .into_iter()
        .find(|b| user_agent.contains(b))
        .map(|b| if b == "Edg" { "Edge" } else { b });
    let system = ["Android", "iPhone", "iPad", "Windows", "Mac OS", "Linux"]
        .into_iter()
        .find(|s| user_agent.contains(s));
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_owned(),
        _ => user_agent.chars().take(40).collect(),
    }
}

#[post("/account/sessions/{id}/revoke")]
async fn revoke_session(
    state: web::Data<AppState>,
    reader: CurrentReader,
    id: web::Path<String>,
    _form: CsrfForm<pages::EmptyForm>,
) -> PageResult<HttpResponse> {
    let Some(user) = &reader.user else {
        return Ok(pages::redirect("/login?next=/account"));
    };
    let (user_id, session_id) = (user.id, id.parse::<i32>().unwrap_or(0));
    let ended = db::run(&state.pool, move |conn| {
        Ok(db::sessions::delete_for_user(conn, user_id, session_id)?)
    })
    .await?;
    let flash = if ended {
        "That device is signed out."
    } else {
        "That session had already ended."
    };
    Ok(pages::redirect_with_flash("/account", flash))
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

#[get("/static/admin.v1.js")]
async fn admin_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(views::ADMIN_SCRIPT)
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
