//! Background work inside `serve`: publishing scheduled articles on time,
//! and housekeeping. Safe to run in every instance at once: each step claims
//! its rows in the database.

use std::{sync::Arc, time::Duration};

use crate::{db, publishing, state::AppState};

/// How often scheduled articles are checked: they go out within this long
/// of their time (the site shows them from their time on regardless).
const TICK: Duration = Duration::from_secs(1);
/// Housekeeping runs every this many ticks.
const HOUSEKEEPING_EVERY: u32 = 600;

pub fn spawn(state: Arc<AppState>) {
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
