//! The async-stripe client behind `Billing`. API version: the one
//! async-stripe 1.0.0-rc.10 pins (`2026-09-30.endive`).

use std::collections::HashMap;

use anyhow::Context;
use async_trait::async_trait;
use stripe_billing::{
    billing_portal_configuration::{
        CreateBillingPortalConfiguration, CreateBillingPortalConfigurationFeatures,
    },
    billing_portal_session::CreateBillingPortalSession,
    subscription::{ListSubscription, ListSubscriptionStatus, UpdateSubscription},
};
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionAutomaticTax, CreateCheckoutSessionCustomerCreation,
    CreateCheckoutSessionCustomerUpdate, CreateCheckoutSessionCustomerUpdateAddress,
    CreateCheckoutSessionCustomerUpdateName, CreateCheckoutSessionDiscounts, CreateCheckoutSessionLineItems,
    CreateCheckoutSessionLineItemsPriceData, CreateCheckoutSessionPaymentIntentData,
    CreateCheckoutSessionSubscriptionData, CreateCheckoutSessionTaxIdCollection, ProductData,
};
use stripe_core::{
    charge::RetrieveCharge,
    customer::{CreateCustomer, ListCustomer},
};
use stripe_product::{
    coupon::RetrieveCoupon,
    price::{ListPrice, RetrievePrice},
    promotion_code::RetrievePromotionCode,
};
use stripe_shared::{CheckoutSessionMode, Subscription};

use crate::stripe::{
    Billing, GIFT_METADATA_KEY, GiftCheckout, ListedPrice, PortalProduct, StartedCheckout,
    SubscriptionCheckout, SubscriptionSnapshot, TRAIL_METADATA_KEY, from_unix,
};
use crate::{
    config::Config,
    domain::{
        offer::{Discount, DiscountDuration, DiscountRef},
        subscription::SubscriptionStatus,
        tier::{Interval, PriceDetails},
    },
};

pub struct StripeBilling {
    client: stripe::Client,
    success_url: String,
    cancel_url: String,
    return_url: String,
    gift_success_url: String,
    gift_cancel_url: String,
    /// `STRIPE_AUTOMATIC_TAX`: Stripe Tax, with the address and tax ID it needs.
    automatic_tax: bool,
    /// `STRIPE_PROMOTION_CODES`: a field for a promotion code in Checkout.
    promotion_codes: bool,
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
            gift_success_url: config.url_for("/gift/thanks"),
            gift_cancel_url: config.url_for("/gift?checkout=canceled"),
            automatic_tax: config.stripe_automatic_tax,
            promotion_codes: config.stripe_promotion_codes,
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

