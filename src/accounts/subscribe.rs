//! Subscribing to the free newsletter with an email address only, with
//! double opt-in: the form (or `POST /api/subscribe`) emails a confirmation
//! link; only its click creates the member, verified, signed in and on the
//! newsletter, with no password (they may set one later or keep using
//! links). A member who uses the form again gets a sign-in link instead.
//!
//! Every request is answered the same way, before the address is looked up
//! (the lookup and the write happen after the answer, as for emailed links),
//! so neither the answer nor its timing says whether an address is a
//! member, waiting, or suppressed.

use std::net::IpAddr;

use anyhow::Context;
use time::Duration;

use crate::{
    accounts::{
        links::{self, LinkKind},
        start_session,
        welcome::{self, Welcome},
    },
    config::Config,
    db::{self, attributions, pending_signups, suppressions, users},
    domain::{
        InvalidInput,
        attribution::{AttributionKind, Trail},
        email::EmailAddress,
        role::Role,
        signup_source::SignupSource,
    },
    mail::compose::Transactional,
    newsletter,
    security::throttle::RetryAfter,
    state::AppState,
};

/// How long a confirmation link works; unconfirmed requests are swept then.
pub const CONFIRM_LIFETIME: Duration = Duration::days(7);
/// One address gets at most one confirmation email in this long, however
/// often the form is sent (from however many instances).
pub const RESEND_AFTER: Duration = Duration::minutes(10);

/// A request to subscribe, parsed at the edge.
#[derive(Debug, Clone)]
pub struct FreeSubscribe {
    pub email: EmailAddress,
    /// 1 to 100 characters, when the form asks for it.
    pub name: Option<String>,
    pub source: SignupSource,
    /// The newsletters ticked on the form; `None`: the default ones.
    pub newsletters: Option<Vec<i32>>,
    /// How the reader reached the form, for attribution.
    pub trail: Trail,
}

/// The newsletters a form's ticks ask for: at least one when the form
/// offered a choice (`None`: it did not, so the default ones).
pub fn chosen_newsletters(offered: bool, ticked: Vec<i32>) -> Result<Option<Vec<i32>>, InvalidInput> {
    if !offered {
        return Ok(None);
    }
    if ticked.is_empty() {
        return Err(InvalidInput::new(
            "newsletters",
            "Choose at least one newsletter to receive.",
        ));
    }
    if ticked.len() > 50 {
        return Err(InvalidInput::new("newsletters", "Choose at most 50 newsletters."));
    }
    Ok(Some(ticked))
}

impl FreeSubscribe {
    /// Parses what a form or the API sent.
    pub fn parse(email: &str, name: Option<&str>, source: SignupSource) -> Result<Self, InvalidInput> {
        let email = EmailAddress::parse(email)?;
        let name = match name.map(str::trim) {
            None | Some("") => None,
            Some(name) if name.chars().count() > 100 || name.chars().any(char::is_control) => {
                return Err(InvalidInput::new(
                    "name",
                    "A name is one line of at most 100 characters.",
                ));
            }
            Some(name) => Some(name.to_owned()),
        };
        Ok(Self {
            email,
            name,
            source,
            newsletters: None,
            trail: Trail::default(),
        })
    }
}

/// Takes one attempt from the client's sign-up allowance (shared with the
/// password sign-up form) and queues the right email in the background.
pub fn request(state: &AppState, client: IpAddr, request: FreeSubscribe) -> Result<(), RetryAfter> {
    state.signup_throttle.check(client, request.email.as_str())?;
    let (pool, config, wakeup) = (
        state.pool.clone(),
        state.config.clone(),
        state.mail_wakeup.clone(),
    );
    tokio::spawn(async move {
        match db::run(&pool, move |conn| queue(conn, &config, &request)).await {
            Ok(()) => wakeup.ring(),
            Err(e) => tracing::error!(error = ?e, "queueing a subscribe confirmation failed"),
        }
    });
    Ok(())
}

