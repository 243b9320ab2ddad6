//! Gift subscriptions: anyone buys N months of a tier for someone else with a
//! one-time Checkout payment. When Stripe says it is paid, the buyer gets the
//! redeem link (and the recipient too, on the buyer's date); redeeming it
//! grants a comp of that tier; a refund revokes an unredeemed gift or ends
//! the comp. The redeem code is a signed token over the gift's id, so no
//! secret is stored and a scheduled email can carry it.

use std::net::IpAddr;

use stripe_shared::CheckoutSession;

use crate::{
    catalogue,
    config::Config,
    db::{
        self, DbConnection,
        gift_subscriptions::{self as stored, NewGift, StoredGift},
        members::NewComp,
    },
    domain::{
        InvalidInput,
        gift_subscription::{GiftOption, GiftOrder, GiftStatus, gift_options, months_after, months_label},
    },
    mail::compose::Transactional,
    newsletter,
    security::{
        signed::{SigningKey, parse_redeem_code, redeem_code},
        throttle::RetryAfter,
    },
    state::AppState,
    stripe::{BillingSetup, GiftCheckout},
};

#[derive(Debug, thiserror::Error)]
pub enum GiftSubscriptionError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// Orders count against the per-network sign-up limit: each writes a
    /// row and opens a Checkout, and anyone may place one.
    #[error("too many orders from this network")]
    Throttled(RetryAfter),
    #[error("Stripe could not be reached: {0:#}")]
    StripeDown(anyhow::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A tier that can be given, and the gifts it comes in.
#[derive(Debug, Clone)]
pub struct GiftableTier {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub options: Vec<GiftOption>,
}

/// What `/gift` offers: each tier on sale with a monthly or yearly price,
/// priced from those prices.
pub async fn giftable(state: &AppState) -> anyhow::Result<Vec<GiftableTier>> {
    let tiers = catalogue::on_sale(state).await?;
    Ok(tiers
        .into_iter()
        .filter_map(|on_sale| {
            let details: Vec<_> = on_sale.prices.into_iter().filter_map(|p| p.details).collect();
            let options = gift_options(&details);
            (!options.is_empty()).then_some(GiftableTier {
                slug: on_sale.tier.slug,
                name: on_sale.tier.name,
                description: on_sale.tier.description,
                options,
            })
        })
        .collect())
}

/// Records the order as pending and opens Checkout for it; returns where
/// to send the buyer. The price is ours to compute, never the form's.
pub async fn buy(
    state: &AppState,
    setup: &BillingSetup,
    client: IpAddr,
    order: GiftOrder,
) -> Result<String, GiftSubscriptionError> {
    state
        .signup_throttle
        .check(client, order.buyer_email.as_str())
        .map_err(GiftSubscriptionError::Throttled)?;
    let tiers = giftable(state).await?;
    let chosen = tiers.iter().find(|t| t.slug == order.tier).and_then(|tier| {
        tier.options
            .iter()
            .find(|o| o.months == order.months && o.currency == order.currency)
            .map(|option| (tier, option.clone()))
    });
    let Some((tier, option)) = chosen else {
        return Err(InvalidInput::new("option", "choose one of the gifts on this page").into());
    };
    let tier_slug = tier.slug.clone();
    let description = format!("{} of {}, a gift", months_label(option.months), tier.name);
    let (kept, amount, currency) = (order.clone(), option.amount, option.currency.clone());
    let gift_id = db::run(&state.pool, move |conn| {
        let tier_id = db::tiers::id_by_slug(conn, &tier_slug)?.context_missing()?;
        Ok(stored::insert(
            conn,
            &NewGift {
                tier_id,
                months: i32::try_from(kept.months).unwrap_or(i32::MAX),
                currency: &currency,
                amount,
                buyer_email: kept.buyer_email.as_str(),
                buyer_name: &kept.buyer_name,
                recipient_email: kept.recipient_email.as_ref().map(|e| e.as_str()),
                message: &kept.message,
                deliver_at: kept.deliver_at,
                status: GiftStatus::Pending.as_str(),
                created_at: db::now(),
            },
        )?)
    })
    .await?;
    let started = setup
        .client
        .gift_checkout(&GiftCheckout {
            gift_id,
            buyer_email: order.buyer_email.as_str(),
            description: &description,
            currency: &option.currency,
            amount: option.amount,
        })
        .await
        .map_err(GiftSubscriptionError::StripeDown)?;
    let session_id = started.session_id.clone();
    db::run(&state.pool, move |conn| {
        Ok(stored::set_checkout_session(conn, gift_id, &session_id)?)
    })
    .await?;
    tracing::info!(
        gift_id,
        months = order.months,
        "gift subscription checkout opened"
    );
    Ok(started.url)
}

trait MissingTier<T> {
    fn context_missing(self) -> anyhow::Result<T>;
}

impl<T> MissingTier<T> for Option<T> {
    fn context_missing(self) -> anyhow::Result<T> {
        self.ok_or_else(|| anyhow::anyhow!("the tier was deleted while the gift was ordered"))
    }
}

/// What became of a completed gift Checkout (inside the webhook's transaction).
#[derive(Debug, PartialEq, Eq)]
pub enum PaymentNews {
    Paid,
    /// Already recorded (a redelivery), or not paid yet.
    NothingToDo,
    /// Not the session we opened for this gift, or not what it costs.
    Refused(&'static str),
}

/// Marks a gift paid and queues its emails: the link to the buyer now, and
/// to the recipient on the buyer's date.
pub fn paid(
    conn: &mut DbConnection,
    config: &Config,
    key: &SigningKey,
    gift_id: i32,
    session: &CheckoutSession,
) -> anyhow::Result<PaymentNews> {
    let Some(gift) = stored::find(conn, gift_id)? else {
        return Ok(PaymentNews::Refused("no such gift"));
    };
    if gift.checkout_session_id.as_deref() != Some(session.id.as_str()) {
        return Ok(PaymentNews::Refused(
            "not the Checkout Session opened for this gift",
        ));
    }
    if session.payment_status != stripe_shared::CheckoutSessionPaymentStatus::Paid {
        return Ok(PaymentNews::NothingToDo);
    }
    let currency = session.currency.as_ref().map(ToString::to_string);
    if session.amount_subtotal != Some(gift.amount) || currency.as_deref() != Some(gift.currency.as_str()) {
        return Ok(PaymentNews::Refused("the amount paid is not the gift's price"));
    }
    let payment_intent = session.payment_intent.as_ref().map(|p| p.id().to_string());
    if stored::mark_paid(conn, gift_id, payment_intent.as_deref(), db::now())? == 0 {
        return Ok(PaymentNews::NothingToDo);
    }
    let gift_name = describe(conn, &gift)?;
    let url = config.url_for(&format!("/redeem/{}", redeem_code(key, gift_id)));
    let site = crate::domain::settings::Publication::new(crate::publication::stored(conn, config)?);
    let delivery = match (&gift.recipient_email, gift.deliver_at) {
        (Some(to), Some(at)) => format!("We will email it to {to} on {}.", site.date(at)),
        (Some(to), None) => format!("We have emailed it to {to} too."),
        (None, _) => "Forward this email, or the link, to the person it is for.".to_owned(),
    };
    newsletter::enqueue(
        conn,
        config,
        &gift.buyer_email,
        &Transactional::GiftBought {
            url: url.clone(),
            gift: gift_name.clone(),
            delivery,
        },
    )?;
    if let Some(recipient) = &gift.recipient_email {
        let from = if gift.buyer_name.is_empty() {
            "Someone".to_owned()
        } else {
            gift.buyer_name.clone()
        };
        let email = Transactional::GiftReceived {
            url,
            gift: gift_name,
            from,
            message: gift.message.clone(),
        };
        newsletter::enqueue_at(conn, config, recipient, &email, gift.deliver_at)?;
    }
    tracing::info!(gift_id, "gift subscription paid");
    Ok(PaymentNews::Paid)
}

/// "6 months of Gold".
fn describe(conn: &mut DbConnection, gift: &StoredGift) -> anyhow::Result<String> {
    let tier = db::tiers::find(conn, gift.tier_id)?.map_or_else(|| "a subscription".to_owned(), |t| t.name);
    Ok(format!(
        "{} of {tier}",
        months_label(u32::try_from(gift.months).unwrap_or(1))
    ))
}

/// A full refund of a gift's payment (inside the webhook's transaction):
/// an unredeemed gift is revoked; a redeemed one's comp ends now. Returns
/// false when the payment is not a gift's.
pub fn refunded(conn: &mut DbConnection, payment_intent_id: &str) -> anyhow::Result<bool> {
    let Some(gift) = stored::by_payment_intent(conn, payment_intent_id)? else {
        return Ok(false);
    };
    stored::mark_revoked(conn, gift.id)?;
    if let Some(comp_id) = gift.comp_id {
        db::members::end_comp(conn, comp_id, db::now())?;
    }
    tracing::info!(gift_id = gift.id, "gift subscription refunded and revoked");
    Ok(true)
}

/// A gift as its redeem page shows it.
#[derive(Debug, Clone)]
pub struct GiftView {
    pub id: i32,
    /// "6 months of Gold"
    pub gift: String,
    /// The buyer's name, if they gave one.
    pub from: Option<String>,
    pub message: String,
    pub status: GiftStatus,
}

/// The gift behind a redeem code; `None` for a code this server never made
/// (checked before any query) or a gift that is gone.
pub async fn lookup(state: &AppState, code: &str) -> anyhow::Result<Option<GiftView>> {
    let Some(id) = parse_redeem_code(&state.signing_key, code) else {
        return Ok(None);
    };
    db::run(&state.pool, move |conn| {
        let Some(gift) = stored::find(conn, id)? else {
            return Ok(None);
        };
        let Some(status) = gift.status() else {
            return Ok(None);
        };
        Ok(Some(GiftView {
            id,
            gift: describe(conn, &gift)?,
            from: (!gift.buyer_name.is_empty()).then(|| gift.buyer_name.clone()),
            message: gift.message.clone(),
            status,
        }))
    })
    .await
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RedeemError {
    #[error("this gift link is not one of ours")]
    Unknown,
    #[error("this gift has not been paid for yet")]
    NotPaid,
    #[error("this gift has been redeemed already")]
    AlreadyRedeemed,
    #[error("this gift was refunded, so it can no longer be redeemed")]
    Revoked,
}

/// A redeemed gift: what it gives and until when.
#[derive(Debug, Clone)]
pub struct Redeemed {
    pub gift: String,
    pub until: time::PrimitiveDateTime,
}

/// Redeems a gift for a member: one comp of the gift's tier for its months,
/// from now. Single use: of two concurrent redemptions exactly one wins.
pub async fn redeem(
    state: &AppState,
    code: &str,
    user_id: i32,
) -> anyhow::Result<Result<Redeemed, RedeemError>> {
    let Some(id) = parse_redeem_code(&state.signing_key, code) else {
        return Ok(Err(RedeemError::Unknown));
    };
    let outcome = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let Some(gift) = stored::find(conn, id)? else {
                return Ok(Err(RedeemError::Unknown));
            };
            if stored::mark_redeemed(conn, id)? == 0 {
                let refusal = match gift.status() {
                    Some(GiftStatus::Pending) => RedeemError::NotPaid,
                    Some(GiftStatus::Revoked) => RedeemError::Revoked,
                    _ => RedeemError::AlreadyRedeemed,
                };
                return Ok(Err(refusal));
            }
            let now = db::now();
            let until = months_after(now, u32::try_from(gift.months).unwrap_or(1));
            let reason = format!("gift subscription #{id} from {}", gift.buyer_email);
            let comp_id = NewComp {
                user_id,
                granted_by: None,
                expires_at: Some(until),
                reason: &reason,
                created_at: now,
                tier_id: Some(gift.tier_id),
            }
            .insert_returning_id(conn)?;
            stored::set_comp(conn, id, comp_id)?;
            let known = db::attributions::Known {
                gift_subscription_id: Some(id),
                ..Default::default()
            };
            let kind = crate::domain::attribution::AttributionKind::Paid;
            db::attributions::record(conn, user_id, kind, &Default::default(), known, now)?;
            anyhow::Ok(Ok(Redeemed {
                gift: describe(conn, &gift)?,
                until,
            }))
        })
    })
    .await?;
    if outcome.is_ok() {
        state.read_cache.clear();
        tracing::info!(gift_id = id, user_id, "gift subscription redeemed");
    }
    Ok(outcome)
}
