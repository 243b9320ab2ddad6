//! The price catalogue as stored: tiers, their Stripe prices (with what
//! Stripe said of each, cached), and the tiers a paid article is for.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::db::{
    DbConnection,
    schema::{article_tiers, subscriptions, tier_prices, tiers},
};
use crate::domain::tier::{Interval, PriceDetails, PriceStatus, TierDraft};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTier {
    pub id: i32,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub benefits: Vec<String>,
    pub active: bool,
    pub position: i32,
    /// Active prices first, then by when they were added.
    pub prices: Vec<StoredPrice>,
}

impl StoredTier {
    pub fn prices_on_sale(&self) -> impl Iterator<Item = &StoredPrice> {
        self.prices.iter().filter(|p| p.status == PriceStatus::Active)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPrice {
    pub tier_id: i32,
    pub stripe_price_id: String,
    pub status: PriceStatus,
    pub trial_days: Option<i32>,
    /// `None` until Stripe's price object was read.
    pub details: Option<PriceDetails>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = tiers)]
struct TierRow {
    id: i32,
    slug: String,
    name: String,
    description: String,
    benefits: String,
    active: bool,
    position: i32,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = tier_prices)]
struct PriceRow {
    tier_id: i32,
    stripe_price_id: String,
    status: String,
    trial_days: Option<i32>,
    currency: Option<String>,
    unit_amount: Option<i64>,
    recurring_interval: Option<String>,
    interval_count: Option<i32>,
    stripe_product_id: Option<String>,
}

impl PriceRow {
    fn into_price(self) -> Option<StoredPrice> {
        let status = PriceStatus::parse(&self.status).ok()?;
        let details = self.currency.map(|currency| PriceDetails {
            currency,
            unit_amount: self.unit_amount,
            interval: self
                .recurring_interval
                .as_deref()
                .and_then(|i| Interval::parse(i).ok()),
            interval_count: self.interval_count.unwrap_or(1).max(0) as u32,
            product: self.stripe_product_id,
        });
        Some(StoredPrice {
            tier_id: self.tier_id,
            stripe_price_id: self.stripe_price_id,
            status,
            trial_days: self.trial_days,
            details,
        })
    }
}

/// Every tier, in display order, with its prices.
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<StoredTier>> {
    let rows: Vec<TierRow> = tiers::table
        .order((tiers::position, tiers::id))
        .select(TierRow::as_select())
        .load(conn)?;
    let prices: Vec<PriceRow> = tier_prices::table
        .order((tier_prices::status, tier_prices::id))
        .select(PriceRow::as_select())
        .load(conn)?;
    let mut prices: Vec<StoredPrice> = prices.into_iter().filter_map(PriceRow::into_price).collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let (mine, rest) = prices.drain(..).partition(|p| p.tier_id == row.id);
            prices = rest;
            assemble(row, mine)
        })
        .collect())
}

pub fn find(conn: &mut DbConnection, id: i32) -> QueryResult<Option<StoredTier>> {
    let Some(row) = tiers::table
        .find(id)
        .select(TierRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let prices: Vec<PriceRow> = tier_prices::table
        .filter(tier_prices::tier_id.eq(id))
        .order((tier_prices::status, tier_prices::id))
        .select(PriceRow::as_select())
        .load(conn)?;
    Ok(Some(assemble(
        row,
        prices.into_iter().filter_map(PriceRow::into_price).collect(),
    )))
}

fn assemble(row: TierRow, prices: Vec<StoredPrice>) -> StoredTier {
    StoredTier {
        id: row.id,
        slug: row.slug,
        name: row.name,
        description: row.description,
        // Written by us from a validated list; a hand edit that breaks it
        // shows no benefits rather than failing the page.
        benefits: serde_json::from_str(&row.benefits).unwrap_or_default(),
        active: row.active,
        position: row.position,
        prices,
    }
}

pub fn id_by_slug(conn: &mut DbConnection, slug: &str) -> QueryResult<Option<i32>> {
    tiers::table
        .filter(tiers::slug.eq(slug))
        .select(tiers::id)
        .first(conn)
        .optional()
}

pub fn slug_taken_by_other(conn: &mut DbConnection, slug: &str, id: Option<i32>) -> QueryResult<bool> {
    let found = id_by_slug(conn, slug)?;
    Ok(found.is_some() && found != id)
}

pub fn is_empty(conn: &mut DbConnection) -> QueryResult<bool> {
    let count: i64 = tiers::table.count().get_result(conn)?;
    Ok(count == 0)
}

/// A tier's columns as a draft describes them.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = tiers)]
struct TierColumns<'a> {
    slug: &'a str,
    name: &'a str,
    description: &'a str,
    /// A JSON array.
    benefits: String,
    active: bool,
    position: i32,
    updated_at: PrimitiveDateTime,
}

impl<'a> TierColumns<'a> {
    fn of(draft: &'a TierDraft, now: PrimitiveDateTime) -> Self {
        Self {
            slug: draft.slug.as_str(),
            name: &draft.name,
            description: &draft.description,
            benefits: serde_json::to_string(&draft.benefits).expect("a list of strings serializes"),
            active: draft.active,
            position: draft.position,
            updated_at: now,
        }
    }
}

