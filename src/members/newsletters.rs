//! The newsletters a publication runs (admins make and change them; staff
//! read them) and each member's choice of them: the account page, the
//! unsubscribe links, the admin API.

use crate::{
    db::{
        self, DbConnection,
        engagement::{self, Moment},
        member_events,
        newsletters::{self as stored, NewNewsletter, NewsletterChanges, StoredNewsletter},
        suppressions, users,
    },
    domain::{
        access::Standing, editorial::Actor, member::MemberEventKind, newsletters::NewsletterVisibility,
        slug::Slug,
    },
    security::signed,
    state::AppState,
};

use super::{MemberError, admins_only};

/// A newsletter to create, already validated.
#[derive(Debug, Clone)]
pub struct NewsletterDraft {
    pub slug: Slug,
    pub name: String,
    pub description: String,
    pub sender_name: Option<String>,
    pub visibility: NewsletterVisibility,
    pub subscribe_on_signup: bool,
    pub position: i32,
}

/// A partial change, already validated. `sender_name: Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct NewsletterEdit {
    pub slug: Option<Slug>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub sender_name: Option<Option<String>>,
    pub visibility: Option<NewsletterVisibility>,
    pub subscribe_on_signup: Option<bool>,
    pub position: Option<i32>,
    pub archived: Option<bool>,
}

/// A newsletter and how many members receive it.
#[derive(Debug, Clone)]
pub struct NewsletterSummary {
    pub newsletter: StoredNewsletter,
    pub subscribers: i64,
}

/// Any staff member reads the newsletters (authors choose one for a post).
fn staff_only(actor: Actor) -> Result<(), MemberError> {
    super::allowed(actor.role.is_staff())
}

fn slug_taken(slug: &Slug) -> MemberError {
    MemberError::Conflict(format!("There is already a newsletter at {slug}."))
}

pub async fn list(state: &AppState, actor: Actor) -> Result<Vec<NewsletterSummary>, MemberError> {
    staff_only(actor)?;
    Ok(db::run(&state.pool, |conn| {
        let counts = stored::subscriber_counts(conn)?;
        Ok(stored::list(conn)?
            .into_iter()
            .map(|newsletter| NewsletterSummary {
                subscribers: counts.get(&newsletter.id).copied().unwrap_or(0),
                newsletter,
            })
            .collect())
    })
    .await?)
}

/// The newsletters still running, first (the default) first: what a post
/// or a sign-up form may choose.
pub async fn running(state: &AppState) -> anyhow::Result<Vec<StoredNewsletter>> {
    db::run(&state.pool, |conn| {
        Ok(stored::list(conn)?.into_iter().filter(|n| !n.archived).collect())
    })
    .await
}

pub async fn get(state: &AppState, actor: Actor, id: i32) -> Result<NewsletterSummary, MemberError> {
    staff_only(actor)?;
    db::run(&state.pool, move |conn| summary(conn, id))
        .await?
        .ok_or(MemberError::NotFound("There is no newsletter with that id."))
}

fn summary(conn: &mut DbConnection, id: i32) -> anyhow::Result<Option<NewsletterSummary>> {
    let Some(newsletter) = stored::find(conn, id)? else {
        return Ok(None);
    };
    let subscribers = stored::subscriber_counts(conn)?.get(&id).copied().unwrap_or(0);
    Ok(Some(NewsletterSummary {
        newsletter,
        subscribers,
    }))
}

