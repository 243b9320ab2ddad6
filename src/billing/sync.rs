//! `broadsheet admin stripe-sync`: re-reads every known customer's
//! subscriptions from Stripe and fixes what drifted (a missed webhook, a
//! change made while the endpoint was down).

use indicatif::{ProgressBar, ProgressStyle};

use crate::{billing::events::store, stripe::BillingSetup};
use crate::{
    db::{self, billing},
    state::AppState,
};

/// One fixed difference, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub user_id: i32,
    pub subscription_id: String,
    pub before: Option<String>,
    pub after: String,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let before = self.before.as_deref().unwrap_or("missing");
        write!(
            f,
            "user {}: subscription {} {} → {}",
            self.user_id, self.subscription_id, before, self.after
        )
    }
}

/// Shows a progress bar past this many customers.
const PROGRESS_BAR_FROM: usize = 20;

pub async fn reconcile(state: &AppState, setup: &BillingSetup) -> anyhow::Result<Vec<Change>> {
    let customers = db::run(&state.pool, |conn| Ok(billing::customers(conn)?)).await?;
    let bar = if customers.len() >= PROGRESS_BAR_FROM {
        let bar = ProgressBar::new(customers.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} customers {msg}").expect("a valid template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut changes = Vec::new();
    for (user_id, customer_id) in customers {
        let snapshots = setup.client.subscriptions(&customer_id).await?;
        let prices = setup.prices.clone();
        let fixed = db::run(&state.pool, move |conn| {
            let mut fixed = Vec::new();
            db::write_transaction(conn, |conn| -> anyhow::Result<()> {
                for snapshot in &snapshots {
                    let stored = billing::subscription(conn, &snapshot.id)?;
                    // As for webhooks: the price decides only whether a
                    // subscription we do not know yet is ours.
                    if stored.is_none() && !prices.sells(&snapshot.price_id) {
                        continue;
                    }
                    let describe = |status: &str, end: Option<time::PrimitiveDateTime>, cancel: bool| {
                        format!(
                            "{status} until {}{}",
                            end.map_or("?".into(), crate::domain::time::rfc3339),
                            if cancel { " (cancels)" } else { "" }
                        )
                    };
                    let after = describe(
                        snapshot.status.as_str(),
                        snapshot.current_period_end,
                        snapshot.cancel_at_period_end,
                    );
                    let before = stored
                        .as_ref()
                        .map(|s| describe(&s.status, s.current_period_end, s.cancel_at_period_end));
                    if before.as_deref() != Some(after.as_str())
                        || stored.as_ref().is_some_and(|s| s.user_id != user_id)
                    {
                        // What Stripe says now is newer than any event we saw.
                        store(conn, user_id, snapshot, stored.as_ref(), db::now())?;
                        fixed.push(Change {
                            user_id,
                            subscription_id: snapshot.id.clone(),
                            before,
                            after,
                        });
                    }
                }
                Ok(())
            })?;
            Ok(fixed)
        })
        .await?;
        changes.extend(fixed);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(changes)
}
