//! A member's rights over their data: a copy of all of it, and deletion.
//! Deleting stops any paid subscription renewing (it runs to the end of the
//! period paid for), then erases everything that names the person in one
//! transaction; anonymous delivery counts stay (see `db::personal_data`).

use crate::{
    db::{self, billing, personal_data, users::User},
    domain::subscription::SubscriptionStatus,
    state::AppState,
};

pub use db::personal_data::PersonalData;

/// Everything we hold about `user`.
pub async fn download(state: &AppState, user: &User) -> anyhow::Result<PersonalData> {
    let user = user.clone();
    let data = db::run(&state.pool, move |conn| Ok(personal_data::collect(conn, &user)?)).await?;
    tracing::info!(user_id = data.account.id, "personal data downloaded");
    Ok(data)
}

#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    /// Staff own articles; an admin removes their access instead.
    #[error("staff accounts are closed by an admin, so their articles keep an author")]
    Staff,
    /// Stripe could not be told to stop the renewals: nothing was deleted.
    #[error(
        "we could not reach Stripe to stop your subscription renewing, so nothing was deleted; try again in a few minutes"
    )]
    Billing(#[source] anyhow::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Deletes `user`'s account.
pub async fn delete_account(state: &AppState, user: &User) -> Result<(), DeleteError> {
    if user.role().is_staff() {
        return Err(DeleteError::Staff);
    }
    let user_id = user.id;
    let subscriptions = db::run(&state.pool, move |conn| {
        Ok(billing::subscriptions_of(conn, user_id)?)
    })
    .await?;
    // Stripe first: if it fails, the account is still whole and the member
    // can try again; the other order could leave a renewing subscription
    // that nobody can reach.
    let renewing = subscriptions.iter().filter(|s| {
        !s.cancel_at_period_end
            && !matches!(
                SubscriptionStatus::parse(&s.status),
                Ok(SubscriptionStatus::Canceled | SubscriptionStatus::IncompleteExpired)
            )
    });
    for subscription in renewing {
        match &state.billing {
            Some(setup) => setup
                .client
                .cancel_at_period_end(&subscription.stripe_subscription_id)
                .await
                .map_err(DeleteError::Billing)?,
            None => tracing::warn!(
                user_id,
                subscription = %subscription.stripe_subscription_id,
                "billing is not configured: a subscription could not be stopped at Stripe"
            ),
        }
    }
    let user = user.clone();
    db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| personal_data::erase(conn, &user, db::now()))?;
        Ok(())
    })
    .await?;
    state.read_cache.clear();
    tracing::info!(user_id, "account deleted");
    Ok(())
}
