//! Offers: a discount on one catalogue price, shared as `/offer/{code}`.
//! The discount lives in Stripe (a coupon, or a promotion code over one),
//! which checks its expiry and redemption limit at Checkout; we keep what
//! the offer page says and when it ends.

use crate::{
    catalogue::{CatalogueError, admin_only, changed},
    db::{
        self,
        offers::{self as stored, NewOffer, StoredOffer},
        tiers::{self, StoredPrice, StoredTier},
    },
    domain::{
        InvalidInput,
        editorial::Actor,
        offer::{Discount, DiscountRef},
        slug::Slug,
        tier::{PriceStatus, StripePriceId},
    },
    state::AppState,
};

/// An offer as an admin creates it.
#[derive(Debug, Clone)]
pub struct OfferDraft {
    pub code: Slug,
    pub name: String,
    pub stripe_price_id: StripePriceId,
    pub discount: DiscountRef,
    pub active: bool,
}

/// Every offer, newest first. Staff read them.
pub async fn list(state: &AppState, actor: Actor) -> Result<Vec<StoredOffer>, CatalogueError> {
    staff_only(actor)?;
    Ok(db::run(&state.pool, |conn| Ok(stored::list(conn)?)).await?)
}

pub async fn get(state: &AppState, actor: Actor, id: i32) -> Result<StoredOffer, CatalogueError> {
    staff_only(actor)?;
    db::run(&state.pool, move |conn| Ok(stored::find(conn, id)?))
        .await?
        .ok_or(CatalogueError::NotFound("There is no offer with that id."))
}

fn staff_only(actor: Actor) -> Result<(), CatalogueError> {
    if actor.role.is_staff() {
        Ok(())
    } else {
        Err(CatalogueError::Forbidden("Only staff read the offers."))
    }
}

/// Creates an offer on a price that is on sale, with a discount Stripe has
/// and still accepts (read from Stripe now: its label and end are kept).
pub async fn create(
    state: &AppState,
    actor: Actor,
    draft: OfferDraft,
) -> Result<StoredOffer, CatalogueError> {
    admin_only(actor)?;
    let Some(setup) = &state.billing else {
        return Err(CatalogueError::Conflict(
            "Billing is not configured: offers need Stripe (STRIPE_SECRET_KEY).".to_owned(),
        ));
    };
    let discount = read_discount(setup, &draft.discount).await?;
    let id = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let on_sale = tiers::price(conn, draft.stripe_price_id.as_str())?
                .is_some_and(|p| p.status == PriceStatus::Active);
            if !on_sale {
                return Ok(Err(CatalogueError::Invalid(InvalidInput::new(
                    "stripe_price_id",
                    "an offer discounts a price on sale in the catalogue (an active price of a tier)",
                ))));
            }
            if stored::code_taken(conn, draft.code.as_str())? {
                return Ok(Err(CatalogueError::Conflict(format!(
                    "Another offer has the code {}.",
                    draft.code
                ))));
            }
            let label = discount.label();
            let id = stored::insert(
                conn,
                &NewOffer {
                    code: draft.code.as_str(),
                    name: &draft.name,
                    stripe_price_id: draft.stripe_price_id.as_str(),
                    stripe_coupon_id: draft.discount.coupon(),
                    stripe_promotion_code_id: draft.discount.promotion_code(),
                    discount_label: &label,
                    ends_at: discount.ends_at,
                    active: draft.active,
                    created_at: db::now(),
                },
            )?;
            anyhow::Ok(Ok(id))
        })
    })
    .await??;
    changed(state, actor, "offer created");
    get(state, actor, id).await
}

async fn read_discount(
    setup: &crate::stripe::BillingSetup,
    discount: &DiscountRef,
) -> Result<Discount, CatalogueError> {
    let field = if discount.coupon().is_some() {
        "coupon"
    } else {
        "promotion_code"
    };
    let found = setup
        .client
        .discount(discount)
        .await
        .map_err(CatalogueError::StripeDown)?;
    let Some(found) = found else {
        return Err(InvalidInput::new(field, format!("the Stripe account has no such {field}")).into());
    };
    if !found.redeemable {
        return Err(InvalidInput::new(
            field,
            format!("Stripe no longer accepts this {field} (expired, used up or switched off)"),
        )
        .into());
    }
    Ok(found)
}

/// Renames an offer or switches its link off (`active: false`) or on.
pub async fn update(
    state: &AppState,
    actor: Actor,
    id: i32,
    name: Option<String>,
    active: Option<bool>,
) -> Result<StoredOffer, CatalogueError> {
    admin_only(actor)?;
    let found = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            if stored::find(conn, id)?.is_none() {
                return Ok(false);
            }
            stored::update(conn, id, name.as_deref(), active)?;
            anyhow::Ok(true)
        })
    })
    .await?;
    if !found {
        return Err(CatalogueError::NotFound("There is no offer with that id."));
    }
    changed(state, actor, "offer changed");
    get(state, actor, id).await
}

/// Deletes an offer: its link stops working. Readers who used it keep their
/// discount (it is Stripe's, on their subscription).
pub async fn delete(state: &AppState, actor: Actor, id: i32) -> Result<(), CatalogueError> {
    admin_only(actor)?;
    let deleted = db::run(&state.pool, move |conn| Ok(stored::delete(conn, id)?)).await?;
    if deleted == 0 {
        return Err(CatalogueError::NotFound("There is no offer with that id."));
    }
    changed(state, actor, "offer deleted");
    Ok(())
}

/// An offer a reader may take now, with what it is an offer of.
#[derive(Debug, Clone)]
pub struct OpenOffer {
    pub offer: StoredOffer,
    pub discount: DiscountRef,
    pub tier: StoredTier,
    pub price: StoredPrice,
}

/// What `/offer/{code}` shows.
#[derive(Debug, Clone)]
pub enum OfferLookup {
    Open(Box<OpenOffer>),
    /// Switched off, past its end, or its price is no longer sold.
    Ended,
    Unknown,
}

/// A price whose details were never read is read from Stripe now, as on
/// `/subscribe`.
pub async fn lookup(state: &AppState, code: &str) -> anyhow::Result<OfferLookup> {
    let mut found = read_offer(state, code).await?;
    if let OfferLookup::Open(open) = &mut found
        && open.price.details.is_none()
    {
        open.price.details = super::fetch_and_store(state, &open.price.stripe_price_id).await;
    }
    Ok(found)
}

async fn read_offer(state: &AppState, code: &str) -> anyhow::Result<OfferLookup> {
    let code = code.to_owned();
    db::run(&state.pool, move |conn| {
        let Some(offer) = stored::find_by_code(conn, &code)? else {
            return Ok(OfferLookup::Unknown);
        };
        let ended = !offer.active || offer.ends_at.is_some_and(|end| end <= db::now());
        let price = tiers::price(conn, &offer.stripe_price_id)?.filter(|p| p.status == PriceStatus::Active);
        let tier = match &price {
            Some(price) => tiers::find(conn, price.tier_id)?.filter(|t| t.active),
            None => None,
        };
        let discount = DiscountRef::from_stored(
            offer.stripe_coupon_id.clone(),
            offer.stripe_promotion_code_id.clone(),
        );
        Ok(match (ended, price, tier, discount) {
            (false, Some(price), Some(tier), Some(discount)) => OfferLookup::Open(Box::new(OpenOffer {
                offer,
                discount,
                tier,
                price,
            })),
            _ => OfferLookup::Ended,
        })
    })
    .await
}
