//! Signing up, logging in and out, and the staff accounts and API keys the
//! command line hands out.

pub mod data_rights;
pub mod links;
pub mod subscribe;
pub mod welcome;

use std::net::IpAddr;

use anyhow::Context;
use time::Duration;

use crate::security::{signed, throttle::RetryAfter, token};
use crate::{
    db::{
        self, DbConnection,
        api_keys::NewApiKey,
        members,
        sessions::{self, NewSession},
        users::{self, NewUser, User},
    },
    domain::{
        access::Reader,
        attribution::{AttributionKind, Trail},
        email::EmailAddress,
        member::MemberEventKind,
        password::Password,
        role::Role,
    },
    state::AppState,
};

/// How long a login lasts.
pub const SESSION_LIFETIME: Duration = Duration::days(30);

pub enum SignUpOutcome {
    /// A new account, logged in with this session token.
    Created { user: Box<User>, session_token: String },
    /// The email already has an account; nothing was changed, and the caller
    /// must answer exactly as for a new account.
    EmailTaken,
}

#[derive(Debug, thiserror::Error)]
pub enum SignUpError {
    #[error("too many signups")]
    Throttled(RetryAfter),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A sign-up form, parsed.
pub struct NewMember {
    pub email: EmailAddress,
    pub password: Password,
    /// The newsletters ticked; `None`: the default ones.
    pub newsletters: Option<Vec<i32>>,
    /// How the reader reached the form, for attribution.
    pub trail: Trail,
}

#[tracing::instrument(skip_all, fields(email = %new_member.email.masked()))]
pub async fn sign_up(
    state: &AppState,
    ip: IpAddr,
    new_member: NewMember,
    user_agent: Option<String>,
) -> Result<SignUpOutcome, SignUpError> {
    let NewMember {
        email,
        password,
        newsletters,
        trail,
    } = new_member;
    state
        .signup_throttle
        .check(ip, email.as_str())
        .map_err(SignUpError::Throttled)?;
    // Hash before looking: a taken email costs the same time as a free one.
    let password_hash = state.hasher.hash(password).await?;
    let config = state.config.clone();
    let outcome = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let new_user = NewUser {
                email: email.as_str(),
                name: None,
                password_hash: Some(&password_hash),
                role: Role::Reader.as_str(),
                created_at: db::now(),
                source: Some("signup"),
            };
            let user = match new_user.insert(conn) {
                Ok(user) => user,
                Err(e) if db::is_unique_violation(&e) => return Ok(SignUpOutcome::EmailTaken),
                Err(e) => return Err(e).context("inserting a user"),
            };
            db::newsletters::join_chosen(conn, user.id, newsletters.as_deref(), db::now())?;
            let known = db::attributions::Known::default();
            db::attributions::record(conn, user.id, AttributionKind::Signup, &trail, known, db::now())?;
            let session_token = start_session(conn, user.id, user_agent.as_deref())?;
            crate::accounts::links::queue_verification(conn, &config, user.id, &user.email)?;
            tracing::info!(user_id = user.id, "signed up");
            Ok(SignUpOutcome::Created {
                user: Box::new(user),
                session_token,
            })
        })
    })
    .await?;
    state.mail_wakeup.ring();
    Ok(outcome)
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("too many login attempts")]
    Throttled(RetryAfter),
    /// Unknown email and wrong password alike.
    #[error("incorrect email or password")]
    BadCredentials,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Checks the password and starts a session; returns its token.
#[tracing::instrument(skip_all, fields(email = %email.masked(), %client))]
pub async fn log_in(
    state: &AppState,
    client: IpAddr,
    email: EmailAddress,
    password: Password,
    user_agent: Option<String>,
) -> Result<String, LoginError> {
    state
        .login_throttle
        .check(client, email.as_str())
        .map_err(|retry| {
            state.metrics.record_failed_login(true);
            LoginError::Throttled(retry)
        })?;
    let user = db::run(&state.pool, move |conn| Ok(users::find_by_email(conn, &email)?)).await?;
    let stored_hash = user.as_ref().and_then(|u| u.password_hash.clone());
    if !state.hasher.verify(password, stored_hash).await? {
        tracing::info!("failed login");
        state.metrics.record_failed_login(false);
        return Err(LoginError::BadCredentials);
    }
    let user = user.ok_or(LoginError::BadCredentials)?;
    let token = db::run(&state.pool, move |conn| {
        start_session(conn, user.id, user_agent.as_deref())
    })
    .await?;
    tracing::info!(user_id = user.id, "logged in");
    Ok(token)
}

