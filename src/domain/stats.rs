//! The publication's figures over a range of days: members over time,
//! monthly recurring revenue, churn. Pure: `stats` loads the rows, this
//! counts them.

use std::collections::BTreeMap;

use time::{Date, Duration, PrimitiveDateTime, Time};

use super::{
    InvalidInput,
    tier::{Interval, PriceDetails},
};

/// The longest range one request may ask for.
pub const MAX_DAYS: i64 = 731;
/// The range when none is asked for: the last 30 days.
pub const DEFAULT_DAYS: i64 = 30;

/// Days `from` to `to`, both included (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    pub from: Date,
    pub to: Date,
}

impl DayRange {
    /// From `YYYY-MM-DD` strings; either left out falls back to the 30 days
    /// up to `today`.
    pub fn parse(from: Option<&str>, to: Option<&str>, today: Date) -> Result<Self, InvalidInput> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let day = |raw: &str, field: &'static str| {
            Date::parse(raw.trim(), &format)
                .map_err(|_| InvalidInput::new(field, format!("{field} must be a date like 2026-12-01")))
        };
        let to = to.map(|t| day(t, "to")).transpose()?.unwrap_or(today);
        let from = from
            .map(|f| day(f, "from"))
            .transpose()?
            .unwrap_or(to - Duration::days(DEFAULT_DAYS - 1));
        if from > to {
            return Err(InvalidInput::new("from", "from must not be after to"));
        }
        if (to - from).whole_days() >= MAX_DAYS {
            return Err(InvalidInput::new("from", "a range is at most 731 days"));
        }
        Ok(Self { from, to })
    }

    pub fn days(self) -> impl Iterator<Item = Date> {
        let count = (self.to - self.from).whole_days() + 1;
        (0..count).map(move |n| self.from + Duration::days(n))
    }

    /// The first moment of `from`.
    pub fn start(self) -> PrimitiveDateTime {
        PrimitiveDateTime::new(self.from, Time::MIDNIGHT)
    }

    /// The first moment after `to`.
    pub fn end(self) -> PrimitiveDateTime {
        PrimitiveDateTime::new(self.to + Duration::days(1), Time::MIDNIGHT)
    }
}

/// A span of time something lasted: from `start`, until `end` if it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: PrimitiveDateTime,
    pub end: Option<PrimitiveDateTime>,
}

impl Span {
    /// The days of `range` at whose end it was going, as indexes into the
    /// range (`start..stop`).
    fn day_indexes(self, range: DayRange) -> std::ops::Range<usize> {
        let days = (range.to - range.from).whole_days() + 1;
        let index = |date: Date| (date - range.from).whole_days().clamp(0, days) as usize;
        let start = index(self.start.date());
        // Going at the end of a day only if it ended on a later day.
        let stop = self.end.map_or(days as usize, |end| index(end.date()));
        start..stop.max(start)
    }
}

/// Overlapping spans joined: a member paying twice at once counts once.
fn union(spans: &[Span]) -> Vec<Span> {
    let mut sorted = spans.to_vec();
    sorted.sort_by_key(|s| s.start);
    let mut joined: Vec<Span> = Vec::new();
    for span in sorted {
        match joined.last_mut() {
            Some(last) if last.end.is_none_or(|end| span.start <= end) => {
                last.end = match (last.end, span.end) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
            }
            _ => joined.push(span),
        }
    }
    joined
}

/// How many spans were going at the end of each day: a difference array,
/// so the cost is one pass over the spans and one over the days.
fn going_per_day(range: DayRange, spans: impl Iterator<Item = Span>, days: usize) -> Vec<i64> {
    let mut delta = vec![0i64; days + 1];
    for span in spans {
        let indexes = span.day_indexes(range);
        if !indexes.is_empty() {
            delta[indexes.start] += 1;
            delta[indexes.end] -= 1;
        }
    }
    delta
        .iter()
        .take(days)
        .scan(0, |running, d| {
            *running += d;
            Some(*running)
        })
        .collect()
}

/// How many of `dates` fall on each day of the range.
fn per_day(range: DayRange, dates: impl Iterator<Item = Date>, days: usize) -> Vec<i64> {
    let mut counts = vec![0i64; days];
    for date in dates.filter(|d| (range.from..=range.to).contains(d)) {
        counts[(date - range.from).whole_days() as usize] += 1;
    }
    counts
}

/// One day's members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayCount {
    pub date: Date,
    /// Members at the end of the day.
    pub total: i64,
    /// Of them, paying through Stripe.
    pub paid: i64,
    pub free: i64,
    /// Members who joined that day.
    pub signups: i64,
    /// Paid subscriptions that ended that day.
    pub cancellations: i64,
    /// Page views of every post and page that day (filled in by the caller).
    pub views: i64,
}