    async fn checkout_url(&self, checkout: &SubscriptionCheckout<'_>) -> anyhow::Result<String> {
        let line_item = CreateCheckoutSessionLineItems {
            price: Some(checkout.price_id.to_owned()),
            quantity: Some(1),
            ..Default::default()
        };
        let mut request = CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Subscription)
            .customer(checkout.customer_id)
            // Webhooks link the payment to our user by this, never by email.
            .client_reference_id(checkout.user_id.to_string())
            .line_items(vec![line_item])
            .success_url(self.success_url.clone())
            .cancel_url(self.cancel_url.clone());
        if !checkout.trail.is_empty() {
            request = request.metadata(HashMap::from([(
                TRAIL_METADATA_KEY.to_owned(),
                checkout.trail.to_owned(),
            )]));
        }
        if self.automatic_tax {
            // Checkout saves the address and tax ID on our existing
            // customer, which Stripe requires for tax ID collection.
            let mut saves = CreateCheckoutSessionCustomerUpdate::new();
            saves.address = Some(CreateCheckoutSessionCustomerUpdateAddress::Auto);
            saves.name = Some(CreateCheckoutSessionCustomerUpdateName::Auto);
            request = with_tax(request).customer_update(saves);
        }
        match checkout.discount {
            // An offer's discount is applied for the reader.
            Some(discount) => {
                request = request.discounts(vec![CreateCheckoutSessionDiscounts {
                    coupon: discount.coupon().map(str::to_owned),
                    promotion_code: discount.promotion_code().map(str::to_owned),
                }]);
            }
            None if self.promotion_codes => request = request.allow_promotion_codes(true),
            None => {}
        }
        if let Some(days) = checkout.trial_days {
            request = request.subscription_data(CreateCheckoutSessionSubscriptionData {
                trial_period_days: Some(days),
                ..Default::default()
            });
        }
        let session = request
            .send(&self.client)
            .await
            .context("creating a Stripe Checkout Session")?;
        session
            .url
            .context("Stripe returned a Checkout Session without a URL")
    }

    async fn gift_checkout(&self, gift: &GiftCheckout<'_>) -> anyhow::Result<StartedCheckout> {
        let currency: stripe_types::Currency = gift
            .currency
            .parse()
            .map_err(|_| anyhow::anyhow!("{} is not a currency Stripe knows", gift.currency))?;
        let mut price = CreateCheckoutSessionLineItemsPriceData::new(currency);
        price.unit_amount = Some(gift.amount);
        price.product_data = Some(ProductData::new(gift.description));
        let line_item = CreateCheckoutSessionLineItems {
            price_data: Some(price),
            quantity: Some(1),
            ..Default::default()
        };
        let marker = HashMap::from([(GIFT_METADATA_KEY.to_owned(), gift.gift_id.to_string())]);
        let mut payment = CreateCheckoutSessionPaymentIntentData::new();
        // On the payment too, so a refund in the dashboard names the gift.
        payment.metadata = Some(marker.clone());
        let mut request = CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Payment)
            .customer_email(gift.buyer_email)
            .client_reference_id(format!("gift-{}", gift.gift_id))
            .metadata(marker)
            .payment_intent_data(payment)
            .line_items(vec![line_item])
            .success_url(self.gift_success_url.clone())
            .cancel_url(self.gift_cancel_url.clone());
        if self.automatic_tax {
            // Tax ID collection needs a customer to save it on.
            request = with_tax(request).customer_creation(CreateCheckoutSessionCustomerCreation::Always);
        }
        let session = request
            .send(&self.client)
            .await
            .context("creating a Stripe Checkout Session for a gift")?;
        let url = session
            .url
            .context("Stripe returned a Checkout Session without a URL")?;
        Ok(StartedCheckout {
            session_id: session.id.to_string(),
            url,
        })
    }

    async fn discount(&self, discount: &DiscountRef) -> anyhow::Result<Option<Discount>> {
        let found = match discount {
            DiscountRef::Coupon(id) => RetrieveCoupon::new(id.as_str())
                .send(&self.client)
                .await
                .map(|coupon| discount_of(&coupon, coupon.valid, None)),
            DiscountRef::PromotionCode(id) => {
                match RetrievePromotionCode::new(id.as_str())
                    .expand(vec!["promotion.coupon".to_owned()])
                    .send(&self.client)
                    .await
                {
                    Ok(code) => match &code.promotion.coupon {
                        Some(stripe_types::Expandable::Object(coupon)) => {
                            Ok(discount_of(coupon, code.active && coupon.valid, code.expires_at))
                        }
                        _ => anyhow::bail!("promotion code {id} has no coupon Stripe would show"),
                    },
                    Err(e) => Err(e),
                }
            }
        };
        match found {
            Ok(discount) => Ok(Some(discount)),
            Err(stripe::StripeError::Stripe(_, 404)) => Ok(None),
            Err(e) => Err(e).context("reading a Stripe discount"),
        }
    }

    async fn portal_url(&self, customer_id: &str, configuration: Option<&str>) -> anyhow::Result<String> {
        let mut request = CreateBillingPortalSession::new()
            .customer(customer_id)
            .return_url(self.return_url.clone());
        if let Some(configuration) = configuration {
            request = request.configuration(configuration);
        }
        let session = request
            .send(&self.client)
            .await
            .context("creating a Stripe Billing Portal session")?;
        Ok(session.url)
    }

    async fn create_portal_configuration(&self, products: &[PortalProduct]) -> anyhow::Result<String> {
        use stripe_billing::billing_portal_configuration::{
            CreateBillingPortalConfigurationFeaturesCustomerUpdate as CustomerUpdate,
            CreateBillingPortalConfigurationFeaturesCustomerUpdateAllowedUpdates as CustomerField,
            CreateBillingPortalConfigurationFeaturesSubscriptionCancel as Cancel,
            CreateBillingPortalConfigurationFeaturesSubscriptionCancelMode as CancelMode,
            CreateBillingPortalConfigurationFeaturesSubscriptionUpdate as Switch,
            CreateBillingPortalConfigurationFeaturesSubscriptionUpdateDefaultAllowedUpdates as SwitchWhat,
            CreateBillingPortalConfigurationFeaturesSubscriptionUpdateProrationBehavior as Proration,
            InvoiceListParam, PaymentMethodUpdateParam, SubscriptionUpdateProductParam,
        };
        let mut features = CreateBillingPortalConfigurationFeatures::new();
        let mut customer = CustomerUpdate::new(true);
        customer.allowed_updates = Some(vec![
            CustomerField::Email,
            CustomerField::Address,
            CustomerField::TaxId,
        ]);
        features.customer_update = Some(customer);
        features.invoice_history = Some(InvoiceListParam::new(true));
        features.payment_method_update = Some(PaymentMethodUpdateParam::new(true));
        let mut cancel = Cancel::new(true);
        // Cancelling keeps what was paid for: access runs to the period end.
        cancel.mode = Some(CancelMode::AtPeriodEnd);
        features.subscription_cancel = Some(cancel);
        let mut switch = Switch::new(true);
        switch.default_allowed_updates = Some(vec![SwitchWhat::Price]);
        switch.proration_behavior = Some(Proration::CreateProrations);
        switch.products = Some(
            products
                .iter()
                .map(|p| SubscriptionUpdateProductParam {
                    adjustable_quantity: None,
                    prices: p.prices.clone(),
                    product: p.product.clone(),
                })
                .collect(),
        );
        features.subscription_update = Some(switch);
        let configuration = CreateBillingPortalConfiguration::new(features)
            .default_return_url(self.return_url.clone())
            .name("Broadsheet: the price catalogue")
            .send(&self.client)
            .await
            .context("creating a Stripe Billing Portal configuration")?;
        Ok(configuration.id.to_string())
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

    async fn price(&self, price_id: &str) -> anyhow::Result<Option<PriceDetails>> {
        match RetrievePrice::new(price_id).send(&self.client).await {
            Ok(price) => Ok(Some(details(&price))),
            Err(stripe::StripeError::Stripe(_, 404)) => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading Stripe price {price_id}")),
        }
    }

    async fn prices(&self) -> anyhow::Result<Vec<ListedPrice>> {
        let mut listed = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut request = ListPrice::new()
                .limit(100)
                .expand(vec!["data.product".to_owned()]);
            if let Some(last) = &after {
                request = request.starting_after(last.clone());
            }
            let page = request
                .send(&self.client)
                .await
                .context("listing the account's Stripe prices")?;
            for price in &page.data {
                let product_name = match &price.product {
                    stripe_types::Expandable::Object(product) => Some(product.name.clone()),
                    stripe_types::Expandable::Id(_) => None,
                };
                listed.push(ListedPrice {
                    id: price.id.to_string(),
                    product_id: price.product.id().to_string(),
                    product_name,
                    active: price.active,
                    details: details(price),
                });
            }
            match page.data.last() {
                Some(last) if page.has_more => after = Some(last.id.to_string()),
                _ => return Ok(listed),
            }
        }
    }

    async fn customers_by_email(&self, email: &str) -> anyhow::Result<Vec<String>> {
        let list = ListCustomer::new()
            .email(email)
            .limit(10)
            .send(&self.client)
            .await
            .context("looking up Stripe customers by email")?;
        Ok(list.data.iter().map(|c| c.id.to_string()).collect())
    }

    async fn charge_customer(&self, charge_id: &str) -> anyhow::Result<Option<String>> {
        let charge = RetrieveCharge::new(charge_id)
            .send(&self.client)
            .await
            .with_context(|| format!("reading Stripe charge {charge_id}"))?;
        Ok(charge.customer.map(|c| c.id().to_string()))
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

/// Stripe Tax in Checkout: the billing address it follows, and a field for
/// a business's tax ID.
fn with_tax(request: CreateCheckoutSession) -> CreateCheckoutSession {
    request
        .automatic_tax(CreateCheckoutSessionAutomaticTax::new(true))
        .billing_address_collection(stripe_shared::CheckoutSessionBillingAddressCollection::Required)
        .tax_id_collection(CreateCheckoutSessionTaxIdCollection::new(true))
}

/// A coupon in our terms; `redeemable` and `expires_at` may be narrowed by
/// the promotion code over it.
fn discount_of(coupon: &stripe_shared::Coupon, redeemable: bool, expires_at: Option<i64>) -> Discount {
    let duration = match coupon.duration {
        stripe_shared::CouponDuration::Once => DiscountDuration::Once,
        stripe_shared::CouponDuration::Repeating => {
            DiscountDuration::Months(coupon.duration_in_months.unwrap_or(1))
        }
        _ => DiscountDuration::Forever,
    };
    let ends_at = [coupon.redeem_by, expires_at].into_iter().flatten().min();
    Discount {
        percent_off: coupon.percent_off,
        amount_off: coupon.amount_off.map(|amount| {
            (
                coupon
                    .currency
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                amount,
            )
        }),
        duration,
        redeemable,
        ends_at: ends_at.and_then(from_unix),
    }
}

/// What a Stripe price charges, in our terms.
fn details(price: &stripe_shared::Price) -> PriceDetails {
    let interval = price
        .recurring
        .as_ref()
        .and_then(|r| Interval::parse(r.interval.as_str()).ok());
    PriceDetails {
        currency: price.currency.to_string(),
        unit_amount: price.unit_amount,
        interval,
        interval_count: price
            .recurring
            .as_ref()
            .map_or(0, |r| u32::try_from(r.interval_count).unwrap_or(u32::MAX)),
        product: Some(price.product.id().to_string()),
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