fn queue(conn: &mut db::DbConnection, config: &Config, request: &FreeSubscribe) -> anyhow::Result<()> {
    db::write_transaction(conn, |conn| {
        let now = db::now();
        let email = request.email.as_str();
        pending_signups::sweep_expired(conn, now)?;
        if suppressions::contains(conn, email)? {
            tracing::info!(email = %request.email.masked(), "subscribe request for a suppressed address");
            return Ok(());
        }
        if let Some(member) = users::find_by_email(conn, &request.email)? {
            return links::queue_link_for(conn, config, &member, LinkKind::SignIn);
        }
        if let Some(pending) = pending_signups::find_by_email(conn, email)?
            && pending.last_sent_at > now - RESEND_AFTER
        {
            tracing::info!(email = %request.email.masked(), "confirmation sent moments ago; not again");
            return Ok(());
        }
        let source = request.source.to_string();
        let trail = request.trail.encode();
        let signup = pending_signups::SignupRequest {
            email,
            name: request.name.as_deref(),
            source: &source,
            newsletters: request.newsletters.as_deref(),
            trail: Some(trail.as_str()).filter(|t| !t.is_empty()),
        };
        let token = pending_signups::upsert(conn, &signup, CONFIRM_LIFETIME, now)?;
        newsletter::enqueue(
            conn,
            config,
            email,
            &Transactional::ConfirmSubscription {
                url: config.url_for(&format!("/join/{token}")),
            },
        )
    })
}

/// The address a confirmation link is for, while it works (its page names it).
pub async fn pending_address(state: &AppState, token: String) -> anyhow::Result<Option<String>> {
    db::run(&state.pool, move |conn| {
        Ok(pending_signups::peek(conn, &token, db::now())?.map(|pending| pending.email))
    })
    .await
}

/// Uses a confirmation link: the member is created (or, if the address
/// became a member meanwhile, proved), signed in, and on the newsletter.
/// Returns the new session token; `None` for a used or expired link.
pub async fn confirm(
    state: &AppState,
    token: String,
    prover_session: Option<String>,
    user_agent: Option<String>,
) -> anyhow::Result<Option<String>> {
    let config = state.config.clone();
    db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let now = db::now();
            let Some(pending) = pending_signups::take(conn, &token, now)? else {
                return Ok(None);
            };
            let email = EmailAddress::parse(&pending.email).context("a stored pending address")?;
            let user_id = match users::find_by_email(conn, &email)? {
                Some(member) => {
                    links::prove_address(conn, &config, member.id, now, prover_session.as_deref())?;
                    member.id
                }
                None => {
                    let member = users::NewUser {
                        email: email.as_str(),
                        name: pending.name.as_deref(),
                        password_hash: None,
                        role: Role::Reader.as_str(),
                        created_at: now,
                        source: Some(&pending.source),
                    }
                    .insert(conn)
                    .context("creating a subscribed member")?;
                    users::mark_email_verified(conn, member.id, now)?;
                    record_signup(conn, member.id, &pending, now)?;
                    welcome::queue_once(conn, &config, member.id, &member.email, Welcome::Free)?;
                    tracing::info!(user_id = member.id, source = %pending.source, "free subscriber confirmed");
                    member.id
                }
            };
            // Confirming the form is asking for the newsletters: those
            // ticked (or the defaults) are joined and an earlier "leave all"
            // lifted.
            let chosen = pending.chosen_newsletters();
            db::newsletters::join_chosen(conn, user_id, chosen.as_deref(), now)?;
            suppressions::remove_unsubscribed(conn, email.as_str())?;
            Ok(Some(start_session(conn, user_id, user_agent.as_deref())?))
        })
    })
    .await
}

/// Counts a confirmed sign-up towards what brought it: the form's trail
/// and source.
fn record_signup(
    conn: &mut db::DbConnection,
    user_id: i32,
    pending: &pending_signups::PendingSignup,
    now: time::PrimitiveDateTime,
) -> diesel::QueryResult<()> {
    let mut trail = Trail::decode(pending.trail.as_deref().unwrap_or_default());
    let source = SignupSource::parse(&pending.source).unwrap_or(SignupSource::Home);
    let embed_origin = trail.with_source(&source);
    let known = attributions::Known {
        embed_origin: embed_origin.as_deref(),
        gift_subscription_id: None,
    };
    attributions::record(conn, user_id, AttributionKind::Signup, &trail, known, now)
}
