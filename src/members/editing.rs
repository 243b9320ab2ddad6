//! What admins change about members: adding one by hand, their name,
//! address, labels, note, newsletters and suppression, and deleting them
//! (the same erasure as a member deleting their own account).

use time::PrimitiveDateTime;

use crate::{
    accounts::{self, data_rights::DeleteError, links},
    db::{self, billing, labels, member_events, newsletters, suppressions, users},
    domain::{editorial::Actor, email::EmailAddress, member::MemberEventKind, role::Role, slug::Slug},
    state::AppState,
};

use super::{MemberError, NO_MEMBER, admins_only, directory::MemberProfile, newsletters::Chooser};

/// Complimentary access to grant with a new member.
#[derive(Debug, Clone)]
pub struct CompGrant {
    pub expires_at: Option<PrimitiveDateTime>,
    pub reason: String,
}

/// A member an admin adds, already validated.
#[derive(Debug, Clone)]
pub struct MemberDraft {
    pub email: EmailAddress,
    pub name: Option<String>,
    /// Label names (made on first use).
    pub labels: Vec<String>,
    pub note: Option<String>,
    /// Newsletter slugs; `None`: those new members join.
    pub newsletters: Option<Vec<Slug>>,
    pub comp: Option<CompGrant>,
    pub send_sign_in_link: bool,
}

/// A partial change. `None` leaves a field as it is; `name` and `note` as
/// `Some(None)` clear it.
#[derive(Debug, Clone, Default)]
pub struct MemberEdit {
    pub name: Option<Option<String>>,
    /// A new address: unconfirmed until the member clicks the link sent to it.
    pub email: Option<EmailAddress>,
    pub labels: Option<Vec<String>>,
    pub note: Option<Option<String>>,
    pub newsletters: Option<Vec<Slug>>,
    /// `true`: no more email to them; `false`: lift a suppression (an
    /// unsubscribe, a bounce or a complaint).
    pub suppressed: Option<bool>,
}

fn email_taken(email: &EmailAddress) -> MemberError {
    MemberError::Conflict(format!("{email} already belongs to a member."))
}

/// The ids of the newsletters named by slug; an unknown or archived one is
/// refused.
fn newsletter_ids(
    conn: &mut db::DbConnection,
    slugs: &[Slug],
) -> anyhow::Result<Result<Vec<i32>, MemberError>> {
    let mut ids = Vec::with_capacity(slugs.len());
    for slug in slugs {
        let refused = match newsletters::find_by_slug(conn, slug.as_str())? {
            Some(newsletter) if !newsletter.archived => {
                ids.push(newsletter.id);
                continue;
            }
            Some(_) => format!("the newsletter {slug} is archived"),
            None => format!("there is no newsletter {slug}"),
        };
        let invalid = crate::domain::InvalidInput::new("newsletters", refused);
        return Ok(Err(MemberError::Invalid(invalid)));
    }
    Ok(Ok(ids))
}

pub async fn create(
    state: &AppState,
    actor: Actor,
    draft: MemberDraft,
) -> Result<MemberProfile, MemberError> {
    admins_only(actor)?;
    let config = state.config.clone();
    let policy = state.policy;
    let outcome = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let now = db::now();
            let inserted = users::NewUser {
                email: draft.email.as_str(),
                name: draft.name.as_deref(),
                password_hash: None,
                role: Role::Reader.as_str(),
                created_at: now,
                source: Some("admin"),
            }
            .insert(conn);
            let user = match inserted {
                Ok(user) => user,
                Err(e) if db::is_unique_violation(&e) => return Ok(Err(email_taken(&draft.email))),
                Err(e) => return Err(e.into()),
            };
            // An admin adding someone vouches for the address, as an import does.
            users::mark_email_verified(conn, user.id, now)?;
            member_events::record(
                conn,
                user.id,
                MemberEventKind::AddedByStaff,
                "",
                Some(actor.user_id),
                now,
            )?;
            match &draft.newsletters {
                None => {
                    newsletters::join_defaults(conn, user.id, now)?;
                }
                Some(slugs) => match newsletter_ids(conn, slugs)? {
                    Ok(ids) => {
                        newsletters::subscribe(conn, user.id, &ids, now)?;
                    }
                    Err(refused) => return Ok(Err(refused)),
                },
            }
            let label_ids = super::labels::resolve(conn, &draft.labels)?;
            labels::add_member_labels(conn, user.id, &label_ids, now)?;
            if let Some(note) = &draft.note {
                users::set_note(conn, user.id, Some(note))?;
            }
            if let Some(comp) = &draft.comp {
                billing::grant_comp(conn, user.id, actor.user_id, comp.expires_at, &comp.reason)?;
            }
            if draft.send_sign_in_link {
                links::queue_link_for(conn, &config, &user, links::LinkKind::SignIn)?;
                member_events::record(
                    conn,
                    user.id,
                    MemberEventKind::SignInLinkSent,
                    "",
                    Some(actor.user_id),
                    now,
                )?;
            }
            let profile =
                super::directory::profile_in(conn, user.id, &policy)?.expect("the member was just added");
            Ok(Ok(profile))
        })
    })
    .await?;
    let profile = outcome?;
    state.read_cache.clear();
    tracing::info!(
        user_id = profile.user.id,
        actor_id = actor.user_id,
        "member added"
    );
    Ok(profile)
}