pub async fn create(
    state: &AppState,
    actor: Actor,
    draft: NewsletterDraft,
) -> Result<NewsletterSummary, MemberError> {
    admins_only(actor)?;
    let slug = draft.slug.clone();
    let created = db::run(&state.pool, move |conn| {
        let now = db::now();
        let inserted = NewNewsletter {
            slug: draft.slug.as_str(),
            name: &draft.name,
            description: &draft.description,
            sender_name: draft.sender_name.as_deref(),
            visibility: draft.visibility.as_str(),
            subscribe_on_signup: draft.subscribe_on_signup,
            position: draft.position,
            created_at: now,
            updated_at: now,
        }
        .insert(conn);
        match inserted {
            Ok(newsletter) => Ok(Some(NewsletterSummary {
                newsletter,
                subscribers: 0,
            })),
            Err(e) if db::is_unique_violation(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    })
    .await?;
    let created = created.ok_or_else(|| slug_taken(&slug))?;
    // Sign-up forms offer the newsletters: they show the change at once.
    state.read_cache.clear();
    tracing::info!(newsletter = %created.newsletter.slug, actor_id = actor.user_id, "newsletter created");
    Ok(created)
}

pub async fn update(
    state: &AppState,
    actor: Actor,
    id: i32,
    edit: NewsletterEdit,
) -> Result<NewsletterSummary, MemberError> {
    admins_only(actor)?;
    let slug = edit.slug.clone();
    let outcome = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            if stored::find(conn, id)?.is_none() {
                return Ok(Err(MemberError::NotFound("There is no newsletter with that id.")));
            }
            if edit.archived == Some(true) && last_running(conn, id)? {
                return Ok(Err(MemberError::Conflict(
                    "This is the only newsletter still running: posts need one to go out through. Make another first."
                        .to_owned(),
                )));
            }
            let changes = NewsletterChanges {
                slug: edit.slug.map(|s| s.as_str().to_owned()),
                name: edit.name,
                description: edit.description,
                sender_name: edit.sender_name,
                visibility: edit.visibility.map(|v| v.as_str().to_owned()),
                subscribe_on_signup: edit.subscribe_on_signup,
                position: edit.position,
                archived: edit.archived,
                updated_at: Some(db::now()),
            };
            match stored::update(conn, id, &changes) {
                Ok(_) => {}
                Err(e) if db::is_unique_violation(&e) => {
                    return Ok(Err(slug_taken(slug.as_ref().expect("only a slug is unique"))));
                }
                Err(e) => return Err(e.into()),
            }
            Ok(Ok(summary(conn, id)?.expect("the row was just updated")))
        })
    })
    .await?;
    let updated = outcome?;
    state.read_cache.clear();
    tracing::info!(newsletter = %updated.newsletter.slug, actor_id = actor.user_id, "newsletter changed");
    Ok(updated)
}

/// Whether `id` is the only newsletter not archived.
fn last_running(conn: &mut DbConnection, id: i32) -> anyhow::Result<bool> {
    let running: Vec<i32> = stored::list(conn)?
        .into_iter()
        .filter(|n| !n.archived)
        .map(|n| n.id)
        .collect();
    Ok(running == [id])
}

/// One line of a member's newsletter choices.
#[derive(Debug, Clone)]
pub struct NewsletterChoice {
    pub newsletter: StoredNewsletter,
    pub subscribed: bool,
    /// A paid newsletter for someone whose plan does not read paid posts:
    /// shown, not offered.
    pub needs_paid_plan: bool,
}

/// The newsletters a member may choose among (those running, and any
/// archived one they still receive), with what they receive now.
pub fn choices_of(
    conn: &mut DbConnection,
    user_id: i32,
    paying: bool,
) -> anyhow::Result<Vec<NewsletterChoice>> {
    let subscribed = stored::subscriptions_of(conn, user_id)?;
    Ok(stored::list(conn)?
        .into_iter()
        .filter(|n| !n.archived || subscribed.contains(&n.id))
        .map(|newsletter| NewsletterChoice {
            subscribed: subscribed.contains(&newsletter.id),
            needs_paid_plan: newsletter.visibility == NewsletterVisibility::Paid && !paying,
            newsletter,
        })
        .collect())
}

/// The account page's list.
pub async fn choices(
    state: &AppState,
    user_id: i32,
    standing: Standing,
) -> anyhow::Result<Vec<NewsletterChoice>> {
    db::run(&state.pool, move |conn| {
        choices_of(conn, user_id, standing.is_paying())
    })
    .await
}

/// Who sets a member's newsletters.
#[derive(Debug, Clone, Copy)]
pub enum Chooser {
    /// The member: a paid newsletter only with a plan that reads paid posts.
    Member { paying: bool },
    /// An admin, who may put a member on any running newsletter (they answer
    /// for it, as for a comp).
    Admin { actor_id: i32 },
}

