//! Figures in the admin API: `GET /admin/api/articles/{id}/stats`, what an
//! emailed post did (delivery, bounces, complaints, unsubscribes, opens,
//! clicks per link). Counts only: no body, no address.

use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::web::error::{ApiResult, ErrorBody, Problem};
use crate::{
    db::engagement::LinkClicks,
    newsletter::engagement::{self, ArticleStats, EmailStats},
    state::AppState,
    web::{admin::SendJson, extract::ApiStaff},
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(article_stats);
}

/// An article's figures.
#[derive(Serialize, ToSchema)]
pub(crate) struct ArticleStatsJson {
    article_id: i32,
    /// What its email did; `null` when it was never emailed.
    email: Option<SendStatsJson>,
}

/// What an article's email did. Rates are fractions of `delivered`.
#[derive(Serialize, ToSchema)]
pub(crate) struct SendStatsJson {
    send: SendJson,
    recipients: i64,
    delivered: i64,
    failed: i64,
    /// Reported undeliverable, on the spot or later by the provider.
    bounced: i64,
    /// Marked as spam by the recipient (reported by the provider).
    complained: i64,
    /// Left the newsletter through this email's link.
    unsubscribed: i64,
    /// First opens; `null` while open tracking is off. Approximate: privacy
    /// proxies load every image and some clients none.
    opened: Option<i64>,
    open_rate: Option<f64>,
    /// Recipients who followed any tracked link.
    clicked: i64,
    click_rate: f64,
    /// Each tracked link, most followed first.
    links: Vec<LinkClicksJson>,
}

/// A tracked link and the recipients who followed it.
#[derive(Serialize, ToSchema)]
pub(crate) struct LinkClicksJson {
    url: String,
    clicked: i64,
    click_rate: f64,
}

/// `part` of `whole`, 0 when there is no whole.
fn rate(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

impl From<EmailStats> for SendStatsJson {
    fn from(stats: EmailStats) -> Self {
        let delivered = stats.progress.sent;
        let e = &stats.engagement;
        let opened = stats.opens_tracked.then_some(e.opened);
        Self {
            recipients: i64::from(stats.progress.send.total),
            delivered,
            failed: stats.progress.failed,
            bounced: e.bounced,
            complained: e.complained,
            unsubscribed: e.unsubscribed,
            opened,
            open_rate: opened.map(|n| rate(n, delivered)),
            clicked: e.clicked,
            click_rate: rate(e.clicked, delivered),
            links: stats
                .links
                .into_iter()
                .map(|LinkClicks { url, clicked }| LinkClicksJson {
                    url,
                    clicked,
                    click_rate: rate(clicked, delivered),
                })
                .collect(),
            send: stats.progress.into(),
        }
    }
}

impl From<ArticleStats> for ArticleStatsJson {
    fn from(stats: ArticleStats) -> Self {
        Self {
            article_id: stats.article_id,
            email: stats.email.map(Into::into),
        }
    }
}

/// An article's figures: editors and admins see every article's, authors
/// their own.
#[utoipa::path(get, path = "/admin/api/articles/{id}/stats", params(("id" = i32, Path)),
    responses((status = 200, body = ArticleStatsJson), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/articles/{id}/stats")]
pub(crate) async fn article_stats(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
) -> ApiResult<web::Json<ArticleStatsJson>> {
    let id = super::path_id(&id, "article")?;
    let stats = engagement::article_stats(&state, staff.actor, id)
        .await?
        .ok_or_else(|| Problem::not_found("There is no article with that id."))?;
    Ok(web::Json(stats.into()))
}
