//! Accounts by emailed link: verifying an address, signing in with a magic
//! link, resetting a password, and leaving the newsletter. Requests answer
//! the same whether or not the email has an account; the email itself is
//! the only difference.

use std::net::IpAddr;

use anyhow::Context;
use time::Duration;

use super::{accounts::start_session, signed, throttle::RetryAfter};
use crate::{
    config::Config,
    db::{self, login_tokens, sessions, suppressions, users},
    delivery,
    domain::{email::EmailAddress, password::Password},
    mail::compose::Transactional,
    state::AppState,
};

pub const VERIFY_EMAIL: &str = "verify_email";
pub const MAGIC_LINK: &str = "magic_link";
pub const RESET_PASSWORD: &str = "reset_password";

pub const VERIFY_LIFETIME: Duration = Duration::days(3);
pub const MAGIC_LINK_LIFETIME: Duration = Duration::minutes(15);
pub const RESET_LIFETIME: Duration = Duration::hours(1);

/// Queues the "confirm your email" message for a new account.
pub fn queue_verification(
    conn: &mut db::DbConnection,
    config: &Config,
    user_id: i32,
    email: &str,
) -> anyhow::Result<()> {
    let token = login_tokens::create(conn, user_id, VERIFY_EMAIL, VERIFY_LIFETIME)?;
    delivery::enqueue(
        conn,
        email,
        &Transactional::VerifyEmail {
            url: config.url_for(&format!("/verify/{token}")),
        },
    )
}

/// Confirms the address the token was sent to. `false`: unknown or expired.
pub async fn verify_email(state: &AppState, token: String) -> anyhow::Result<bool> {
    db::run(&state.pool, move |conn| {
        let now = db::now();
        let Some(user_id) = login_tokens::consume(conn, &token, VERIFY_EMAIL, now)? else {
            return Ok(false);
        };
        users::mark_email_verified(conn, user_id, now)?;
        Ok(true)
    })
    .await
}

/// Which link to email.
#[derive(Debug, Clone, Copy)]
pub enum LinkKind {
    SignIn,
    ResetPassword,
}

/// Emails a sign-in or reset link if `email` has an account. Throttled like
/// logins, so the form cannot be used to flood someone's inbox.
pub async fn request_link(
    state: &AppState,
    client: IpAddr,
    email: EmailAddress,
    kind: LinkKind,
) -> Result<(), RequestLinkError> {
    state
        .login_throttle
        .check(client, email.as_str())
        .map_err(RequestLinkError::Throttled)?;
    let config = state.config.clone();
    db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let Some(user) = users::find_by_email(conn, &email)? else {
                tracing::info!(email = %email.masked(), "link requested for an unknown email");
                return Ok(());
            };
            let (purpose, lifetime, path) = match kind {
                LinkKind::SignIn => (MAGIC_LINK, MAGIC_LINK_LIFETIME, "/login/link"),
                LinkKind::ResetPassword => (RESET_PASSWORD, RESET_LIFETIME, "/reset"),
            };
            let token = login_tokens::create(conn, user.id, purpose, lifetime)?;
            let url = config.url_for(&format!("{path}/{token}"));
            let message = match kind {
                LinkKind::SignIn => Transactional::MagicLink { url },
                LinkKind::ResetPassword => Transactional::ResetPassword { url },
            };
            delivery::enqueue(conn, &user.email, &message)
        })
    })
    .await
    .map_err(RequestLinkError::Internal)?;
    state.mail_wakeup.ring();
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum RequestLinkError {
    #[error("too many requests")]
    Throttled(RetryAfter),
    #[error(transparent)]
    Internal(anyhow::Error),
}

/// Whether a sign-in or reset link still works (for its confirm page).
pub async fn link_is_valid(state: &AppState, token: String, kind: LinkKind) -> anyhow::Result<bool> {
    let purpose = match kind {
        LinkKind::SignIn => MAGIC_LINK,
        LinkKind::ResetPassword => RESET_PASSWORD,
    };
    db::run(&state.pool, move |conn| {
        Ok(login_tokens::peek(conn, &token, purpose, db::now())?.is_some())
    })
    .await
}

/// Uses a magic link: a new session (and a verified email, since the link
/// arrived in that inbox). `None` when the link is used or expired.
pub async fn sign_in_with_link(
    state: &AppState,
    token: String,
    user_agent: Option<String>,
) -> anyhow::Result<Option<String>> {
    db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let now = db::now();
            let Some(user_id) = login_tokens::consume(conn, &token, MAGIC_LINK, now)? else {
                return Ok(None);
            };
            users::mark_email_verified(conn, user_id, now)?;
            Ok(Some(start_session(conn, user_id, user_agent.as_deref())?))
        })
    })
    .await
}

/// Sets a new password from a reset link and ends every session of the
/// account (whoever knew the old password is logged out). `false` when the
/// link is used or expired.
pub async fn reset_password(state: &AppState, token: String, password: Password) -> anyhow::Result<bool> {
    let valid = link_is_valid(state, token.clone(), LinkKind::ResetPassword).await?;
    if !valid {
        return Ok(false);
    }
    let hash = state.hasher.hash(password).await?;
    db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let now = db::now();
            let Some(user_id) = login_tokens::consume(conn, &token, RESET_PASSWORD, now)? else {
                return Ok(false);
            };
            users::set_password_hash(conn, user_id, &hash)?;
            users::mark_email_verified(conn, user_id, now)?;
            let ended = sessions::delete_all_for_user(conn, user_id)?;
            tracing::info!(user_id, sessions_ended = ended, "password reset");
            Ok(true)
        })
    })
    .await
}

/// One-click unsubscribe (RFC 8058): suppresses the address and turns the
/// newsletter off. Returns the address, or `None` for a bad token.
pub async fn unsubscribe(state: &AppState, token: &str) -> anyhow::Result<Option<String>> {
    let Some(user_id) = signed::parse_unsubscribe_token(&state.signing_key, token) else {
        return Ok(None);
    };
    db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let Some(user) = users::find(conn, user_id)? else {
                return Ok(None);
            };
            suppressions::add(conn, &user.email, "unsubscribed")?;
            users::set_newsletter(conn, user.id, false)?;
            tracing::info!(user_id, "unsubscribed");
            Ok(Some(user.email))
        })
    })
    .await
}

/// The newsletter switch on the account page.
pub async fn set_newsletter(state: &AppState, user_id: i32, on: bool) -> anyhow::Result<()> {
    db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let user = users::find(conn, user_id)?.context("the user vanished")?;
            users::set_newsletter(conn, user_id, on)?;
            if on {
                suppressions::remove_unsubscribed(conn, &user.email)?;
            } else {
                suppressions::add(conn, &user.email, "unsubscribed")?;
            }
            Ok(())
        })
    })
    .await
}