pub fn insert(conn: &mut DbConnection, draft: &TierDraft, now: PrimitiveDateTime) -> QueryResult<i32> {
    diesel::insert_into(tiers::table)
        .values((TierColumns::of(draft, now), tiers::created_at.eq(now)))
        .returning(tiers::id)
        .get_result(conn)
}

pub fn update(
    conn: &mut DbConnection,
    id: i32,
    draft: &TierDraft,
    now: PrimitiveDateTime,
) -> QueryResult<usize> {
    diesel::update(tiers::table.find(id))
        .set(TierColumns::of(draft, now))
        .execute(conn)
}

/// Deletes a tier and its prices (callers check `in_use` first).
pub fn delete(conn: &mut DbConnection, id: i32) -> QueryResult<usize> {
    diesel::delete(tier_prices::table.filter(tier_prices::tier_id.eq(id))).execute(conn)?;
    diesel::delete(tiers::table.find(id)).execute(conn)
}

/// What still depends on a tier: subscriptions stored on its prices, and
/// articles gated to it.
pub fn in_use(conn: &mut DbConnection, id: i32) -> QueryResult<(i64, i64)> {
    let price_ids = tier_prices::table
        .filter(tier_prices::tier_id.eq(id))
        .select(tier_prices::stripe_price_id);
    let subscribers: i64 = subscriptions::table
        .filter(subscriptions::price_id.eq_any(price_ids))
        .count()
        .get_result(conn)?;
    let articles: i64 = article_tiers::table
        .filter(article_tiers::tier_id.eq(id))
        .count()
        .get_result(conn)?;
    Ok((subscribers, articles))
}

pub fn price(conn: &mut DbConnection, stripe_price_id: &str) -> QueryResult<Option<StoredPrice>> {
    let row: Option<PriceRow> = tier_prices::table
        .filter(tier_prices::stripe_price_id.eq(stripe_price_id))
        .select(PriceRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.and_then(PriceRow::into_price))
}

/// Whether a price is in the catalogue, on sale or legacy: a subscription
/// we have not seen before counts only on one of these.
pub fn in_catalogue(conn: &mut DbConnection, stripe_price_id: &str) -> QueryResult<bool> {
    Ok(price(conn, stripe_price_id)?.is_some())
}

/// A new price of tier `tier_id`; `details` as Stripe gave them, if read.
pub fn insert_price(
    conn: &mut DbConnection,
    tier_id: i32,
    stripe_price_id: &str,
    status: PriceStatus,
    trial_days: Option<i32>,
    details: Option<&PriceDetails>,
    now: PrimitiveDateTime,
) -> QueryResult<usize> {
    diesel::insert_into(tier_prices::table)
        .values((
            tier_prices::tier_id.eq(tier_id),
            tier_prices::stripe_price_id.eq(stripe_price_id),
            tier_prices::status.eq(status.as_str()),
            tier_prices::trial_days.eq(trial_days),
            tier_prices::created_at.eq(now),
        ))
        .execute(conn)?;
    match details {
        Some(details) => set_details(conn, stripe_price_id, details, now),
        None => Ok(1),
    }
}

/// Moves a price to another tier, or changes its status or trial.
pub fn update_price(
    conn: &mut DbConnection,
    stripe_price_id: &str,
    tier_id: i32,
    status: PriceStatus,
    trial_days: Option<i32>,
) -> QueryResult<usize> {
    diesel::update(tier_prices::table.filter(tier_prices::stripe_price_id.eq(stripe_price_id)))
        .set((
            tier_prices::tier_id.eq(tier_id),
            tier_prices::status.eq(status.as_str()),
            tier_prices::trial_days.eq(trial_days),
        ))
        .execute(conn)
}

/// Caches what Stripe says of a price.
pub fn set_details(
    conn: &mut DbConnection,
    stripe_price_id: &str,
    details: &PriceDetails,
    now: PrimitiveDateTime,
) -> QueryResult<usize> {
    diesel::update(tier_prices::table.filter(tier_prices::stripe_price_id.eq(stripe_price_id)))
        .set((
            tier_prices::currency.eq(&details.currency),
            tier_prices::unit_amount.eq(details.unit_amount),
            tier_prices::recurring_interval.eq(details.interval.map(Interval::as_str)),
            tier_prices::interval_count.eq(details.interval_count as i32),
            tier_prices::details_fetched_at.eq(now),
            tier_prices::stripe_product_id.eq(&details.product),
        ))
        .execute(conn)
}

pub fn delete_price(conn: &mut DbConnection, stripe_price_id: &str) -> QueryResult<usize> {
    diesel::delete(tier_prices::table.filter(tier_prices::stripe_price_id.eq(stripe_price_id))).execute(conn)
}

pub fn subscriptions_on_price(conn: &mut DbConnection, stripe_price_id: &str) -> QueryResult<i64> {
    subscriptions::table
        .filter(subscriptions::price_id.eq(stripe_price_id))
        .count()
        .get_result(conn)
}

/// Every price id in the catalogue (for stripe-sync to refresh details).
pub fn price_ids(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    tier_prices::table
        .order(tier_prices::id)
        .select(tier_prices::stripe_price_id)
        .load(conn)
}
