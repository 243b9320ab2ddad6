//! Background work inside `serve`: publishing scheduled articles on time,
//! storing page views, and housekeeping. Safe to run in every instance at once: each step claims
//! its rows in the database.

use std::{sync::Arc, time::Duration};

use crate::{db, publishing, state::AppState};

/// How often scheduled articles are checked: they go out within this long
/// of their time (the site shows them from their time on regardless).
const TICK: Duration = Duration::from_secs(1);
/// Housekeeping runs every this many ticks.
const HOUSEKEEPING_EVERY: u32 = 600;

pub fn spawn(state: Arc<AppState>) {
    tokio::spawn(store_page_views(state.clone()));
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        for tick in 0u32.. {
            ticker.tick().await;
            if let Err(e) = publishing::publish_due(&state).await {
                tracing::warn!(error = ?e, "publishing scheduled articles failed; retrying next tick");
            }
            if let Err(e) = publishing::email_due(&state).await {
                tracing::warn!(error = ?e, "emailing posts at their email time failed; retrying next tick");
            }
            if tick % HOUSEKEEPING_EVERY == 0 {
                housekeeping(&state).await;
            }
        }
    });
}

/// Adds this process's page views to the database every
/// `BROADSHEET_PAGE_VIEW_FLUSH_MS`; a tally that could not be stored is kept
/// for the next try.
async fn store_page_views(state: Arc<AppState>) {
    let mut ticker = tokio::time::interval(Duration::from_millis(state.config.page_view_flush_ms));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let tally = state.page_views.take();
        if tally.is_empty() {
            continue;
        }
        let kept = tally.clone();
        let stored = db::run(&state.pool, move |conn| {
            db::write_transaction(conn, |conn| Ok(db::page_views::add(conn, &tally)?))
        })
        .await;
        if let Err(e) = stored {
            tracing::warn!(error = ?e, "storing page views failed; keeping them for the next try");
            state.page_views.restore(kept);
        }
    }
}

async fn housekeeping(state: &AppState) {
    state.login_throttle.forget_idle();
    state.link_throttle.forget_idle();
    state.signup_throttle.forget_idle();
    let purged = db::run(&state.pool, |conn| {
        Ok(db::idempotency::purge_older_than(
            conn,
            db::now() - db::idempotency::KEEP_FOR,
        )?)
    })
    .await;
    match purged {
        Ok(0) => {}
        Ok(n) => tracing::info!(purged = n, "forgot old idempotency keys"),
        Err(e) => tracing::warn!(error = ?e, "purging idempotency keys failed"),
    }
}
