//! Gift subscriptions as stored: the order, where its payment stands, and
//! the comp its redemption granted.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::db::{DbConnection, schema::gift_subscriptions};
use crate::domain::gift_subscription::GiftStatus;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = gift_subscriptions)]
pub struct StoredGift {
    pub id: i32,
    pub tier_id: i32,
    pub months: i32,
    pub currency: String,
    pub amount: i64,
    pub buyer_email: String,
    pub buyer_name: String,
    pub recipient_email: Option<String>,
    pub message: String,
    pub deliver_at: Option<PrimitiveDateTime>,
    pub status: String,
    pub checkout_session_id: Option<String>,
    pub payment_intent_id: Option<String>,
    pub comp_id: Option<i32>,
    pub created_at: PrimitiveDateTime,
    pub paid_at: Option<PrimitiveDateTime>,
}

impl StoredGift {
    pub fn status(&self) -> Option<GiftStatus> {
        GiftStatus::parse(&self.status).ok()
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = gift_subscriptions)]
pub struct NewGift<'a> {
    pub tier_id: i32,
    pub months: i32,
    pub currency: &'a str,
    pub amount: i64,
    pub buyer_email: &'a str,
    pub buyer_name: &'a str,
    pub recipient_email: Option<&'a str>,
    pub message: &'a str,
    pub deliver_at: Option<PrimitiveDateTime>,
    pub status: &'a str,
    pub created_at: PrimitiveDateTime,
}

pub fn insert(conn: &mut DbConnection, gift: &NewGift<'_>) -> QueryResult<i32> {
    diesel::insert_into(gift_subscriptions::table)
        .values(gift)
        .returning(gift_subscriptions::id)
        .get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: i32) -> QueryResult<Option<StoredGift>> {
    gift_subscriptions::table
        .find(id)
        .select(StoredGift::as_select())
        .first(conn)
        .optional()
}

pub fn by_payment_intent(
    conn: &mut DbConnection,
    payment_intent_id: &str,
) -> QueryResult<Option<StoredGift>> {
    gift_subscriptions::table
        .filter(gift_subscriptions::payment_intent_id.eq(payment_intent_id))
        .select(StoredGift::as_select())
        .first(conn)
        .optional()
}

/// The Checkout Session opened for a pending gift.
pub fn set_checkout_session(conn: &mut DbConnection, id: i32, session_id: &str) -> QueryResult<usize> {
    diesel::update(gift_subscriptions::table.find(id))
        .set(gift_subscriptions::checkout_session_id.eq(session_id))
        .execute(conn)
}

/// Pending → paid; 0 when it was not pending (a redelivered event).
pub fn mark_paid(
    conn: &mut DbConnection,
    id: i32,
    payment_intent_id: Option<&str>,
    at: PrimitiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        gift_subscriptions::table
            .find(id)
            .filter(gift_subscriptions::status.eq(GiftStatus::Pending.as_str())),
    )
    .set((
        gift_subscriptions::status.eq(GiftStatus::Paid.as_str()),
        gift_subscriptions::payment_intent_id.eq(payment_intent_id),
        gift_subscriptions::paid_at.eq(at),
    ))
    .execute(conn)
}

/// Paid → redeemed; 0 when someone redeemed it (or a refund revoked it)
/// first: the guard makes redemption single-use under concurrent requests.
pub fn mark_redeemed(conn: &mut DbConnection, id: i32) -> QueryResult<usize> {
    diesel::update(
        gift_subscriptions::table
            .find(id)
            .filter(gift_subscriptions::status.eq(GiftStatus::Paid.as_str())),
    )
    .set(gift_subscriptions::status.eq(GiftStatus::Redeemed.as_str()))
    .execute(conn)
}

/// The comp a redemption granted.
pub fn set_comp(conn: &mut DbConnection, id: i32, comp_id: i32) -> QueryResult<usize> {
    diesel::update(gift_subscriptions::table.find(id))
        .set(gift_subscriptions::comp_id.eq(comp_id))
        .execute(conn)
}

/// Any state but revoked → revoked (a refund).
pub fn mark_revoked(conn: &mut DbConnection, id: i32) -> QueryResult<usize> {
    diesel::update(
        gift_subscriptions::table
            .find(id)
            .filter(gift_subscriptions::status.ne(GiftStatus::Revoked.as_str())),
    )
    .set(gift_subscriptions::status.eq(GiftStatus::Revoked.as_str()))
    .execute(conn)
}

/// How many gifts of a tier exist (a tier with gifts cannot be deleted).
pub fn of_tier(conn: &mut DbConnection, tier_id: i32) -> QueryResult<i64> {
    gift_subscriptions::table
        .filter(gift_subscriptions::tier_id.eq(tier_id))
        .count()
        .get_result(conn)
}
