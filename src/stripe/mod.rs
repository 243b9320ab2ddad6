//! Stripe, the payment provider: Checkout and the Billing Portal through the
//! `Billing` trait (the async-stripe client in production, the same client
//! against a fake server in tests), prices as Stripe describes them, and webhook
//! signatures. What the product does with Stripe's events is `billing`.

pub mod client;
pub mod signature;

use std::sync::Arc;

use async_trait::async_trait;
use secrecy::ExposeSecret;
use time::PrimitiveDateTime;

use crate::{
    config::Config,
    domain::{
        offer::{Discount, DiscountRef},
        subscription::SubscriptionStatus,
        tier::PriceDetails,
    },
};

/// The two prices set in the configuration (`STRIPE_PRICE_MONTHLY`,
/// `STRIPE_PRICE_YEARLY`): on first start they become the default tier of the
/// catalogue, and a subscribe form that names a `plan` instead of a price
/// still means them. What is sold is the catalogue (`db::tiers`).
#[derive(Debug, Clone, Default)]
pub struct ConfiguredPrices {
    pub monthly: Option<String>,
    pub yearly: Option<String>,
}

impl ConfiguredPrices {
    /// The configured price a `plan` form field names (`monthly`, `yearly`).
    pub fn for_plan(&self, plan: &str) -> Option<&str> {
        match plan {
            "monthly" => self.monthly.as_deref(),
            "yearly" => self.yearly.as_deref(),
            _ => None,
        }
    }
}

/// A price in the connected account, for `admin stripe-import-prices`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPrice {
    pub id: String,
    pub product_id: String,
    pub product_name: Option<String>,
    pub active: bool,
    pub details: PriceDetails,
}

/// A subscription as Stripe describes it, in our terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionSnapshot {
    pub id: String,
    pub customer_id: String,
    pub status: SubscriptionStatus,
    pub price_id: String,
    pub current_period_start: Option<PrimitiveDateTime>,
    pub current_period_end: Option<PrimitiveDateTime>,
    pub cancel_at_period_end: bool,
}

/// What we ask of Stripe.
#[async_trait]
pub trait Billing: Send + Sync {
    /// A new customer for our user; returns its id.
    async fn create_customer(&self, email: &str, user_id: i32) -> anyhow::Result<String>;
    /// A Checkout Session in subscription mode; returns its URL.
    async fn checkout_url(&self, checkout: &SubscriptionCheckout<'_>) -> anyhow::Result<String>;
    /// A Billing Portal session, under `configuration` (else the account's
    /// default); returns its URL.
    async fn portal_url(&self, customer_id: &str, configuration: Option<&str>) -> anyhow::Result<String>;
    /// A Billing Portal configuration in which subscribers switch between
    /// these products' prices, update their card and address, see their
    /// invoices and cancel at the period end; returns its id.
    async fn create_portal_configuration(&self, products: &[PortalProduct]) -> anyhow::Result<String>;
    /// Every subscription of a customer, as Stripe has it now.
    async fn subscriptions(&self, customer_id: &str) -> anyhow::Result<Vec<SubscriptionSnapshot>>;
    /// Stops a subscription renewing: it runs to the end of the period
    /// already paid for, then Stripe cancels it.
    async fn cancel_at_period_end(&self, subscription_id: &str) -> anyhow::Result<()>;
    /// What a price charges; `None` when the account has no such price.
    async fn price(&self, price_id: &str) -> anyhow::Result<Option<PriceDetails>>;
    /// Every price of the account (each page followed), with its product's name.
    async fn prices(&self) -> anyhow::Result<Vec<ListedPrice>>;
    /// The ids of the account's customers with exactly this email (Stripe
    /// compares case-sensitively). Only `admin stripe-adopt` looks customers
    /// up by email; everything else links by our user id.
    async fn customers_by_email(&self, email: &str) -> anyhow::Result<Vec<String>>;
    /// The customer a charge was made to (a dispute names only its charge).
    async fn charge_customer(&self, charge_id: &str) -> anyhow::Result<Option<String>>;
    /// A coupon or promotion code as Stripe describes it now; `None` when
    /// the account has no such object.
    async fn discount(&self, discount: &DiscountRef) -> anyhow::Result<Option<Discount>>;
    /// A Checkout Session in payment mode for a gift subscription.
    async fn gift_checkout(&self, gift: &GiftCheckout<'_>) -> anyhow::Result<StartedCheckout>;
}

/// One product of the catalogue and its prices on sale, for the portal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct PortalProduct {
    pub product: String,
    pub prices: Vec<String>,
}

/// A one-time payment for a gift subscription. No customer: anyone may buy
/// one; Checkout asks for the card and the receipt goes to `buyer_email`.
#[derive(Debug, Clone, Copy)]
pub struct GiftCheckout<'a> {
    /// Our gift's id, sent as metadata: the webhook finds the gift by it.
    pub gift_id: i32,
    pub buyer_email: &'a str,
    /// "6 months of Gold, a gift"
    pub description: &'a str,
    pub currency: &'a str,
    pub amount: i64,
}

/// A Checkout Session Stripe opened: its id (the webhook names it) and where
/// to send the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedCheckout {
    pub session_id: String,
    pub url: String,
}

/// Checkout metadata key that marks a session as a gift purchase.
pub const GIFT_METADATA_KEY: &str = "broadsheet_gift_id";
/// Checkout metadata key of a subscription's trail, for attribution.
pub const TRAIL_METADATA_KEY: &str = "broadsheet_trail";

/// What a subscription Checkout is for.
#[derive(Debug, Clone, Copy)]
pub struct SubscriptionCheckout<'a> {
    pub customer_id: &'a str,
    /// Our user id, sent as `client_reference_id`: webhooks link the
    /// payment to the member by this, never by email.
    pub user_id: i32,
    pub price_id: &'a str,
    pub trial_days: Option<u32>,
    /// An offer's discount; without one, Checkout may take a typed
    /// promotion code (`STRIPE_PROMOTION_CODES`): Stripe refuses both.
    pub discount: Option<&'a DiscountRef>,
    /// The reader's encoded trail (`domain::attribution`), sent as metadata
    /// so the completed session says what brought the subscriber.
    pub trail: &'a str,
}

/// Billing as configured: the client and the configured prices.
#[derive(Clone)]
pub struct BillingSetup {
    pub client: Arc<dyn Billing>,
    pub configured: ConfiguredPrices,
}

impl BillingSetup {
    /// `None` unless the secret key is set.
    pub fn from_config(config: &Config) -> anyhow::Result<Option<Self>> {
        let Some(secret) = &config.stripe_secret_key else {
            return Ok(None);
        };
        let client = client::StripeBilling::new(secret.expose_secret(), config)?;
        Ok(Some(Self {
            client: Arc::new(client),
            configured: ConfiguredPrices {
                monthly: config.stripe_price_monthly.clone(),
                yearly: config.stripe_price_yearly.clone(),
            },
        }))
    }
}

/// Stripe timestamps are seconds since the epoch, in UTC.
pub fn from_unix(seconds: i64) -> Option<PrimitiveDateTime> {
    let at = time::OffsetDateTime::from_unix_timestamp(seconds).ok()?;
    Some(PrimitiveDateTime::new(at.date(), at.time()))
}
