//! Figures in the admin API: `GET /admin/api/articles/{id}/stats`, what an
//! emailed post did (delivery, bounces, complaints, unsubscribes, opens,
//! clicks per link), and `GET /admin/api/stats`, the publication over a
//! range of days (members, revenue, churn, sends). Counts only: no body, no
//! address.

use actix_web::{get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::web::error::{ApiResult, ErrorBody, Problem};
use crate::{
    db::engagement::LinkClicks,
    domain::stats::DayRange,
    members::stats::{self as overview, Overview},
    newsletter::engagement::{self, ArticleStats, EmailStats},
    state::AppState,
    web::{admin::SendJson, extract::ApiStaff},
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(article_stats).service(publication_stats);
}

/// An article's figures.
#[derive(Serialize, ToSchema)]
pub(crate) struct ArticleStatsJson {
    article_id: i32,
    /// What its email did; `null` when it was never emailed.
    email: Option<SendStatsJson>,
    /// Page views, counted on the server without crawlers or staff.
    views: ViewsJson,
    /// New members whose sign-up form was on its page or in its teaser, or
    /// who came from a link in its newsletter (free sign-ups, whatever they
    /// did later).
    signups: i64,
    /// Paid subscriptions started (or gifts redeemed) from its page, its
    /// teaser or its newsletter.
    paid_conversions: i64,
}

/// Page views in all and per day (UTC, days with views only).
#[derive(Serialize, ToSchema)]
pub(crate) struct ViewsJson {
    total: i64,
    days: Vec<DayViewsJson>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct DayViewsJson {
    #[schema(format = Date)]
    date: String,
    views: i64,
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
            signups: stats.attribution.signups,
            paid_conversions: stats.attribution.paid_conversions,
            email: stats.email.map(Into::into),
            views: ViewsJson {
                total: stats.views.iter().map(|(_, n)| n).sum(),
                days: stats
                    .views
                    .into_iter()
                    .map(|(date, views)| DayViewsJson {
                        date: date.to_string(),
                        views,
                    })
                    .collect(),
            },
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

/// The publication over a range of days.
#[derive(Serialize, ToSchema)]
pub(crate) struct PublicationStatsJson {
    #[schema(format = Date)]
    from: String,
    #[schema(format = Date)]
    to: String,
    /// Members at the end of each day.
    days: Vec<DayJson>,
    /// Monthly recurring revenue per currency (lower case), in its smallest
    /// unit, from the subscriptions paying now and the catalogue's prices.
    mrr: std::collections::BTreeMap<String, i64>,
    /// Paying subscriptions on prices the catalogue has no amount for.
    unpriced_subscriptions: i64,
    /// Paid members when the range began, paid subscriptions that ended in
    /// it, and the one over the other.
    paid_at_start: i64,
    cancellations: i64,
    churn_rate: f64,
    sends: SendTotalsJson,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct DayJson {
    #[schema(format = Date)]
    date: String,
    total: i64,
    paid: i64,
    free: i64,
    signups: i64,
    cancellations: i64,
    /// Page views of every post and page that day.
    views: i64,
}

/// The newsletters sent in the range.
#[derive(Serialize, ToSchema)]
pub(crate) struct SendTotalsJson {
    sends: i64,
    recipients: i64,
    delivered: i64,
    failed: i64,
    /// First opens (0 while open tracking is off).
    opened: i64,
    /// Recipients who followed a tracked link.
    clicked: i64,
}

impl From<Overview> for PublicationStatsJson {
    fn from(o: Overview) -> Self {
        Self {
            from: o.range.from.to_string(),
            to: o.range.to.to_string(),
            days: o
                .days
                .into_iter()
                .map(|d| DayJson {
                    date: d.date.to_string(),
                    total: d.total,
                    paid: d.paid,
                    free: d.free,
                    signups: d.signups,
                    cancellations: d.cancellations,
                    views: d.views,
                })
                .collect(),
            mrr: o.mrr,
            unpriced_subscriptions: o.unpriced_subscriptions,
            paid_at_start: o.paid_at_start,
            cancellations: o.cancellations,
            churn_rate: o.churn_rate,
            sends: SendTotalsJson {
                sends: o.sends.sends,
                recipients: o.sends.recipients,
                delivered: o.sends.delivered,
                failed: o.sends.failed,
                opened: o.sends.opened,
                clicked: o.sends.clicked,
            },
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct RangeQuery {
    /// First day (UTC, `YYYY-MM-DD`); 29 days before `to` when left out.
    #[param(format = Date)]
    pub(crate) from: Option<String>,
    /// Last day, included; today when left out. At most 731 days in all.
    #[param(format = Date)]
    pub(crate) to: Option<String>,
}

impl RangeQuery {
    pub(crate) fn range(&self) -> Result<DayRange, Problem> {
        let today = time::OffsetDateTime::now_utc().date();
        DayRange::parse(self.from.as_deref(), self.to.as_deref(), today).map_err(Problem::from)
    }
}

/// Members over time, revenue, churn and sends for a range of days.
/// Editors and admins.
#[utoipa::path(get, path = "/admin/api/stats", params(RangeQuery),
    responses((status = 200, body = PublicationStatsJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[get("/stats")]
async fn publication_stats(
    state: web::Data<AppState>,
    staff: ApiStaff,
    query: web::Query<RangeQuery>,
) -> ApiResult<web::Json<PublicationStatsJson>> {
    let range = query.range()?;
    let figures = overview::overview(&state, staff.actor, range).await?;
    Ok(web::Json(figures.into()))
}
