//! Offers as stored: a code, the catalogue price it discounts, and the Stripe
//! coupon or promotion code that does it.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::db::{DbConnection, schema::offers};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = offers)]
pub struct StoredOffer {
    pub id: i32,
    pub code: String,
    pub name: String,
    pub stripe_price_id: String,
    pub stripe_coupon_id: Option<String>,
    pub stripe_promotion_code_id: Option<String>,
    pub discount_label: String,
    pub ends_at: Option<PrimitiveDateTime>,
    pub active: bool,
    pub created_at: PrimitiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = offers)]
pub struct NewOffer<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub stripe_price_id: &'a str,
    pub stripe_coupon_id: Option<&'a str>,
    pub stripe_promotion_code_id: Option<&'a str>,
    pub discount_label: &'a str,
    pub ends_at: Option<PrimitiveDateTime>,
    pub active: bool,
    pub created_at: PrimitiveDateTime,
}

/// Every offer, newest first.
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<StoredOffer>> {
    offers::table
        .order(offers::id.desc())
        .select(StoredOffer::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConnection, id: i32) -> QueryResult<Option<StoredOffer>> {
    offers::table
        .find(id)
        .select(StoredOffer::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_code(conn: &mut DbConnection, code: &str) -> QueryResult<Option<StoredOffer>> {
    offers::table
        .filter(offers::code.eq(code))
        .select(StoredOffer::as_select())
        .first(conn)
        .optional()
}

pub fn code_taken(conn: &mut DbConnection, code: &str) -> QueryResult<bool> {
    Ok(find_by_code(conn, code)?.is_some())
}

pub fn insert(conn: &mut DbConnection, offer: &NewOffer<'_>) -> QueryResult<i32> {
    diesel::insert_into(offers::table)
        .values(offer)
        .returning(offers::id)
        .get_result(conn)
}

/// Renames an offer or takes it off (or back on) its link.
pub fn update(
    conn: &mut DbConnection,
    id: i32,
    name: Option<&str>,
    active: Option<bool>,
) -> QueryResult<usize> {
    let target = offers::table.find(id);
    let mut changed = 0;
    if let Some(name) = name {
        changed += diesel::update(target).set(offers::name.eq(name)).execute(conn)?;
    }
    if let Some(active) = active {
        changed += diesel::update(target)
            .set(offers::active.eq(active))
            .execute(conn)?;
    }
    Ok(changed)
}

pub fn delete(conn: &mut DbConnection, id: i32) -> QueryResult<usize> {
    diesel::delete(offers::table.find(id)).execute(conn)
}

/// How many offers discount these prices (they must go before the prices).
pub fn on_prices(conn: &mut DbConnection, stripe_price_ids: &[String]) -> QueryResult<i64> {
    offers::table
        .filter(offers::stripe_price_id.eq_any(stripe_price_ids))
        .count()
        .get_result(conn)
}
