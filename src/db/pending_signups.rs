//! Email-only subscriptions waiting for their confirmation click. Only the
//! SHA-256 of the emailed token is stored.

use diesel::prelude::*;
use time::{Duration, PrimitiveDateTime};

use crate::db::{DbConnection, schema::pending_signups};
use crate::per_backend;
use crate::security::token;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pending_signups)]
pub struct PendingSignup {
    pub id: i32,
    pub email: String,
    pub name: Option<String>,
    pub source: String,
    pub token_hash: String,
    pub created_at: PrimitiveDateTime,
    pub expires_at: PrimitiveDateTime,
    pub last_sent_at: PrimitiveDateTime,
    /// Comma-separated newsletter ids; `None`: the default ones.
    newsletter_ids: Option<String>,
    /// The encoded trail of the form (`domain::attribution::Trail`).
    pub trail: Option<String>,
}

impl PendingSignup {
    /// The newsletters the reader ticked; `None`: the default ones.
    pub fn chosen_newsletters(&self) -> Option<Vec<i32>> {
        self.newsletter_ids
            .as_deref()
            .map(|ids| ids.split(',').filter_map(|id| id.parse().ok()).collect())
    }
}

/// What a subscribe form asked for.
pub struct SignupRequest<'a> {
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub source: &'a str,
    /// The newsletters ticked; `None`: the default ones.
    pub newsletters: Option<&'a [i32]>,
    /// The encoded trail of the form, if it had one.
    pub trail: Option<&'a str>,
}

/// Deletes requests nobody confirmed in time.
pub fn sweep_expired(conn: &mut DbConnection, now: PrimitiveDateTime) -> QueryResult<usize> {
    diesel::delete(pending_signups::table.filter(pending_signups::expires_at.le(now))).execute(conn)
}

pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<PendingSignup>> {
    pending_signups::table
        .filter(pending_signups::email.eq(email))
        .select(PendingSignup::as_select())
        .first(conn)
        .optional()
}

/// Records (or renews) the request for its address with a new token, valid
/// for `lifetime`; returns the raw token for the email. The name, source and
/// choices of the latest request win.
pub fn upsert(
    conn: &mut DbConnection,
    request: &SignupRequest<'_>,
    lifetime: Duration,
    now: PrimitiveDateTime,
) -> QueryResult<String> {
    let raw = token::generate("");
    let hash = token::hash(&raw);
    let SignupRequest {
        email,
        name,
        source,
        trail,
        ..
    } = *request;
    let newsletter_ids = request
        .newsletters
        .map(|ids| ids.iter().map(i32::to_string).collect::<Vec<_>>().join(","));
    per_backend!(conn, |c| diesel::insert_into(pending_signups::table)
        .values((
            pending_signups::email.eq(email),
            pending_signups::name.eq(name),
            pending_signups::source.eq(source),
            pending_signups::token_hash.eq(&hash),
            pending_signups::created_at.eq(now),
            pending_signups::expires_at.eq(now + lifetime),
            pending_signups::last_sent_at.eq(now),
            pending_signups::newsletter_ids.eq(&newsletter_ids),
            pending_signups::trail.eq(trail),
        ))
        .on_conflict(pending_signups::email)
        .do_update()
        .set((
            pending_signups::name.eq(name),
            pending_signups::source.eq(source),
            pending_signups::token_hash.eq(&hash),
            pending_signups::expires_at.eq(now + lifetime),
            pending_signups::last_sent_at.eq(now),
            pending_signups::newsletter_ids.eq(&newsletter_ids),
            pending_signups::trail.eq(trail),
        ))
        .execute(c))?;
    Ok(raw)
}

/// The live request a token belongs to, without using it up (for the page
/// that shows the confirm button).
pub fn peek(
    conn: &mut DbConnection,
    raw_token: &str,
    now: PrimitiveDateTime,
) -> QueryResult<Option<PendingSignup>> {
    pending_signups::table
        .filter(pending_signups::token_hash.eq(token::hash(raw_token)))
        .filter(pending_signups::expires_at.gt(now))
        .select(PendingSignup::as_select())
        .first(conn)
        .optional()
}

/// Takes the live request a token belongs to: it is deleted, so the link
/// works once.
pub fn take(
    conn: &mut DbConnection,
    raw_token: &str,
    now: PrimitiveDateTime,
) -> QueryResult<Option<PendingSignup>> {
    let Some(pending) = peek(conn, raw_token, now)? else {
        return Ok(None);
    };
    let deleted = diesel::delete(pending_signups::table.find(pending.id)).execute(conn)?;
    Ok((deleted == 1).then_some(pending))
}