/// Ends the session whose cookie carried `session_token`.
pub async fn log_out(state: &AppState, session_token: String) -> anyhow::Result<()> {
    let token_hash = token::hash(&session_token);
    db::run(&state.pool, move |conn| {
        sessions::delete_by_token_hash(conn, &token_hash).context("deleting a session")?;
        Ok(())
    })
    .await
}

/// A new session for `user_id`; the raw token goes to the cookie only.
pub fn start_session(
    conn: &mut DbConnection,
    user_id: i32,
    user_agent: Option<&str>,
) -> anyhow::Result<String> {
    let session_token = token::generate("");
    let now = db::now();
    NewSession {
        token_hash: &token::hash(&session_token),
        user_id,
        // Enough to recognise a device in the session list, never a novel.
        user_agent: user_agent.map(|ua| &ua[..ua.floor_char_boundary(200)]),
        created_at: now,
        expires_at: now + SESSION_LIFETIME,
        last_seen_at: now,
    }
    .insert(conn)
    .context("inserting a session")?;
    // Sessions end and are deleted; the member's timeline keeps the sign-in.
    let device = user_agent
        .map(|ua| &ua[..ua.floor_char_boundary(200)])
        .unwrap_or("");
    db::member_events::record(conn, user_id, MemberEventKind::SignedIn, device, None, now)?;
    Ok(session_token)
}

/// What `create_staff` did.
#[derive(Debug)]
pub enum StaffOutcome {
    Created(User),
    /// An account that already existed now has the role. Everything that
    /// signed in to it before (sessions, unused emailed links, its private
    /// feed address) was ended, so no one who held it as a reader keeps a
    /// way into a staff account.
    Promoted {
        user: User,
        sessions_ended: usize,
        password_replaced: bool,
    },
}

/// How to treat an account that already exists.
#[derive(Debug, Clone, Copy, Default)]
pub struct Promotion {
    /// Promote even though nobody ever proved they own the address.
    pub force_unverified: bool,
    /// Replace its password with the given one (otherwise it is kept).
    pub reset_password: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error(
        "{0} already has an account, but its address was never confirmed: whoever signed up with it may not own it. Ask the owner to sign in with an emailed link first (that confirms it), or pass --force"
    )]
    Unverified(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Creates a staff account, or promotes an existing one (see
/// [`StaffOutcome::Promoted`]). For the command line and the demo seed.
pub async fn create_staff(
    state: &AppState,
    email: EmailAddress,
    name: Option<String>,
    role: Role,
    password: Password,
    promotion: Promotion,
) -> Result<StaffOutcome, StaffError> {
    let password_hash = state.hasher.hash(password).await?;
    let outcome = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let Some(existing) = users::find_by_email(conn, &email)? else {
                let user = NewUser {
                    email: email.as_str(),
                    name: name.as_deref(),
                    password_hash: Some(&password_hash),
                    role: role.as_str(),
                    created_at: db::now(),
                    source: Some("staff"),
                }
                .insert(conn)
                .context("inserting a staff user")?;
                db::newsletters::join_defaults(conn, user.id, db::now())?;
                return Ok(Ok(StaffOutcome::Created(user)));
            };
            if existing.email_verified_at.is_none() && !promotion.force_unverified {
                return Ok(Err(StaffError::Unverified(email.to_string())));
            }
            users::set_role(conn, existing.id, role)?;
            if promotion.reset_password {
                users::set_password_hash(conn, existing.id, &password_hash)?;
            }
            let sessions_ended = users::shut_out_others(conn, existing.id, None, false, db::now())?;
            let user = users::find(conn, existing.id)?.context("the user vanished")?;
            tracing::warn!(user_id = user.id, %role, sessions_ended, "an existing account was promoted to staff");
            anyhow::Ok(Ok(StaffOutcome::Promoted {
                user,
                sessions_ended,
                password_replaced: promotion.reset_password,
            }))
        })
    })
    .await??;
    Ok(outcome)
}

