//! Stripe, the payment provider: Checkout and the Billing Portal through the
//! `Billing` trait (the async-stripe client in production, the same client
//! against a fake server in tests), the configured prices, and webhook
//! signatures. What the product does with Stripe's events is `billing`.

pub mod client;
pub mod signature;

use std::sync::Arc;

use async_trait::async_trait;
use secrecy::ExposeSecret;
use time::PrimitiveDateTime;

use crate::{config::Config, domain::subscription::SubscriptionStatus};

/// The plans we sell, each a configured Stripe price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Monthly,
    Yearly,
}

impl Plan {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "monthly" => Some(Plan::Monthly),
            "yearly" => Some(Plan::Yearly),
            _ => None,
        }
    }
}

/// The configured prices: a subscription we have not seen before counts only
/// on one of these. One we already store follows every event, whatever its
/// price (a reader who switched plans, a price no longer sold).
#[derive(Debug, Clone)]
pub struct Prices {
    pub monthly: String,
    pub yearly: String,
}

impl Prices {
    pub fn of(&self, plan: Plan) -> &str {
        match plan {
            Plan::Monthly => &self.monthly,
            Plan::Yearly => &self.yearly,
        }
    }

    pub fn sells(&self, price_id: &str) -> bool {
        price_id == self.monthly || price_id == self.yearly
    }

    pub fn plan_name(&self, price_id: &str) -> Option<&'static str> {
        if price_id == self.monthly {
            Some("Monthly")
        } else if price_id == self.yearly {
            Some("Yearly")
        } else {
            None
        }
    }
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
    async fn checkout_url(&self, customer_id: &str, user_id: i32, price_id: &str) -> anyhow::Result<String>;
    /// A Billing Portal session; returns its URL.
    async fn portal_url(&self, customer_id: &str) -> anyhow::Result<String>;
    /// Every subscription of a customer, as Stripe has it now.
    async fn subscriptions(&self, customer_id: &str) -> anyhow::Result<Vec<SubscriptionSnapshot>>;
    /// Stops a subscription renewing: it runs to the end of the period
    /// already paid for, then Stripe cancels it.
    async fn cancel_at_period_end(&self, subscription_id: &str) -> anyhow::Result<()>;
}

/// Billing as configured: the client, the prices, the webhook secrets.
#[derive(Clone)]
pub struct BillingSetup {
    pub client: Arc<dyn Billing>,
    pub prices: Prices,
}

impl BillingSetup {
    /// `None` unless the secret key and both prices are set.
    pub fn from_config(config: &Config) -> anyhow::Result<Option<Self>> {
        let (Some(secret), Some(monthly), Some(yearly)) = (
            &config.stripe_secret_key,
            &config.stripe_price_monthly,
            &config.stripe_price_yearly,
        ) else {
            return Ok(None);
        };
        let client = client::StripeBilling::new(secret.expose_secret(), config)?;
        Ok(Some(Self {
            client: Arc::new(client),
            prices: Prices {
                monthly: monthly.clone(),
                yearly: yearly.clone(),
            },
        }))
    }
}

/// Stripe timestamps are seconds since the epoch, in UTC.
pub fn from_unix(seconds: i64) -> Option<PrimitiveDateTime> {
    let at = time::OffsetDateTime::from_unix_timestamp(seconds).ok()?;
    Some(PrimitiveDateTime::new(at.date(), at.time()))
}