pub async fn update(
    state: &AppState,
    actor: Actor,
    user_id: i32,
    edit: MemberEdit,
) -> Result<MemberProfile, MemberError> {
    admins_only(actor)?;
    let config = state.config.clone();
    let policy = state.policy;
    let outcome = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let now = db::now();
            let Some(user) = users::find(conn, user_id)?.filter(|u| u.deleted_at.is_none()) else {
                return Ok(Err(MemberError::NotFound(NO_MEMBER)));
            };
            if let Some(name) = &edit.name {
                users::set_name(conn, user_id, name.as_deref())?;
            }
            if let Some(note) = &edit.note {
                users::set_note(conn, user_id, note.as_deref())?;
            }
            if let Some(names) = &edit.labels {
                let ids = super::labels::resolve(conn, names)?;
                labels::set_member_labels(conn, user_id, &ids, now)?;
            }
            // Name, note and labels keep no timeline line of their own.
            if edit.name.is_some() || edit.note.is_some() || edit.labels.is_some() {
                db::webhooks::member_updated(conn, user_id, "profile")?;
            }
            if let Some(slugs) = &edit.newsletters {
                let ids = match newsletter_ids(conn, slugs)? {
                    Ok(ids) => ids,
                    Err(refused) => return Ok(Err(refused)),
                };
                let admin = Chooser::Admin {
                    actor_id: actor.user_id,
                };
                super::newsletters::choose_in(conn, user_id, &ids, admin)?;
            }
            match edit.suppressed {
                Some(true) => {
                    suppressions::add(conn, &user.email, "manual")?;
                    member_events::record(
                        conn,
                        user_id,
                        MemberEventKind::Suppressed,
                        "manual",
                        Some(actor.user_id),
                        now,
                    )?;
                }
                Some(false) if suppressions::remove(conn, &user.email)? > 0 => {
                    member_events::record(
                        conn,
                        user_id,
                        MemberEventKind::SuppressionLifted,
                        "",
                        Some(actor.user_id),
                        now,
                    )?;
                }
                Some(false) | None => {}
            }
            if let Some(email) = edit.email.as_ref().filter(|e| e.as_str() != user.email) {
                match users::change_email(conn, user_id, email.as_str()) {
                    Ok(_) => {}
                    Err(e) if db::is_unique_violation(&e) => return Ok(Err(email_taken(email))),
                    Err(e) => return Err(e.into()),
                }
                // The new address is the member's only once they prove it;
                // until then no newsletter goes there.
                links::queue_verification(conn, &config, user_id, email.as_str())?;
                let detail = format!("from {}", user.email);
                member_events::record(
                    conn,
                    user_id,
                    MemberEventKind::EmailChanged,
                    &detail,
                    Some(actor.user_id),
                    now,
                )?;
            }
            let profile = super::directory::profile_in(conn, user_id, &policy)?.expect("the member exists");
            Ok(Ok(profile))
        })
    })
    .await?;
    let profile = outcome?;
    state.read_cache.clear();
    tracing::info!(user_id, actor_id = actor.user_id, "member changed");
    Ok(profile)
}

/// Deletes a member as they could themselves: Stripe renewals stopped
/// first, then everything that names them erased.
pub async fn delete(state: &AppState, actor: Actor, user_id: i32) -> Result<(), MemberError> {
    admins_only(actor)?;
    let user = db::run(&state.pool, move |conn| Ok(users::find(conn, user_id)?))
        .await?
        .filter(|u| u.deleted_at.is_none())
        .ok_or(MemberError::NotFound(NO_MEMBER))?;
    match accounts::data_rights::delete_account(state, &user).await {
        Ok(()) => {
            tracing::info!(user_id, actor_id = actor.user_id, "member deleted by an admin");
            Ok(())
        }
        Err(DeleteError::Staff) => Err(MemberError::Conflict(
            "Staff accounts are not deleted here: change their role to reader first, so their articles keep an author.".to_owned(),
        )),
        Err(DeleteError::Billing(e)) => Err(MemberError::StripeDown(e)),
        Err(DeleteError::Internal(e)) => Err(MemberError::Internal(e)),
    }
}