#[derive(Debug, thiserror::Error)]
pub enum IssueKeyError {
    #[error("no account has the email {0}; create it first with `broadsheet admin create-editor`")]
    NoSuchUser(String),
    #[error("{0} is a reader; API keys are for editors and admins")]
    NotStaff(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A new API key for the staff member with `email`. The key is returned once
/// and only its hash is kept.
pub async fn issue_api_key(
    state: &AppState,
    email: EmailAddress,
    key_name: String,
) -> Result<String, IssueKeyError> {
    db::run(&state.pool, move |conn| {
        let Some(user) = users::find_by_email(conn, &email)? else {
            return Ok(Err(IssueKeyError::NoSuchUser(email.to_string())));
        };
        if !user.role().is_staff() {
            return Ok(Err(IssueKeyError::NotStaff(email.to_string())));
        }
        let key = token::generate(token::API_KEY_PREFIX);
        NewApiKey {
            name: &key_name,
            key_hash: &token::hash(&key),
            user_id: user.id,
            created_at: db::now(),
        }
        .insert(conn)
        .context("inserting an API key")?;
        Ok(Ok(key))
    })
    .await?
}

/// The member a private feed token belongs to, if it is valid and has not
/// been replaced.
pub async fn feed_reader(state: &AppState, token: &str) -> anyhow::Result<Option<(User, Reader)>> {
    let Some((user_id, generation)) = signed::parse_feed_token(&state.signing_key, token) else {
        return Ok(None);
    };
    db::run(&state.pool, move |conn| {
        let Some(user) = users::find(conn, user_id)?.filter(|u| u.feed_generation == generation) else {
            return Ok(None);
        };
        let member = members::load_member(conn, &user)?;
        Ok(Some((user, Reader::Member(member))))
    })
    .await
}

/// The user's private feed URL path.
pub fn feed_path(state: &AppState, user: &User) -> String {
    format!(
        "/feed/{}.xml",
        signed::feed_token(&state.signing_key, user.id, user.feed_generation)
    )
}

/// "Sign out everywhere else": ends every other session of the user, voids
/// the sign-in links already emailed, and replaces the private feed address
/// (whoever copied it stops reading). Returns how many sessions ended.
pub async fn sign_out_everywhere_else(
    state: &AppState,
    user_id: i32,
    current_session: &str,
) -> anyhow::Result<usize> {
    let keep = token::hash(current_session);
    db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            Ok(users::shut_out_others(
                conn,
                user_id,
                Some(&keep),
                false,
                db::now(),
            )?)
        })
    })
    .await
}

#[derive(Debug, thiserror::Error)]
pub enum SetPasswordError {
    #[error("the current password is not right")]
    WrongCurrent,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Sets a password on an account that signs in with emailed links, or
/// changes it (then the current one must be given). Every other session
/// ends, so whoever knew the old password is out.
pub async fn set_password(
    state: &AppState,
    user: &User,
    current: Option<Password>,
    new: Password,
    current_session: &str,
) -> Result<(), SetPasswordError> {
    if user.password_hash.is_some() {
        let given = current.ok_or(SetPasswordError::WrongCurrent)?;
        if !state.hasher.verify(given, user.password_hash.clone()).await? {
            return Err(SetPasswordError::WrongCurrent);
        }
    }
    let hash = state.hasher.hash(new).await?;
    let (user_id, keep) = (user.id, token::hash(current_session));
    db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            users::set_password_hash(conn, user_id, &hash)?;
            users::shut_out_others(conn, user_id, Some(&keep), false, db::now())?;
            anyhow::Ok(())
        })
    })
    .await?;
    tracing::info!(user_id, "password set");
    Ok(())
}

/// Replaces the user's private feed URL; the old one stops working.
pub async fn rotate_feed(state: &AppState, user_id: i32) -> anyhow::Result<()> {
    db::run(&state.pool, move |conn| {
        users::bump_feed_generation(conn, user_id).context("rotating a feed token")?;
        Ok(())
    })
    .await
}
