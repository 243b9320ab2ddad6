//! The price catalogue: the tiers a publication sells and the Stripe prices
//! of each. Admins manage it (admin API); `/subscribe` shows what is on
//! sale; billing asks it whether a new subscription is ours.
//!
//! Amounts are never typed in here: they are read from Stripe's price object
//! when a price is added (and refreshed by stripe-sync), so the page always
//! says what Stripe will charge.

pub mod offers;

use anyhow::Context;

use crate::{
    config::Config,
    db::{
        self, DbConnection,
        tiers::{self as stored, StoredPrice, StoredTier},
    },
    domain::{
        InvalidInput,
        editorial::Actor,
        slug::Slug,
        tier::{PriceDetails, PriceStatus, StripePriceId, TierDraft},
    },
    state::AppState,
    stripe::BillingSetup,
};

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(&'static str),
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// The change would strand readers or articles: say what to do instead.
    #[error("{0}")]
    Conflict(String),
    #[error("Stripe could not be reached: {0:#}")]
    StripeDown(anyhow::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A price to add to a tier.
#[derive(Debug, Clone)]
pub struct NewPrice {
    pub stripe_price_id: StripePriceId,
    pub status: PriceStatus,
    pub trial_days: Option<u32>,
}

/// Changes to one price; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct PriceChange {
    /// Move the price to the tier with this slug.
    pub tier: Option<Slug>,
    pub status: Option<PriceStatus>,
    /// `Some(None)` removes the trial.
    pub trial_days: Option<Option<u32>>,
}

/// On first start with `STRIPE_PRICE_MONTHLY`/`_YEARLY` set, the catalogue
/// begins as one tier holding them, so a publication configured before
/// tiers existed sells what it sold.
pub fn seed(conn: &mut DbConnection, config: &Config) -> anyhow::Result<()> {
    let configured: Vec<&String> = [&config.stripe_price_monthly, &config.stripe_price_yearly]
        .into_iter()
        .flatten()
        .collect();
    if configured.is_empty() {
        return Ok(());
    }
    db::write_transaction(conn, |conn| {
        if !stored::is_empty(conn)? {
            return Ok(());
        }
        let now = db::now();
        let draft = TierDraft {
            slug: Slug::parse("paid").expect("a valid slug"),
            name: "Paid".to_owned(),
            description: "Every post in full, on the site and in your inbox.".to_owned(),
            benefits: Vec::new(),
            active: true,
            position: 0,
        };
        let tier_id = stored::insert(conn, &draft, now)?;
        for price_id in configured {
            if !stored::in_catalogue(conn, price_id)? {
                stored::insert_price(conn, tier_id, price_id, PriceStatus::Active, None, None, now)?;
            }
        }
        anyhow::Ok(())
    })
    .context("seeding the price catalogue from STRIPE_PRICE_MONTHLY and STRIPE_PRICE_YEARLY")
}

/// Every tier with its prices, for staff (who gate articles by tier).
pub async fn list(state: &AppState, actor: Actor) -> Result<Vec<StoredTier>, CatalogueError> {
    if !actor.role.is_staff() {
        return Err(CatalogueError::Forbidden("Only staff read the tiers."));
    }
    Ok(db::run(&state.pool, |conn| Ok(stored::list(conn)?)).await?)
}

pub async fn get(state: &AppState, actor: Actor, id: i32) -> Result<StoredTier, CatalogueError> {
    if !actor.role.is_staff() {
        return Err(CatalogueError::Forbidden("Only staff read the tiers."));
    }
    db::run(&state.pool, move |conn| Ok(stored::find(conn, id)?))
        .await?
        .ok_or(CatalogueError::NotFound("There is no tier with that id."))
}

pub(crate) fn admin_only(actor: Actor) -> Result<(), CatalogueError> {
    if actor.role.can_change_settings() {
        Ok(())
    } else {
        Err(CatalogueError::Forbidden("Only admins change the tiers."))
    }
}

/// Creates a tier with its first prices (each read from Stripe).
pub async fn create(
    state: &AppState,
    actor: Actor,
    draft: TierDraft,
    prices: Vec<NewPrice>,
) -> Result<StoredTier, CatalogueError> {
    admin_only(actor)?;
    let details = read_from_stripe(state, &prices).await?;
    let id = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            if stored::slug_taken_by_other(conn, draft.slug.as_str(), None)? {
                return Ok(Err(slug_taken(&draft.slug)));
            }
            let now = db::now();
            let id = stored::insert(conn, &draft, now)?;
            for (price, details) in prices.iter().zip(&details) {
                if let Err(e) = add_price_in(conn, id, price, details.as_ref())? {
                    return Ok(Err(e));
                }
            }
            anyhow::Ok(Ok(id))
        })
    })
    .await??;
    changed(state, actor, "tier created");
    get(state, actor, id).await
}

