//! `/admin/stats`: the publication's figures in the editor, for editors and
//! admins: members over time and sign-ups per day as server-drawn charts
//! (with the same figures in a table), revenue, churn and sends. A plain
//! GET form picks the range; nothing needs JavaScript.

use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, web};

use crate::web::{
    charts::{self, Series},
    error::{PageResult, Problem},
    extract::SiteStaff,
    pages,
    stats_api::RangeQuery,
    views::{AdminStatsPage, FigureView},
};
use crate::{domain::tier::money, members::stats as overview, state::AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(show);
}

fn percent(rate: f64) -> String {
    format!("{:.1} %", rate * 100.0)
}

#[get("/admin/stats")]
async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: SiteStaff,
    query: web::Query<RangeQuery>,
) -> PageResult<HttpResponse> {
    let query = query.into_inner();
    let query = RangeQuery {
        from: query.from.filter(|f| !f.is_empty()),
        to: query.to.filter(|t| !t.is_empty()),
    };
    let range = query.range()?;
    let figures = overview::overview(&state, staff.actor, range)
        .await
        .map_err(Problem::from)?;
    let labels: Vec<String> = figures.days.iter().map(|d| d.date.to_string()).collect();
    let members_chart = charts::lines(
        "Members at the end of each day: all, and paying",
        &labels,
        &[
            Series {
                name: "All members",
                class: "total",
                values: figures.days.iter().map(|d| d.total).collect(),
            },
            Series {
                name: "Paying",
                class: "paid",
                values: figures.days.iter().map(|d| d.paid).collect(),
            },
        ],
    );
    let signups: Vec<i64> = figures.days.iter().map(|d| d.signups).collect();
    let signups_chart = charts::bars("New members each day", &labels, &signups, "signups");
    let last = figures.days.last();
    let mrr = if figures.mrr.is_empty() {
        "0".to_owned()
    } else {
        figures
            .mrr
            .iter()
            .map(|(currency, amount)| money(currency, *amount))
            .collect::<Vec<_>>()
            .join(" + ")
    };
    let sends = &figures.sends;
    let figure = |label: &'static str, value: String| FigureView { label, value };
    let tiles = vec![
        figure("Members", last.map_or(0, |d| d.total).to_string()),
        figure("Paying", last.map_or(0, |d| d.paid).to_string()),
        figure("New in range", signups.iter().sum::<i64>().to_string()),
        figure(
            "Page views",
            figures.days.iter().map(|d| d.views).sum::<i64>().to_string(),
        ),
        figure("Monthly revenue", mrr),
        figure(
            "Churn",
            format!(
                "{} ({} of {})",
                percent(figures.churn_rate),
                figures.cancellations,
                figures.paid_at_start
            ),
        ),
        figure("Newsletters sent", sends.sends.to_string()),
        figure("Recipients", sends.recipients.to_string()),
        figure(
            "Clicked",
            format!(
                "{} ({})",
                sends.clicked,
                percent(sends.clicked as f64 / sends.delivered.max(1) as f64)
            ),
        ),
    ];
    let page = AdminStatsPage {
        layout: pages::layout(&req, &staff.reader).await,
        from: range.from.to_string(),
        to: range.to.to_string(),
        tiles,
        unpriced: figures.unpriced_subscriptions,
        members_chart,
        signups_chart,
        days: figures.days.into_iter().rev().collect(),
    };
    Ok(pages::render(&req, StatusCode::OK, &page)?)
}
