//! Managing members: finding and reading them (`directory`), changing them
//! (`editing`), their labels and newsletters, complimentary access, and
//! importing and exporting the member list (CLI and admin API); the
//! publication's figures over time (`stats`).

pub mod directory;
pub mod editing;
pub mod labels;
pub mod newsletters;
pub mod stats;

use time::PrimitiveDateTime;

use crate::{
    db::{
        self, billing,
        members::{ImportConflict, ImportOutcome},
        users,
    },
    domain::{
        editorial::Actor,
        member::MemberStatus,
        member_csv::{self, ExportedMember, Format, RowError},
    },
    state::AppState,
};

#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    #[error("{0}")]
    NotFound(&'static str),
    #[error("your role may not do this to members")]
    Forbidden,
    #[error(transparent)]
    Invalid(#[from] crate::domain::InvalidInput),
    /// The change clashes with what is stored: say what to do instead.
    #[error("{0}")]
    Conflict(String),
    /// Stripe could not be told (deleting a member stops renewals first):
    /// nothing was changed.
    #[error("Stripe could not be reached: {0:#}")]
    StripeDown(anyhow::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub(crate) const NO_MEMBER: &str = "There is no member with that id.";

/// Staff who may read members (editors and admins).
fn editors_only(actor: Actor) -> Result<(), MemberError> {
    allowed(actor.role.can_read_members())
}

/// Staff who may change members, labels and newsletters (admins).
fn admins_only(actor: Actor) -> Result<(), MemberError> {
    allowed(actor.role.can_manage_members())
}

fn allowed(yes: bool) -> Result<(), MemberError> {
    if yes { Ok(()) } else { Err(MemberError::Forbidden) }
}

/// Gives `user_id` full access until `expires_at` (or for good).
pub async fn grant_comp(
    state: &AppState,
    actor: Actor,
    user_id: i32,
    expires_at: Option<PrimitiveDateTime>,
    reason: String,
) -> Result<(), MemberError> {
    admins_only(actor)?;
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
        return Err(MemberError::NotFound(NO_MEMBER));
    }
    tracing::info!(user_id, actor_id = actor.user_id, "comp granted");
    Ok(())
}

/// Ends every comp of `user_id`.
pub async fn revoke_comps(state: &AppState, actor: Actor, user_id: i32) -> Result<usize, MemberError> {
    admins_only(actor)?;
    let revoked = db::run(&state.pool, move |conn| {
        if users::find(conn, user_id)?.is_none() {
            return Ok(None);
        }
        Ok(Some(billing::revoke_comps(conn, user_id)?))
    })
    .await?;
    let revoked = revoked.ok_or(MemberError::NotFound(NO_MEMBER))?;
    tracing::info!(user_id, revoked, actor_id = actor.user_id, "comps revoked");
    Ok(revoked)
}

/// A member's billing as stored: subscriptions, refunds and disputes.
pub struct BillingHistory {
    pub subscriptions: Vec<billing::StoredSubscription>,
    pub incidents: Vec<billing::PaymentIncident>,
}

/// For editors and admins (who read members).
pub async fn billing_history(
    state: &AppState,
    actor: Actor,
    user_id: i32,
) -> Result<BillingHistory, MemberError> {
    editors_only(actor)?;
    db::run(&state.pool, move |conn| {
        if users::find(conn, user_id)?.is_none() {
            return Ok(None);
        }
        Ok(Some(BillingHistory {
            subscriptions: billing::subscriptions_of(conn, user_id)?,
            incidents: billing::incidents_of(conn, user_id)?,
        }))
    })
    .await?
    .ok_or(MemberError::NotFound(NO_MEMBER))
}

/// What an import did, by member.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Rows left out on purpose (Ghost's deleted members).
    pub skipped: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Rows that cannot be imported; nothing was written.
    #[error("{} row(s) cannot be imported; nothing was imported", .0.len())]
    BadRows(Vec<RowError>),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Imports a Ghost or Substack member export, all or nothing: every row is
/// checked first, then all are written in one transaction. `progress` is
/// called after each member is written (for a progress bar).
pub async fn import(
    state: &AppState,
    csv: Vec<u8>,
    progress: impl Fn(u64) + Send + 'static,
) -> Result<(Format, ImportReport), ImportError> {
    let parsed = member_csv::parse(&csv).map_err(ImportError::BadRows)?;
    let format = parsed.format.unwrap_or(Format::Ghost);
    let skipped = parsed.skipped.len();
    let outcome = db::run(&state.pool, move |conn| {
        let now = db::now();
        db::write_transaction(conn, |conn| {
            let mut report = ImportReport {
                skipped,
                ..ImportReport::default()
            };
            let mut conflicts = Vec::new();
            for (done, member) in parsed.members.iter().enumerate() {
                match db::members::import_one(conn, member, format, now) {
                    Ok(ImportOutcome::Created) => report.created += 1,
                    Ok(ImportOutcome::Updated) => report.updated += 1,
                    Ok(ImportOutcome::Unchanged) => report.unchanged += 1,
                    Err(ImportConflict::CustomerTaken(customer)) => conflicts.push(RowError {
                        line: member.line,
                        message: format!("stripe_customer_id {customer} belongs to another member here"),
                    }),
                    Err(ImportConflict::Database(e)) => return Err(anyhow::Error::new(e)),
                }
                progress(done as u64 + 1);
            }
            if conflicts.is_empty() {
                Ok(Ok(report))
            } else {
                // Roll back everything written above.
                Err(anyhow::Error::new(RolledBack(conflicts)))
            }
        })
        .or_else(|e| match e.downcast::<RolledBack>() {
            Ok(RolledBack(conflicts)) => Ok(Err(conflicts)),
            Err(e) => Err(e),
        })
    })
    .await?;
    let report = outcome.map_err(ImportError::BadRows)?;
    tracing::info!(format = format.name(), ?report, "members imported");
    Ok((format, report))
}

/// Rows that failed against the database: the import transaction is undone.
#[derive(Debug, thiserror::Error)]
#[error("rows conflict with this database")]
struct RolledBack(Vec<RowError>);

/// Every member (accounts deleted by their owners left out) as CSV in
/// Ghost's layout.
pub async fn export_csv(state: &AppState) -> anyhow::Result<Vec<u8>> {
    let now = db::now();
    let policy = state.policy;
    let (rows, subscribed) = db::run(&state.pool, |conn| {
        Ok((
            db::members::all_for_export(conn)?,
            db::newsletters::members_with_any(conn)?,
        ))
    })
    .await?;
    let exported: Vec<ExportedMember> = rows
        .into_iter()
        .map(|(user, member)| {
            let comped = member
                .comps
                .iter()
                .any(|c| c.expires_at.is_none_or(|end| end > now));
            // Ghost's files know free, paid and comped only.
            let label = match MemberStatus::of(&member, now, &policy) {
                MemberStatus::Staff => "staff",
                MemberStatus::Comped => "comped",
                MemberStatus::Paid | MemberStatus::CardFailed => "paid",
                MemberStatus::Lapsed | MemberStatus::Free => "free",
            };
            ExportedMember {
                id: user.id,
                email: user.email,
                name: user.name,
                newsletter: subscribed.contains(&user.id),
                comped,
                stripe_customer_id: user.stripe_customer_id,
                created_at: user.created_at,
                label,
            }
        })
        .collect();
    let mut out = Vec::new();
    member_csv::write(&exported, &mut out)?;
    Ok(out)
}