/// Replaces a tier's description (slug, name, text, benefits, order, on sale).
pub async fn update(
    state: &AppState,
    actor: Actor,
    id: i32,
    edit: impl FnOnce(TierDraft) -> Result<TierDraft, InvalidInput> + Send + 'static,
) -> Result<StoredTier, CatalogueError> {
    admin_only(actor)?;
    db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let Some(tier) = stored::find(conn, id)? else {
                return Ok(Err(CatalogueError::NotFound("There is no tier with that id.")));
            };
            let draft = match edit(draft_of(&tier)) {
                Ok(draft) => draft,
                Err(invalid) => return Ok(Err(invalid.into())),
            };
            if stored::slug_taken_by_other(conn, draft.slug.as_str(), Some(id))? {
                return Ok(Err(slug_taken(&draft.slug)));
            }
            stored::update(conn, id, &draft, db::now())?;
            anyhow::Ok(Ok(()))
        })
    })
    .await??;
    changed(state, actor, "tier changed");
    get(state, actor, id).await
}

/// Deletes a tier nobody depends on; one with subscribers or gated
/// articles is taken off sale instead (`active: false`).
pub async fn delete(state: &AppState, actor: Actor, id: i32) -> Result<(), CatalogueError> {
    admin_only(actor)?;
    db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            if stored::find(conn, id)?.is_none() {
                return Ok(Err(CatalogueError::NotFound("There is no tier with that id.")));
            }
            let (subscribers, articles) = stored::in_use(conn, id)?;
            let gifts = db::gift_subscriptions::of_tier(conn, id)?;
            if subscribers > 0 || articles > 0 || gifts > 0 {
                return Ok(Err(CatalogueError::Conflict(format!(
                    "This tier has {subscribers} subscription(s), {articles} article(s) gated to it and \
                     {gifts} gift subscription(s); take it off sale with \"active\": false instead."
                ))));
            }
            let price_ids: Vec<String> = stored::find(conn, id)?
                .map(|tier| tier.prices.into_iter().map(|p| p.stripe_price_id).collect())
                .unwrap_or_default();
            if let Some(conflict) = offers_in_the_way(conn, &price_ids)? {
                return Ok(Err(conflict));
            }
            stored::delete(conn, id)?;
            anyhow::Ok(Ok(()))
        })
    })
    .await??;
    changed(state, actor, "tier deleted");
    Ok(())
}

/// Adds a Stripe price to a tier, reading what it charges from Stripe.
pub async fn add_price(
    state: &AppState,
    actor: Actor,
    tier_id: i32,
    price: NewPrice,
) -> Result<StoredTier, CatalogueError> {
    admin_only(actor)?;
    let details = read_from_stripe(state, std::slice::from_ref(&price)).await?;
    db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            if stored::find(conn, tier_id)?.is_none() {
                return Ok(Err(CatalogueError::NotFound("There is no tier with that id.")));
            }
            add_price_in(conn, tier_id, &price, details[0].as_ref())
        })
    })
    .await??;
    changed(state, actor, "price added");
    get(state, actor, tier_id).await
}

