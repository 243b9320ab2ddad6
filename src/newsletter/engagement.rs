//! What recipients do with a newsletter: following a tracked link and
//! loading the open pixel. Tokens are checked before any query, so a made-up
//! one costs a MAC; a click only ever leads to an address its send recorded.

use crate::{
    db::{self, engagement},
    security::signed,
    state::AppState,
};

/// Where a click token leads (recording the recipient's first click on that
/// link); `None` for a token this server did not make or a link no send
/// recorded. A failed write still lets the reader through.
pub async fn follow_click(state: &AppState, token: &str) -> anyhow::Result<Option<String>> {
    let Some((delivery_id, link)) = signed::parse_click_token(&state.signing_key, token) else {
        return Ok(None);
    };
    db::run(&state.pool, move |conn| {
        let Some(target) = engagement::click_target(conn, delivery_id, link)? else {
            return Ok(None);
        };
        if let Err(e) = engagement::record_click(conn, delivery_id, target.link_id, db::now()) {
            tracing::warn!(error = %e, delivery_id, "recording a click failed");
        }
        Ok(Some(target.url))
    })
    .await
}

/// Records the first open of the delivery an open token names; false for a
/// token this server did not make.
pub async fn record_open(state: &AppState, token: &str) -> anyhow::Result<bool> {
    let Some(delivery_id) = signed::parse_open_token(&state.signing_key, token) else {
        return Ok(false);
    };
    db::run(&state.pool, move |conn| {
        engagement::record_open(conn, delivery_id, db::now())?;
        Ok(true)
    })
    .await
}
