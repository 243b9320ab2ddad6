//! stripe-sync: re-reads every known customer's subscriptions from Stripe
//! and fixes what drifted (a missed webhook, a change made while the
//! endpoint was down). Run by `broadsheet admin stripe-sync`, and by `serve`
//! on a schedule, one instance at a time.

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

/// Re-reads every known customer's subscriptions and fixes what drifted;
/// `progress` draws a bar on the terminal for long runs (the CLI).
pub async fn reconcile(
    state: &AppState,
    setup: &BillingSetup,
    progress: bool,
) -> anyhow::Result<Vec<Change>> {
    let customers = db::run(&state.pool, |conn| Ok(billing::customers(conn)?)).await?;
    let bar = if progress && customers.len() >= PROGRESS_BAR_FROM {
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
        let fixed = db::run(&state.pool, move |conn| {
            let mut fixed = Vec::new();
            db::write_transaction(conn, |conn| -> anyhow::Result<()> {
                for snapshot in &snapshots {
                    let stored = billing::subscription(conn, &snapshot.id)?;
                    // As for webhooks: the catalogue decides only whether a
                    // subscription we do not know yet is ours.
                    if stored.is_none() && !db::tiers::in_catalogue(conn, &snapshot.price_id)? {
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

/// The lease that makes the scheduled sync run on one instance at a time.
const LEASE: &str = "stripe-sync";

/// Runs the sync every `stripe_sync_secs` in `serve`. Every instance
/// ticks; the one that takes the lease (held for one interval) runs it, so
/// the account sees one sync per interval however many instances there are.
pub fn spawn_schedule(state: std::sync::Arc<AppState>) {
    let (Some(setup), secs) = (state.billing.clone(), state.config.stripe_sync_secs) else {
        return;
    };
    if secs == 0 {
        return;
    }
    let holder = format!(
        "instance-{}",
        hex::encode(&crate::security::token::random_bytes()[..8])
    );
    tokio::spawn(async move {
        let interval = std::time::Duration::from_secs(secs);
        // The first run waits one interval: a start is not a reason to
        // call Stripe, and restarts must not multiply syncs.
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(e) = run_if_ours(&state, &setup, &holder, secs).await {
                tracing::warn!(error = ?e, "the scheduled stripe-sync failed; it runs again next interval");
            }
        }
    });
}

/// One scheduled run: take the lease, then sync and refresh the catalogue's
/// prices. Returns whether this instance ran it.
pub async fn run_if_ours(
    state: &AppState,
    setup: &BillingSetup,
    holder: &str,
    secs: u64,
) -> anyhow::Result<bool> {
    let (me, ttl) = (holder.to_owned(), time::Duration::seconds(secs as i64));
    let ours = db::run(&state.pool, move |conn| {
        Ok(db::leases::try_acquire(conn, LEASE, &me, db::now(), ttl)?)
    })
    .await?;
    if !ours {
        return Ok(false);
    }
    let changes = reconcile(state, setup, false).await?;
    let prices = crate::catalogue::refresh_details(state, setup).await?;
    for change in &changes {
        tracing::info!(%change, "stripe-sync fixed drift");
    }
    tracing::info!(fixed = changes.len(), prices, "scheduled stripe-sync done");
    if !changes.is_empty() {
        state.read_cache.clear();
    }
    Ok(true)
}
