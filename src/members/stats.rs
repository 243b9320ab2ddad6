//! The publication's figures over a range of days, for editors and admins:
//! members at the end of each day (total, paid, free), sign-ups and
//! cancellations, monthly recurring revenue from the catalogue's prices,
//! churn, page views, and what the range's sends came to.

use std::collections::BTreeMap;

use super::MemberError;
use crate::{
    db::{self, stats::SendTotals, tiers},
    domain::{
        editorial::Actor,
        stats::{self, DayCount, DayRange},
    },
    state::AppState,
};

/// Everything the overview shows.
#[derive(Debug, Clone)]
pub struct Overview {
    pub range: DayRange,
    pub days: Vec<DayCount>,
    /// Per currency, in its smallest unit, from subscriptions paying now.
    pub mrr: BTreeMap<String, i64>,
    /// Paying subscriptions whose price is not in the catalogue (or whose
    /// amount Stripe never told us): not in `mrr`.
    pub unpriced_subscriptions: i64,
    /// Paid members at the start of the range, and paid subscriptions that
    /// ended within it.
    pub paid_at_start: i64,
    pub cancellations: i64,
    pub churn_rate: f64,
    pub sends: SendTotals,
}

pub async fn overview(state: &AppState, actor: Actor, range: DayRange) -> Result<Overview, MemberError> {
    if !actor.role.can_read_members() {
        return Err(MemberError::Forbidden);
    }
    let overview = db::run(&state.pool, move |conn| {
        let members = db::stats::member_spans(conn)?;
        let paid = db::stats::paid_spans(conn)?;
        // The day before the range, for who was paying when it began.
        let before = DayRange {
            from: range.from.previous_day().unwrap_or(range.from),
            to: range.from.previous_day().unwrap_or(range.from),
        };
        let paid_at_start = stats::daily_members(before, &members, &paid)[0].paid;
        let mut days = stats::daily_members(range, &members, &paid);
        for (date, views) in db::page_views::per_day(conn, range.from, range.to)? {
            if let Some(day) = days.iter_mut().find(|d| d.date == date) {
                day.views = views;
            }
        }
        let cancellations = days.iter().map(|d| d.cancellations).sum();
        let catalogue: BTreeMap<String, _> = tiers::list(conn)?
            .into_iter()
            .flat_map(|tier| tier.prices)
            .filter_map(|price| Some((price.stripe_price_id, price.details?)))
            .collect();
        let paying = db::stats::paying_price_ids(conn)?;
        let priced: Vec<_> = paying.iter().filter_map(|id| catalogue.get(id)).collect();
        let unpriced_subscriptions = (paying.len() - priced.len()) as i64;
        Ok(Overview {
            range,
            mrr: stats::mrr(priced),
            unpriced_subscriptions,
            paid_at_start,
            cancellations,
            churn_rate: stats::churn_rate(paid_at_start, cancellations),
            sends: db::stats::send_totals(conn, range.start(), range.end())?,
            days,
        })
    })
    .await?;
    Ok(overview)
}
