//! Accounts by emailed link: verifying an address, signing in with a magic
//! link and resetting a password. Requests answer
//! the same whether or not the email has an account; the email itself is
//! the only difference.

use std::net::IpAddr;

use time::Duration;

use crate::{accounts::start_session, security::throttle::RetryAfter};
use crate::{
    config::Config,
    db::{self, login_tokens, sessions, users},
    domain::{email::EmailAddress, password::Password},
    mail::compose::Transactional,
    newsletter,
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
    newsletter::enqueue(
        conn,
        config,
        email,
        &Transactional::VerifyEmail {
            url: config.url_for(&format!("/verify/{token}")),
        },
    )
}

/// Confirms the address the token was sent to. `false`: unknown or expired.
/// `prover_session` is the session token of the browser that opened the link.
pub async fn verify_email(
    state: &AppState,
    token: String,
    prover_session: Option<String>,
) -> anyhow::Result<bool> {
    let config = state.config.clone();
    db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let now = db::now();
            let Some(user_id) = login_tokens::consume(conn, &token, VERIFY_EMAIL, now)? else {
                return Ok(false);
            };
            prove_address(conn, &config, user_id, now, prover_session.as_deref())?;
            Ok(true)
        })
    })
    .await
}

/// Records that whoever holds `prover_session` (if anyone) proved they read
/// the account's inbox. Signing up needs no such proof, so on the *first*
/// proof whoever signed up with the address without owning it is shown
/// out: every other session ends, the private feed address changes, and a
/// password the prover did not set is cleared (the prover set it only if
/// they are signed in to this account in the browser that opened the link).
/// Later proofs change nothing. The first also queues the free welcome.
pub(crate) fn prove_address(
    conn: &mut db::DbConnection,
    config: &Config,
    user_id: i32,
    now: time::PrimitiveDateTime,
    prover_session: Option<&str>,
) -> anyhow::Result<()> {
    if users::mark_email_verified(conn, user_id, now)? == 0 {
        return Ok(()); // proved before
    }
    if let Some(user) = users::find(conn, user_id)? {
        super::welcome::queue_once(conn, config, user_id, &user.email, super::welcome::Welcome::Free)?;
    }
    let prover_hash = prover_session.map(super::token::hash);
    let prover_is_signed_in = match &prover_hash {
        Some(hash) => sessions::belongs_to(conn, hash, user_id)?,
        None => false,
    };
    let kept = prover_hash.as_deref().filter(|_| prover_is_signed_in);
    let ended = users::shut_out_others(conn, user_id, kept, !prover_is_signed_in, now)?;
    tracing::info!(
        user_id,
        sessions_ended = ended,
        password_cleared = !prover_is_signed_in,
        "first proof of the address"
    );
    Ok(())
}

/// Which link to email.
#[derive(Debug, Clone, Copy)]
pub enum LinkKind {
    SignIn,
    ResetPassword,
}

/// Emails a sign-in or reset link if `email` has an account. Throttled, so
/// the form cannot be used to flood someone's inbox.
///
/// Answers before looking the address up: the lookup and the write happen
/// after the caller has its answer, so a member's address (which costs a
/// transaction) and a stranger's take the same time to answer.
pub fn request_link(
    state: &AppState,
    client: IpAddr,
    email: EmailAddress,
    kind: LinkKind,
) -> Result<(), RequestLinkError> {
    state
        .link_throttle
        .check(client, email.as_str())
        .map_err(RequestLinkError::Throttled)?;
    let (pool, config, wakeup) = (
        state.pool.clone(),
        state.config.clone(),
        state.mail_wakeup.clone(),
    );
    tokio::spawn(async move {
        match queue_link(&pool, config, email, kind).await {
            Ok(()) => wakeup.ring(),
            Err(e) => tracing::error!(error = ?e, "queueing an emailed link failed"),
        }
    });
    Ok(())
}

async fn queue_link(
    pool: &db::Pool,
    config: Config,
    email: EmailAddress,
    kind: LinkKind,
) -> anyhow::Result<()> {
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let Some(user) = users::find_by_email(conn, &email)? else {
                tracing::info!(email = %email.masked(), "link requested for an unknown email");
                return Ok(());
            };
            queue_link_for(conn, &config, &user, kind)
        })
    })
    .await
}

/// Queues a sign-in or reset link to `user` (inside the caller's transaction).
pub(crate) fn queue_link_for(
    conn: &mut db::DbConnection,
    config: &Config,
    user: &users::User,
    kind: LinkKind,
) -> anyhow::Result<()> {
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
    newsletter::enqueue(conn, config, &user.email, &message)
}

#[derive(Debug, thiserror::Error)]
pub enum RequestLinkError {
    #[error("too many requests")]
    Throttled(RetryAfter),
}

/// The address a sign-in or reset link belongs to, while it still works
/// (its confirm page names the account it opens).
pub async fn link_owner(state: &AppState, token: String, kind: LinkKind) -> anyhow::Result<Option<String>> {
    let purpose = match kind {
        LinkKind::SignIn => MAGIC_LINK,
        LinkKind::ResetPassword => RESET_PASSWORD,
    };
    db::run(&state.pool, move |conn| {
        let Some(user_id) = login_tokens::peek(conn, &token, purpose, db::now())? else {
            return Ok(None);
        };
        Ok(users::find(conn, user_id)?.map(|user| user.email))
    })
    .await
}

/// Uses a magic link: a new session (and a verified email, since the link
/// arrived in that inbox). `None` when the link is used or expired.
pub async fn sign_in_with_link(
    state: &AppState,
    token: String,
    prover_session: Option<String>,
    user_agent: Option<String>,
) -> anyhow::Result<Option<String>> {
    let config = state.config.clone();
    db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let now = db::now();
            let Some(user_id) = login_tokens::consume(conn, &token, MAGIC_LINK, now)? else {
                return Ok(None);
            };
            prove_address(conn, &config, user_id, now, prover_session.as_deref())?;
            Ok(Some(start_session(conn, user_id, user_agent.as_deref())?))
        })
    })
    .await
}

/// Sets a new password from a reset link and ends every session of the
/// account (whoever knew the old password is logged out) and its private
/// feed address (whoever copied it stops reading). `false` when the link is
/// used or expired.
pub async fn reset_password(state: &AppState, token: String, password: Password) -> anyhow::Result<bool> {
    let valid = link_owner(state, token.clone(), LinkKind::ResetPassword).await?;
    if valid.is_none() {
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
            users::bump_feed_generation(conn, user_id)?;
            let ended = sessions::delete_all_for_user(conn, user_id)?;
            tracing::info!(user_id, sessions_ended = ended, "password reset");
            Ok(true)
        })
    })
    .await
}