/// Makes `user_id` receive exactly `chosen` (ids) of the newsletters they
/// may be put on; other ids are ignored. Each change is on the member's
/// timeline; choosing any lifts an earlier "leave all".
pub fn choose_in(
    conn: &mut DbConnection,
    user_id: i32,
    chosen: &[i32],
    chooser: Chooser,
) -> anyhow::Result<()> {
    let now = db::now();
    let user = users::find(conn, user_id)?.ok_or_else(|| anyhow::anyhow!("member {user_id} vanished"))?;
    let (paying, actor_id) = match chooser {
        Chooser::Member { paying } => (paying, None),
        Chooser::Admin { actor_id } => (true, Some(actor_id)),
    };
    for choice in choices_of(conn, user_id, paying)? {
        let id = choice.newsletter.id;
        // Keeping one is always allowed; joining needs it running and, for
        // a paid newsletter chosen by the member, a plan that reads paid posts.
        let may_join = !choice.needs_paid_plan && !choice.newsletter.archived;
        let wanted = chosen.contains(&id) && (choice.subscribed || may_join);
        if wanted && !choice.subscribed {
            stored::subscribe(conn, user_id, &[id], now)?;
            member_events::record(
                conn,
                user_id,
                MemberEventKind::NewsletterJoined,
                &choice.newsletter.name,
                actor_id,
                now,
            )?;
        } else if !wanted && choice.subscribed {
            stored::unsubscribe(conn, user_id, Some(id))?;
            member_events::record(
                conn,
                user_id,
                MemberEventKind::NewsletterLeft,
                &choice.newsletter.name,
                actor_id,
                now,
            )?;
        }
    }
    if !chosen.is_empty() {
        suppressions::remove_unsubscribed(conn, &user.email)?;
    }
    Ok(())
}

/// The account page's form.
pub async fn choose(
    state: &AppState,
    user_id: i32,
    chosen: Vec<i32>,
    standing: Standing,
) -> anyhow::Result<()> {
    db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let paying = standing.is_paying();
            choose_in(conn, user_id, &chosen, Chooser::Member { paying })
        })
    })
    .await
}

/// What an unsubscribe link is about, for its page.
#[derive(Debug, Clone)]
pub struct UnsubscribeLink {
    pub user_id: i32,
    pub newsletter: StoredNewsletter,
    /// The delivery the link came in, whose post's figures count the leave.
    pub delivery_id: Option<i32>,
}

/// The member and newsletter a link names; `None` for a forged link or one
/// whose member or newsletter is gone.
pub async fn read_link(state: &AppState, token: &str) -> anyhow::Result<Option<UnsubscribeLink>> {
    let Some(claim) = signed::parse_unsubscribe_token(&state.signing_key, token) else {
        return Ok(None);
    };
    db::run(&state.pool, move |conn| {
        if users::find(conn, claim.user_id)?.is_none() {
            return Ok(None);
        }
        Ok(
            stored::find(conn, claim.newsletter_id)?.map(|newsletter| UnsubscribeLink {
                user_id: claim.user_id,
                newsletter,
                delivery_id: claim.delivery_id,
            }),
        )
    })
    .await
}

/// RFC 8058 one-click: the member leaves the link's newsletter (and only
/// it). Returns what they left, or `None` for a bad link.
pub async fn unsubscribe(state: &AppState, token: &str) -> anyhow::Result<Option<UnsubscribeLink>> {
    let Some(link) = read_link(state, token).await? else {
        return Ok(None);
    };
    let (user_id, newsletter, delivery_id) = (link.user_id, link.newsletter.clone(), link.delivery_id);
    db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            if stored::unsubscribe(conn, user_id, Some(newsletter.id))? > 0 {
                if let Some(delivery_id) = delivery_id {
                    engagement::record_first(conn, delivery_id, user_id, Moment::Unsubscribed, db::now())?;
                }
                member_events::record(
                    conn,
                    user_id,
                    MemberEventKind::NewsletterLeft,
                    &newsletter.name,
                    None,
                    db::now(),
                )?;
                tracing::info!(user_id, newsletter = %newsletter.slug, "unsubscribed");
            }
            anyhow::Ok(())
        })
    })
    .await?;
    Ok(Some(link))
}

/// "Leave all" on the unsubscribe page: every newsletter, and the address
/// suppressed (`unsubscribed`) so that no import or default brings it back
/// until the member chooses a newsletter again.
pub async fn unsubscribe_from_all(state: &AppState, token: &str) -> anyhow::Result<bool> {
    let Some(link) = read_link(state, token).await? else {
        return Ok(false);
    };
    let (user_id, delivery_id) = (link.user_id, link.delivery_id);
    db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let user =
                users::find(conn, user_id)?.ok_or_else(|| anyhow::anyhow!("member {user_id} vanished"))?;
            stored::unsubscribe(conn, user_id, None)?;
            if let Some(delivery_id) = delivery_id {
                engagement::record_first(conn, delivery_id, user_id, Moment::Unsubscribed, db::now())?;
            }
            suppressions::add(conn, &user.email, "unsubscribed")?;
            member_events::record(
                conn,
                user_id,
                MemberEventKind::UnsubscribedFromAll,
                "",
                None,
                db::now(),
            )?;
            tracing::info!(user_id, "unsubscribed from every newsletter");
            anyhow::Ok(())
        })
    })
    .await?;
    Ok(true)
}
