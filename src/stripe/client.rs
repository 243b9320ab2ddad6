//! The async-stripe client behind `Billing`. API version: the one
//! async-stripe 1.0.0-rc.10 pins (`2026-09-30.endive`).

use std::collections::HashMap;

use anyhow::Context;
use async_trait::async_trait;
use stripe_billing::{
    billing_portal_session::CreateBillingPortalSession,
    subscription::{ListSubscription, ListSubscriptionStatus, UpdateSubscription},
};
use stripe_checkout::checkout_session::{CreateCheckoutSession, CreateCheckoutSessionLineItems};
use stripe_core::customer::CreateCustomer;
use stripe_shared::{CheckoutSessionMode, Subscription};

use crate::stripe::{Billing, SubscriptionSnapshot, from_unix};
use crate::{config::Config, domain::subscription::SubscriptionStatus};

pub struct StripeBilling {
    client: stripe::Client,
    success_url: String,
    cancel_url: String,
    return_url: String,
}

impl StripeBilling {
    pub fn new(secret_key: &str, config: &Config) -> anyhow::Result<Self> {
        let client = stripe::ClientBuilder::new(secret_key)
            .url(config.stripe_api_base.clone())
            .build()
            .map_err(|e| anyhow::anyhow!("building the Stripe client: {e}"))?;
        Ok(Self {
            client,
            success_url: config.url_for("/account?checkout=success"),
            cancel_url: config.url_for("/subscribe?checkout=canceled"),
            return_url: config.url_for("/account"),
        })
    }
}

#[async_trait]
impl Billing for StripeBilling {
    async fn create_customer(&self, email: &str, user_id: i32) -> anyhow::Result<String> {
        let customer = CreateCustomer::new()
            .email(email)
            .metadata(HashMap::from([(
                "broadsheet_user_id".to_owned(),
                user_id.to_string(),
            )]))
            .send(&self.client)
            .await
            .context("creating a Stripe customer")?;
        Ok(customer.id.to_string())
    }

    async fn checkout_url(&self, customer_id: &str, user_id: i32, price_id: &str) -> anyhow::Result<String> {
        let line_item = CreateCheckoutSessionLineItems {
            price: Some(price_id.to_owned()),
            quantity: Some(1),
            ..Default::default()
        };
        let session = CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Subscription)
            .customer(customer_id)
            // Webhooks link the payment to our user by this, never by email.
            .client_reference_id(user_id.to_string())
            .line_items(vec![line_item])
            .success_url(self.success_url.clone())
            .cancel_url(self.cancel_url.clone())
            .send(&self.client)
            .await
            .context("creating a Stripe Checkout Session")?;
        session
            .url
            .context("Stripe returned a Checkout Session without a URL")
    }

    async fn portal_url(&self, customer_id: &str) -> anyhow::Result<String> {
        let session = CreateBillingPortalSession::new()
            .customer(customer_id)
            .return_url(self.return_url.clone())
            .send(&self.client)
            .await
            .context("creating a Stripe Billing Portal session")?;
        Ok(session.url)
    }

    async fn subscriptions(&self, customer_id: &str) -> anyhow::Result<Vec<SubscriptionSnapshot>> {
        let list = ListSubscription::new()
            .customer(customer_id)
            .status(ListSubscriptionStatus::All)
            .limit(100)
            .send(&self.client)
            .await
            .context("listing a customer's Stripe subscriptions")?;
        list.data.iter().map(snapshot).collect()
    }

    async fn cancel_at_period_end(&self, subscription_id: &str) -> anyhow::Result<()> {
        UpdateSubscription::new(subscription_id)
            .cancel_at_period_end(true)
            .send(&self.client)
            .await
            .with_context(|| format!("cancelling Stripe subscription {subscription_id} at period end"))?;
        Ok(())
    }
}

/// Our view of a Stripe subscription. The price and period end live on its
/// items in current API versions; we sell one-item subscriptions.
pub fn snapshot(subscription: &Subscription) -> anyhow::Result<SubscriptionSnapshot> {
    let item = subscription
        .items
        .data
        .first()
        .context("a subscription without items")?;
    Ok(SubscriptionSnapshot {
        id: subscription.id.to_string(),
        customer_id: subscription.customer.id().to_string(),
        status: SubscriptionStatus::parse(subscription.status.as_str())
            .map_err(|e| anyhow::anyhow!("subscription {}: {e}", subscription.id))?,
        price_id: item.price.id.to_string(),
        current_period_start: from_unix(item.current_period_start),
        current_period_end: from_unix(item.current_period_end),
        cancel_at_period_end: subscription.cancel_at_period_end,
    })
}