fn add_price_in(
    conn: &mut DbConnection,
    tier_id: i32,
    price: &NewPrice,
    details: Option<&PriceDetails>,
) -> anyhow::Result<Result<(), CatalogueError>> {
    let id = price.stripe_price_id.as_str();
    if stored::in_catalogue(conn, id)? {
        return Ok(Err(CatalogueError::Conflict(format!(
            "Price {id} is in the catalogue already; move it with PATCH /admin/api/prices/{id}."
        ))));
    }
    let trial = price.trial_days.map(|d| d as i32);
    stored::insert_price(conn, tier_id, id, price.status, trial, details, db::now())?;
    Ok(Ok(()))
}

/// Moves a price to another tier, puts it on sale or makes it legacy, or
/// changes its trial. Returns the tier it ends in.
pub async fn change_price(
    state: &AppState,
    actor: Actor,
    price_id: StripePriceId,
    change: PriceChange,
) -> Result<StoredTier, CatalogueError> {
    admin_only(actor)?;
    let tier_id = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let Some(price) = stored::price(conn, price_id.as_str())? else {
                return Ok(Err(not_in_catalogue()));
            };
            let tier_id = match &change.tier {
                None => price.tier_id,
                Some(slug) => match stored::id_by_slug(conn, slug.as_str())? {
                    Some(id) => id,
                    None => {
                        return Ok(Err(
                            InvalidInput::new("tier", format!("there is no tier {slug}")).into()
                        ));
                    }
                },
            };
            let trial = match change.trial_days {
                None => price.trial_days,
                Some(days) => days.map(|d| d as i32),
            };
            let status = change.status.unwrap_or(price.status);
            stored::update_price(conn, price_id.as_str(), tier_id, status, trial)?;
            anyhow::Ok(Ok(tier_id))
        })
    })
    .await??;
    changed(state, actor, "price changed");
    get(state, actor, tier_id).await
}

/// Removes a price nobody subscribes on; one with subscriptions becomes
/// `legacy` instead, or its readers' subscriptions would stop counting.
pub async fn remove_price(
    state: &AppState,
    actor: Actor,
    price_id: StripePriceId,
) -> Result<(), CatalogueError> {
    admin_only(actor)?;
    db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            if stored::price(conn, price_id.as_str())?.is_none() {
                return Ok(Err(not_in_catalogue()));
            }
            let subscriptions = stored::subscriptions_on_price(conn, price_id.as_str())?;
            if subscriptions > 0 {
                return Ok(Err(CatalogueError::Conflict(format!(
                    "{subscriptions} subscription(s) are on this price; make it \"legacy\" instead \
                     so they keep counting."
                ))));
            }
            if let Some(conflict) = offers_in_the_way(conn, &[price_id.as_str().to_owned()])? {
                return Ok(Err(conflict));
            }
            stored::delete_price(conn, price_id.as_str())?;
            anyhow::Ok(Ok(()))
        })
    })
    .await??;
    changed(state, actor, "price removed");
    Ok(())
}

/// The Billing Portal configuration that lets subscribers switch between
/// the catalogue's prices on sale, made in Stripe when the catalogue changed
/// since the last one (a new configuration each time: what Stripe keeps of
/// the old one harms nothing). `None` while no price on sale has a known
/// product, or when Stripe refuses: the account's default portal then.
pub async fn portal_configuration(state: &AppState, setup: &BillingSetup) -> Option<String> {
    let read = async {
        let tiers = on_sale(state).await?;
        let stored_object = db::run(&state.pool, |conn| {
            Ok(db::stripe_objects::find(
                conn,
                db::stripe_objects::PORTAL_CONFIGURATION,
            )?)
        })
        .await?;
        anyhow::Ok((tiers, stored_object))
    };
    let (tiers, stored_object) = match read.await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = ?e, "reading the catalogue for the portal");
            return None;
        }
    };
    let products = portal_products(&tiers);
    if products.is_empty() {
        return None;
    }
    let fingerprint = serde_json::to_string(&products).unwrap_or_default();
    if let Some((id, made_from)) = stored_object
        && made_from == fingerprint
    {
        return Some(id);
    }
    match setup.client.create_portal_configuration(&products).await {
        Ok(id) => {
            let kept = (id.clone(), fingerprint);
            let stored_ok = db::run(&state.pool, move |conn| {
                let name = db::stripe_objects::PORTAL_CONFIGURATION;
                Ok(db::stripe_objects::store(
                    conn,
                    name,
                    &kept.0,
                    &kept.1,
                    db::now(),
                )?)
            })
            .await;
            if let Err(e) = stored_ok {
                tracing::warn!(error = ?e, "storing the portal configuration");
            }
            Some(id)
        }
        Err(e) => {
            tracing::warn!(error = ?e, "configuring the Billing Portal from the catalogue");
            None
        }
    }
}

