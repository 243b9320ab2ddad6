//! `broadsheet admin stripe-adopt`: bringing the paying readers of a
//! publication that moved here (from Ghost or Substack) under Broadsheet's
//! billing, in the writer's own Stripe account where their subscriptions go
//! on renewing.
//!
//! Each imported paying reader is matched to their Stripe customer: by the
//! customer id the import kept (Ghost), else by their email (Substack rows
//! carry none). Email matching is for this explicit step only; webhooks keep
//! linking by our user id. The live subscriptions found are stored, their
//! prices added to the catalogue as legacy prices of a tier the admin names,
//! and the comp that stood in for a period paid elsewhere ends: from then on
//! the reader reads because they pay, and stops when they stop.

use crate::{
    billing::events::store,
    db::{self, billing, tiers},
    domain::{subscription::SubscriptionStatus, tier::PriceStatus},
    state::AppState,
    stripe::{BillingSetup, SubscriptionSnapshot},
};

/// What became (or would become) of one imported paying reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Linked to this customer and these live subscriptions.
    Matched {
        customer_id: String,
        subscriptions: Vec<SubscriptionSnapshot>,
    },
    /// Nothing to link: why.
    Unmatched(String),
    /// Several customers could be theirs: an operator must choose.
    Ambiguous(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderReport {
    pub user_id: i32,
    pub email: String,
    pub outcome: Outcome,
}

impl std::fmt::Display for ReaderReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.outcome {
            Outcome::Matched {
                customer_id,
                subscriptions,
            } => {
                let subs: Vec<String> = subscriptions
                    .iter()
                    .map(|s| format!("{} ({}, {})", s.id, s.price_id, s.status.as_str()))
                    .collect();
                write!(
                    f,
                    "matched    {} → {customer_id}: {}",
                    self.email,
                    subs.join(", ")
                )
            }
            Outcome::Unmatched(why) => write!(f, "unmatched  {}: {why}", self.email),
            Outcome::Ambiguous(customers) => write!(
                f,
                "ambiguous  {}: customers {} (link one by hand with its id)",
                self.email,
                customers.join(", ")
            ),
        }
    }
}

/// A subscription that is still being paid for (or in its trial, or
/// retrying a card): what a migrated reader keeps reading on.
fn is_live(status: SubscriptionStatus) -> bool {
    matches!(
        status,
        SubscriptionStatus::Active | SubscriptionStatus::Trialing | SubscriptionStatus::PastDue
    )
}

/// Finds every imported paying reader's customer and live subscriptions;
/// with `apply`, links them (one transaction), adding new prices to the tier
/// `tier_slug` as legacy. Without it nothing is written: the report says
/// what would happen.
pub async fn adopt(
    state: &AppState,
    setup: &BillingSetup,
    tier_slug: &str,
    apply: bool,
) -> anyhow::Result<Vec<ReaderReport>> {
    let slug = tier_slug.to_owned();
    let (tier_id, readers) = db::run(&state.pool, move |conn| {
        Ok((tiers::id_by_slug(conn, &slug)?, billing::imported_payers(conn)?))
    })
    .await?;
    let tier_id = tier_id.ok_or_else(|| {
        anyhow::anyhow!(
            "there is no tier {tier_slug}: create it first (POST /admin/api/tiers or stripe-import-prices)"
        )
    })?;
    let mut reports = Vec::with_capacity(readers.len());
    for (user_id, email, customer_id) in readers {
        let outcome = match_reader(setup, &email, customer_id).await?;
        reports.push(ReaderReport {
            user_id,
            email,
            outcome,
        });
    }
    if apply {
        let linked = reports.clone();
        let reports_after = db::run(&state.pool, move |conn| {
            db::write_transaction(conn, |conn| link_all(conn, tier_id, linked))
        })
        .await?;
        state.read_cache.clear();
        return Ok(reports_after);
    }
    Ok(reports)
}

async fn match_reader(
    setup: &BillingSetup,
    email: &str,
    customer_id: Option<String>,
) -> anyhow::Result<Outcome> {
    let customer_id = match customer_id {
        Some(id) => id,
        None => {
            let mut found = setup.client.customers_by_email(email).await?;
            match found.len() {
                0 => return Ok(Outcome::Unmatched("no Stripe customer has this email".into())),
                1 => found.remove(0),
                _ => {
                    // Several customers: one with live subscriptions is
                    // still not proof enough to choose.
                    return Ok(Outcome::Ambiguous(found));
                }
            }
        }
    };
    let live: Vec<SubscriptionSnapshot> = setup
        .client
        .subscriptions(&customer_id)
        .await?
        .into_iter()
        .filter(|s| is_live(s.status))
        .collect();
    if live.is_empty() {
        return Ok(Outcome::Unmatched(format!(
            "customer {customer_id} has no live subscription"
        )));
    }
    Ok(Outcome::Matched {
        customer_id,
        subscriptions: live,
    })
}

/// Writes every match; a customer another member holds already turns that
/// reader's report into `Ambiguous` rather than moving billing between
/// members.
fn link_all(
    conn: &mut db::DbConnection,
    tier_id: i32,
    reports: Vec<ReaderReport>,
) -> anyhow::Result<Vec<ReaderReport>> {
    let now = db::now();
    let mut after = Vec::with_capacity(reports.len());
    for mut report in reports {
        if let Outcome::Matched {
            customer_id,
            subscriptions,
        } = &report.outcome
        {
            match billing::user_by_customer(conn, customer_id)? {
                Some(owner) if owner.id != report.user_id => {
                    report.outcome = Outcome::Ambiguous(vec![format!(
                        "{customer_id} (already the customer of member {})",
                        owner.id
                    )]);
                    after.push(report);
                    continue;
                }
                Some(_) => {}
                None => {
                    billing::set_customer(conn, report.user_id, customer_id)?;
                }
            }
            for subscription in subscriptions {
                if !tiers::in_catalogue(conn, &subscription.price_id)? {
                    tiers::insert_price(
                        conn,
                        tier_id,
                        &subscription.price_id,
                        PriceStatus::Legacy,
                        None,
                        None,
                        now,
                    )?;
                }
                let stored = billing::subscription(conn, &subscription.id)?;
                store(conn, report.user_id, subscription, stored.as_ref(), now)?;
            }
            billing::end_paid_elsewhere_comps(conn, report.user_id)?;
        }
        after.push(report);
    }
    Ok(after)
}