/// Members at the end of each day of `range`: `members` as their
/// accounts' spans (joined, deleted), `paid` as each member's paid
/// subscriptions' spans (a member with two at once counts once).
pub fn daily_members(range: DayRange, members: &[Span], paid: &BTreeMap<i32, Vec<Span>>) -> Vec<DayCount> {
    let days = range.days().count();
    let totals = going_per_day(range, members.iter().copied(), days);
    let paying = going_per_day(range, paid.values().flat_map(|spans| union(spans)), days);
    let signups = per_day(range, members.iter().map(|m| m.start.date()), days);
    let ended = paid
        .values()
        .flatten()
        .filter_map(|s| s.end.map(|end| end.date()));
    let cancellations = per_day(range, ended, days);
    range
        .days()
        .enumerate()
        .map(|(i, date)| {
            let paid = paying[i].min(totals[i]);
            DayCount {
                date,
                total: totals[i],
                paid,
                free: totals[i] - paid,
                signups: signups[i],
                cancellations: cancellations[i],
                views: 0,
            }
        })
        .collect()
}

/// What a price brings in a month, in its currency's smallest unit:
/// yearly prices divided by 12, weekly ones times 52/12. `None` for a price
/// without a fixed amount or interval.
pub fn monthly_amount(price: &PriceDetails) -> Option<i64> {
    let amount = price.unit_amount? as f64;
    let count = f64::from(price.interval_count.max(1));
    let per_month = match price.interval? {
        Interval::Day => amount * 365.0 / 12.0 / count,
        Interval::Week => amount * 52.0 / 12.0 / count,
        Interval::Month => amount / count,
        Interval::Year => amount / 12.0 / count,
    };
    Some(per_month.round() as i64)
}

/// Monthly recurring revenue per currency (lower case, as Stripe writes it).
pub fn mrr<'a>(prices: impl IntoIterator<Item = &'a PriceDetails>) -> BTreeMap<String, i64> {
    let mut by_currency = BTreeMap::new();
    for price in prices {
        if let Some(amount) = monthly_amount(price) {
            *by_currency.entry(price.currency.clone()).or_insert(0) += amount;
        }
    }
    by_currency
}

/// Paid subscriptions that ended in the range over those going at its
/// start (0 when none were).
pub fn churn_rate(paying_at_start: i64, ended: i64) -> f64 {
    if paying_at_start == 0 {
        0.0
    } else {
        ended as f64 / paying_at_start as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn a_range_defaults_to_the_last_thirty_days_and_refuses_nonsense() {
        let today = date!(2026 - 12 - 07);
        let range = DayRange::parse(None, None, today).unwrap();
        assert_eq!((range.from, range.to), (date!(2026 - 11 - 08), today));
        assert_eq!(range.days().count(), 30);
        assert!(DayRange::parse(Some("2026-12-08"), Some("2026-12-07"), today).is_err());
        assert!(DayRange::parse(Some("yesterday"), None, today).is_err());
        assert!(DayRange::parse(Some("2020-01-01"), Some("2026-01-01"), today).is_err());
        assert_eq!(
            DayRange::parse(Some("2026-12-01"), Some("2026-12-01"), today)
                .unwrap()
                .days()
                .count(),
            1
        );
    }

    #[test]
    fn members_are_counted_at_the_end_of_each_day() {
        let range = DayRange::parse(Some("2026-12-01"), Some("2026-12-03"), date!(2026 - 12 - 07)).unwrap();
        let members = [
            Span {
                start: datetime!(2026-11-20 10:00),
                end: None,
            },
            Span {
                start: datetime!(2026-12-02 09:00),
                end: None,
            },
            Span {
                start: datetime!(2026-11-01 09:00),
                end: Some(datetime!(2026-12-02 12:00)),
            },
        ];
        let paid = BTreeMap::from([
            (
                1,
                vec![Span {
                    start: datetime!(2026-11-21 00:00),
                    end: Some(datetime!(2026-12-03 08:00)),
                }],
            ),
            (
                2,
                vec![
                    Span {
                        start: datetime!(2026-12-02 10:00),
                        end: None,
                    },
                    Span {
                        start: datetime!(2026-12-02 11:00),
                        end: None,
                    },
                ],
            ),
        ]);
        let days = daily_members(range, &members, &paid);
        let totals: Vec<_> = days
            .iter()
            .map(|d| (d.total, d.paid, d.free, d.signups, d.cancellations))
            .collect();
        assert_eq!(totals, vec![(2, 1, 1, 0, 0), (2, 2, 0, 1, 0), (2, 1, 1, 0, 1)]);
    }

    #[test]
    fn monthly_amounts_follow_the_interval() {
        let price = |amount, interval, count| PriceDetails {
            currency: "usd".into(),
            unit_amount: Some(amount),
            interval: Some(interval),
            interval_count: count,
            product: None,
        };
        assert_eq!(monthly_amount(&price(800, Interval::Month, 1)), Some(800));
        assert_eq!(monthly_amount(&price(8000, Interval::Year, 1)), Some(667));
        assert_eq!(monthly_amount(&price(2400, Interval::Month, 3)), Some(800));
        assert_eq!(monthly_amount(&price(100, Interval::Week, 1)), Some(433));
        let total = mrr([&price(800, Interval::Month, 1), &price(8000, Interval::Year, 1)]);
        assert_eq!(total, BTreeMap::from([("usd".to_owned(), 1467)]));
        assert_eq!(churn_rate(0, 0), 0.0);
        assert_eq!(churn_rate(20, 1), 0.05);
    }
}