/// The products of the recurring prices on sale, each with those prices, in
/// a stable order (the fingerprint compares them).
fn portal_products(tiers: &[TierOnSale]) -> Vec<crate::stripe::PortalProduct> {
    let mut by_product: std::collections::BTreeMap<String, Vec<String>> = std::collections::BTreeMap::new();
    for price in tiers.iter().flat_map(|t| &t.prices) {
        let recurring = price.details.as_ref().filter(|d| d.interval.is_some());
        if let Some(product) = recurring.and_then(|d| d.product.clone()) {
            by_product
                .entry(product)
                .or_default()
                .push(price.stripe_price_id.clone());
        }
    }
    by_product
        .into_iter()
        .map(|(product, mut prices)| {
            prices.sort();
            crate::stripe::PortalProduct { product, prices }
        })
        .collect()
}

/// A price an offer discounts stays until the offer goes (its link would
/// break); the offer may be switched off instead of the price.
fn offers_in_the_way(
    conn: &mut DbConnection,
    price_ids: &[String],
) -> anyhow::Result<Option<CatalogueError>> {
    let offers = db::offers::on_prices(conn, price_ids)?;
    Ok((offers > 0).then(|| {
        CatalogueError::Conflict(format!(
            "{offers} offer(s) discount this price; delete them first (DELETE /admin/api/offers/{{id}}) \
             or make the price \"legacy\"."
        ))
    }))
}

fn not_in_catalogue() -> CatalogueError {
    CatalogueError::NotFound("That price is not in the catalogue.")
}

fn slug_taken(slug: &Slug) -> CatalogueError {
    CatalogueError::Conflict(format!("Another tier has the slug {slug}."))
}

fn draft_of(tier: &StoredTier) -> TierDraft {
    TierDraft {
        slug: Slug::parse(&tier.slug).unwrap_or_else(|_| Slug::from_title(&tier.name)),
        name: tier.name.clone(),
        description: tier.description.clone(),
        benefits: tier.benefits.clone(),
        active: tier.active,
        position: tier.position,
    }
}

pub(crate) fn changed(state: &AppState, actor: Actor, what: &'static str) {
    state.read_cache.clear();
    tracing::info!(actor_id = actor.user_id, what, "catalogue changed");
}

/// What each price charges, from Stripe, in order. A price Stripe does not
/// know is refused; without billing configured nothing can be checked, so
/// the details stay unknown until stripe-sync reads them.
async fn read_from_stripe(
    state: &AppState,
    prices: &[NewPrice],
) -> Result<Vec<Option<PriceDetails>>, CatalogueError> {
    let Some(setup) = &state.billing else {
        return Ok(vec![None; prices.len()]);
    };
    let mut found = Vec::with_capacity(prices.len());
    for price in prices {
        let id = price.stripe_price_id.as_str();
        match setup.client.price(id).await {
            Ok(Some(details)) => found.push(Some(details)),
            Ok(None) => {
                return Err(InvalidInput::new(
                    "stripe_price_id",
                    format!("Stripe has no price {id} in this account"),
                )
                .into());
            }
            Err(e) => return Err(CatalogueError::StripeDown(e)),
        }
    }
    Ok(found)
}

/// A tier on sale and the prices a reader may choose in it.
#[derive(Debug, Clone)]
pub struct TierOnSale {
    pub tier: StoredTier,
    pub prices: Vec<PriceOnSale>,
}

