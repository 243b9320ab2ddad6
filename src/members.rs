//! Managing members from the admin API: complimentary access.

use time::PrimitiveDateTime;

use crate::{
    db::{self, billing, users},
    domain::editorial::Actor,
    state::AppState,
};

#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    #[error("there is no member with that id")]
    NotFound,
    #[error("only admins change members")]
    Forbidden,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Gives `user_id` full access until `expires_at` (or for good).
pub async fn grant_comp(
    state: &AppState,
    actor: Actor,
    user_id: i32,
    expires_at: Option<PrimitiveDateTime>,
    reason: String,
) -> Result<(), MemberError> {
    if !actor.role.can_manage_members() {
        return Err(MemberError::Forbidden);
    }
    let granted = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            if users::find(conn, user_id)?.is_none() {
                return Ok(false);
            }
            billing::grant_comp(conn, user_id, actor.user_id, expires_at, &reason)?;
            anyhow::Ok(true)
        })
    })
    .await?;
    if !granted {
        return Err(MemberError::NotFound);
    }
    tracing::info!(user_id, actor_id = actor.user_id, "comp granted");
    Ok(())
}

/// Ends every comp of `user_id`.
pub async fn revoke_comps(state: &AppState, actor: Actor, user_id: i32) -> Result<usize, MemberError> {
    if !actor.role.can_manage_members() {
        return Err(MemberError::Forbidden);
    }
    let revoked = db::run(&state.pool, move |conn| {
        if users::find(conn, user_id)?.is_none() {
            return Ok(None);
        }
        Ok(Some(billing::revoke_comps(conn, user_id)?))
    })
    .await?;
    let revoked = revoked.ok_or(MemberError::NotFound)?;
    tracing::info!(user_id, revoked, actor_id = actor.user_id, "comps revoked");
    Ok(revoked)
}