#[derive(Debug, Clone)]
pub struct PriceOnSale {
    pub stripe_price_id: String,
    /// "$8 a month"; `None` when Stripe's price object could not be read.
    pub label: Option<String>,
    pub trial_days: Option<i32>,
    /// What Stripe charges; `None` when its price object could not be read.
    pub details: Option<PriceDetails>,
}

impl From<&StoredPrice> for PriceOnSale {
    fn from(price: &StoredPrice) -> Self {
        Self {
            stripe_price_id: price.stripe_price_id.clone(),
            label: price.details.as_ref().map(PriceDetails::label),
            trial_days: price.trial_days,
            details: price.details.clone(),
        }
    }
}

/// What `/subscribe` offers: active tiers with at least one active price.
/// Prices whose details were never read are read from Stripe now (and
/// stored); if Stripe does not answer they are offered without an amount.
pub async fn on_sale(state: &AppState) -> anyhow::Result<Vec<TierOnSale>> {
    let tiers = db::run(&state.pool, |conn| Ok(stored::list(conn)?)).await?;
    let mut offers = Vec::new();
    for tier in tiers.into_iter().filter(|t| t.active) {
        let mut prices = Vec::new();
        for price in tier.prices_on_sale() {
            let details = match &price.details {
                Some(details) => Some(details.clone()),
                None => fetch_and_store(state, &price.stripe_price_id).await,
            };
            prices.push(PriceOnSale {
                stripe_price_id: price.stripe_price_id.clone(),
                label: details.as_ref().map(PriceDetails::label),
                trial_days: price.trial_days,
                details,
            });
        }
        if !prices.is_empty() {
            offers.push(TierOnSale { tier, prices });
        }
    }
    Ok(offers)
}

pub(crate) async fn fetch_and_store(state: &AppState, price_id: &str) -> Option<PriceDetails> {
    let setup = state.billing.as_ref()?;
    match setup.client.price(price_id).await {
        Ok(Some(details)) => {
            let (id, kept) = (price_id.to_owned(), details.clone());
            let stored = db::run(&state.pool, move |conn| {
                Ok(stored::set_details(conn, &id, &kept, db::now())?)
            })
            .await;
            if let Err(e) = stored {
                tracing::warn!(error = ?e, price_id, "caching a Stripe price");
            }
            Some(details)
        }
        Ok(None) => {
            tracing::error!(price_id, "a price on sale is not in the Stripe account");
            None
        }
        Err(e) => {
            tracing::warn!(error = ?e, price_id, "reading a Stripe price");
            None
        }
    }
}

/// The price a reader chose, if it is on sale: an active price of an
/// active tier. A form may name a `plan` (monthly, yearly) instead: the
/// configured price of that name.
pub async fn price_for_checkout(
    state: &AppState,
    setup: &BillingSetup,
    price: Option<&str>,
    plan: Option<&str>,
) -> anyhow::Result<Option<StoredPrice>> {
    let Some(price_id) = price.or_else(|| plan.and_then(|p| setup.configured.for_plan(p))) else {
        return Ok(None);
    };
    let price_id = price_id.to_owned();
    db::run(&state.pool, move |conn| {
        let Some(price) = stored::price(conn, &price_id)? else {
            return Ok(None);
        };
        let tier_active = stored::find(conn, price.tier_id)?.is_some_and(|t| t.active);
        Ok((tier_active && price.status == PriceStatus::Active).then_some(price))
    })
    .await
}

/// "Gold, $8 a month" for a subscription's price, for the account page;
/// `None` for a price outside the catalogue. Details never read are read
/// from Stripe now.
pub async fn describe_price(state: &AppState, price_id: &str) -> anyhow::Result<Option<String>> {
    let id = price_id.to_owned();
    let found = db::run(&state.pool, move |conn| {
        let Some(price) = stored::price(conn, &id)? else {
            return Ok(None);
        };
        Ok(stored::find(conn, price.tier_id)?.map(|tier| (tier.name, price.details)))
    })
    .await?;
    let Some((tier_name, details)) = found else {
        return Ok(None);
    };
    let details = match details {
        Some(details) => Some(details),
        None => fetch_and_store(state, price_id).await,
    };
    Ok(Some(match details {
        Some(details) => format!("{tier_name}, {}", details.label()),
        None => tier_name,
    }))
}

/// stripe-sync's part: re-reads every catalogue price from Stripe so the
/// amounts shown follow a change made in the Stripe dashboard.
pub async fn refresh_details(state: &AppState, setup: &BillingSetup) -> anyhow::Result<usize> {
    let ids = db::run(&state.pool, |conn| Ok(stored::price_ids(conn)?)).await?;
    let mut refreshed = 0;
    for id in ids {
        match setup.client.price(&id).await? {
            Some(details) => {
                db::run(&state.pool, move |conn| {
                    Ok(stored::set_details(conn, &id, &details, db::now())?)
                })
                .await?;
                refreshed += 1;
            }
            None => tracing::warn!(price_id = %id, "a catalogue price is not in the Stripe account"),
        }
    }
    Ok(refreshed)
}

/// One price of the account, as `admin stripe-import-prices` lists it.
#[derive(Debug, Clone)]
pub struct AccountPrice {
    pub listed: crate::stripe::ListedPrice,
    /// The slug of the catalogue tier it is in already, if any.
    pub in_tier: Option<String>,
}

/// Every price of the connected account, and where each already is.
pub async fn account_prices(state: &AppState, setup: &BillingSetup) -> anyhow::Result<Vec<AccountPrice>> {
    let listed = setup.client.prices().await?;
    let tiers = db::run(&state.pool, |conn| Ok(stored::list(conn)?)).await?;
    Ok(listed
        .into_iter()
        .map(|listed| AccountPrice {
            in_tier: tiers
                .iter()
                .find(|t| t.prices.iter().any(|p| p.stripe_price_id == listed.id))
                .map(|t| t.slug.clone()),
            listed,
        })
        .collect())
}

/// Adds the account prices `ids` to the tier `slug` (created, named
/// `name`, when it does not exist) with `status`. All or nothing: an id the
/// account lacks, or one in the catalogue already, changes nothing.
pub async fn import_prices(
    state: &AppState,
    setup: &BillingSetup,
    slug: Slug,
    name: Option<String>,
    ids: Vec<StripePriceId>,
    status: PriceStatus,
) -> Result<StoredTier, CatalogueError> {
    let listed = setup.client.prices().await.map_err(CatalogueError::StripeDown)?;
    let mut chosen = Vec::with_capacity(ids.len());
    for id in &ids {
        let price = listed.iter().find(|p| p.id == id.as_str()).ok_or_else(|| {
            InvalidInput::new(
                "price",
                format!("the Stripe account has no price {}", id.as_str()),
            )
        })?;
        chosen.push((id.clone(), price.details.clone(), price.product_name.clone()));
    }
    let name = match name {
        Some(name) => Some(crate::domain::tier::tier_name(&name)?),
        None => None,
    };
    let tier_id = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let now = db::now();
            let tier_id = match stored::id_by_slug(conn, slug.as_str())? {
                Some(id) => id,
                None => {
                    let product = chosen.first().and_then(|(_, _, product)| product.clone());
                    let draft = TierDraft {
                        name: name.or(product).unwrap_or_else(|| slug.to_string()),
                        slug: slug.clone(),
                        description: String::new(),
                        benefits: Vec::new(),
                        active: true,
                        position: 0,
                    };
                    stored::insert(conn, &draft, now)?
                }
            };
            for (id, details, _) in &chosen {
                let price = NewPrice {
                    stripe_price_id: id.clone(),
                    status,
                    trial_days: None,
                };
                if let Err(e) = add_price_in(conn, tier_id, &price, Some(details))? {
                    return Ok(Err(e));
                }
            }
            anyhow::Ok(Ok(tier_id))
        })
    })
    .await??;
    state.read_cache.clear();
    db::run(&state.pool, move |conn| Ok(stored::find(conn, tier_id)?))
        .await?
        .ok_or(CatalogueError::NotFound("The tier is gone."))
}
