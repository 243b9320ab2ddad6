//! Finding and reading members, for editors: the list (search, filters,
//! pages), the counts at the top of it, a member's profile and timeline.
//! Where a member stands is the access policy's answer (`MemberStatus`),
//! worked out from the billing rows of the members that have any; the
//! others are free (or staff), which needs no rows at all.

use std::collections::HashMap;

use time::PrimitiveDateTime;

use crate::{
    db::{
        self, DbConnection, labels,
        member_directory::{self, DirectoryFilter, MemberRow},
        members as facts, newsletters,
        personal_data::{self, PersonalData},
        users::{self, User},
    },
    domain::{
        access::{Policy, Standing},
        delivery::DeliveryStatus,
        editorial::Actor,
        member::{MemberEventKind, MemberQuery, MemberStatus},
        role::Role,
    },
    state::AppState,
};

use super::{MemberError, NO_MEMBER, editors_only, newsletters::NewsletterChoice};

/// One row of the member list.
#[derive(Debug, Clone)]
pub struct MemberListItem {
    pub row: MemberRow,
    pub status: MemberStatus,
    pub labels: Vec<String>,
}

/// One page of the member list.
#[derive(Debug, Clone)]
pub struct MemberPage {
    pub items: Vec<MemberListItem>,
    /// How many members match in all.
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// The statuses of `members` (a page: their facts are loaded directly).
fn statuses_of(
    conn: &mut DbConnection,
    members: &[(i32, Role)],
    now: PrimitiveDateTime,
    policy: &Policy,
) -> anyhow::Result<HashMap<i32, MemberStatus>> {
    let loaded = facts::load_many(conn, members)?;
    Ok(loaded
        .iter()
        .map(|(id, member)| (*id, MemberStatus::of(member, now, policy)))
        .collect())
}

/// The statuses of many members (a whole list): only those with billing
/// rows need the policy; everyone else is free or staff.
fn statuses_of_many(
    conn: &mut DbConnection,
    members: &[(i32, Role)],
    now: PrimitiveDateTime,
    policy: &Policy,
) -> anyhow::Result<HashMap<i32, MemberStatus>> {
    let with_rows = member_directory::with_billing_rows(conn)?;
    let needing_policy: Vec<(i32, Role)> = members
        .iter()
        .filter(|(id, role)| !role.is_staff() && with_rows.contains(id))
        .copied()
        .collect();
    let mut statuses = statuses_of(conn, &needing_policy, now, policy)?;
    for (id, role) in members {
        statuses.entry(*id).or_insert(if role.is_staff() {
            MemberStatus::Staff
        } else {
            MemberStatus::Free
        });
    }
    Ok(statuses)
}

/// The SQL half of a query; `None` when it names a label or newsletter
/// that does not exist (nobody matches).
fn directory_filter(conn: &mut DbConnection, query: &MemberQuery) -> anyhow::Result<Option<DirectoryFilter>> {
    let label_id = match &query.label {
        Some(slug) => match labels::find_by_slug(conn, slug.as_str())? {
            Some(label) => Some(label.id),
            None => return Ok(None),
        },
        None => None,
    };
    let newsletter_id = match &query.newsletter {
        Some(slug) => match newsletters::find_by_slug(conn, slug.as_str())? {
            Some(newsletter) => Some(newsletter.id),
            None => return Ok(None),
        },
        None => None,
    };
    Ok(Some(DirectoryFilter {
        search: query.search.as_ref().map(|s| s.to_lowercase()),
        label_id,
        newsletter_id,
        source: query.source.clone(),
        created_after: query.created_after,
    }))
}

pub async fn list(state: &AppState, actor: Actor, query: MemberQuery) -> Result<MemberPage, MemberError> {
    editors_only(actor)?;
    let policy = state.policy;
    Ok(db::run(&state.pool, move |conn| {
        let now = db::now();
        let empty = MemberPage {
            items: Vec::new(),
            total: 0,
            page: query.page,
            per_page: query.per_page,
        };
        let Some(filter) = directory_filter(conn, &query)? else {
            return Ok(empty);
        };
        let (members, total) = match query.status {
            None => member_directory::page(conn, &filter, query.per_page, query.offset())?,
            Some(wanted) => {
                let everyone = member_directory::all_matching(conn, &filter)?;
                let statuses = statuses_of_many(conn, &everyone, now, &policy)?;
                let matching: Vec<(i32, Role)> = everyone
                    .into_iter()
                    .filter(|(id, _)| statuses.get(id) == Some(&wanted))
                    .collect();
                let total = matching.len() as i64;
                let page = matching
                    .into_iter()
                    .skip(query.offset() as usize)
                    .take(query.per_page as usize)
                    .collect();
                (page, total)
            }
        };
        let statuses = statuses_of(conn, &members, now, &policy)?;
        let ids: Vec<i32> = members.iter().map(|(id, _)| *id).collect();
        let mut label_names = labels::names_of_many(conn, &ids)?;
        let items = member_directory::rows(conn, &ids)?
            .into_iter()
            .map(|row| MemberListItem {
                status: statuses.get(&row.id).copied().unwrap_or(MemberStatus::Free),
                labels: label_names.remove(&row.id).unwrap_or_default(),
                row,
            })
            .collect();
        Ok(MemberPage {
            items,
            total,
            ..empty
        })
    })
    .await?)
}

/// The counts at the top of the member list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StandingCounts {
    pub total: i64,
    pub by_status: Vec<(MemberStatus, i64)>,
    /// Joined since the first of this month (UTC).
    pub new_this_month: i64,
}

pub async fn counts(state: &AppState, actor: Actor) -> Result<StandingCounts, MemberError> {
    editors_only(actor)?;
    let policy = state.policy;
    Ok(db::run(&state.pool, move |conn| {
        let now = db::now();
        let everyone = member_directory::everyone(conn)?;
        let statuses = statuses_of_many(conn, &everyone, now, &policy)?;
        let by_status = MemberStatus::ALL
            .iter()
            .map(|status| (*status, statuses.values().filter(|s| *s == status).count() as i64))
            .collect();
        let month_start = crate::domain::time::start_of_month(now);
        Ok(StandingCounts {
            total: everyone.len() as i64,
            by_status,
            new_this_month: member_directory::count_created_since(conn, month_start)?,
        })
    })
    .await?)
}

/// Everything editors see of one member.
#[derive(Debug)]
pub struct MemberProfile {
    pub user: User,
    pub status: MemberStatus,
    /// The access policy's own word (`in_grace` and `card_failed` apart).
    pub standing: Standing,
    pub data: PersonalData,
    pub newsletters: Vec<NewsletterChoice>,
    pub deliveries: HashMap<DeliveryStatus, i64>,
}

pub async fn profile(state: &AppState, actor: Actor, user_id: i32) -> Result<MemberProfile, MemberError> {
    editors_only(actor)?;
    let policy = state.policy;
    db::run(&state.pool, move |conn| profile_in(conn, user_id, &policy))
        .await?
        .ok_or(MemberError::NotFound(NO_MEMBER))
}

pub(super) fn profile_in(
    conn: &mut DbConnection,
    user_id: i32,
    policy: &Policy,
) -> anyhow::Result<Option<MemberProfile>> {
    let Some(user) = users::find(conn, user_id)?.filter(|u| u.deleted_at.is_none()) else {
        return Ok(None);
    };
    let member = facts::load_member(conn, &user)?;
    let now = db::now();
    let standing = Standing::of(&member, now, policy);
    Ok(Some(MemberProfile {
        status: MemberStatus::of(&member, now, policy),
        standing,
        data: personal_data::collect(conn, &user)?,
        newsletters: super::newsletters::choices_of(conn, user_id, standing.is_paying())?,
        deliveries: member_directory::delivery_counts(conn, user_id)?,
        user,
    }))
}

/// One line of a member's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityEntry {
    pub at: PrimitiveDateTime,
    /// A stable word for scripts: `joined`, `email_verified`, `newsletter_sent`…
    pub kind: String,
    /// For people: "Received “The river”".
    pub summary: String,
}

pub async fn activity(
    state: &AppState,
    actor: Actor,
    user_id: i32,
) -> Result<Vec<ActivityEntry>, MemberError> {
    let profile = profile(state, actor, user_id).await?;
    Ok(timeline(&profile.data, db::now()))
}

/// The member's story, newest first, from what is recorded about them.
pub fn timeline(data: &PersonalData, now: PrimitiveDateTime) -> Vec<ActivityEntry> {
    let mut entries = Vec::new();
    let mut add = |at: PrimitiveDateTime, kind: &str, summary: String| {
        entries.push(ActivityEntry {
            at,
            kind: kind.to_owned(),
            summary,
        })
    };
    let account = &data.account;
    let joined = match &account.source {
        Some(source) => format!("Joined (from {source})"),
        None => "Joined".to_owned(),
    };
    add(account.created_at, "joined", joined);
    if let Some(at) = account.email_verified_at {
        add(at, "email_verified", "Confirmed their email address".to_owned());
    }
    for sub in &data.subscriptions {
        add(
            sub.created_at,
            "subscription_started",
            format!("Subscribed ({})", sub.price_id),
        );
        if sub.updated_at > sub.created_at && sub.status != "active" {
            add(
                sub.updated_at,
                "subscription_changed",
                format!("Subscription is now {}", sub.status.replace('_', " ")),
            );
        }
    }
    for comp in &data.complimentary_access {
        let until = comp
            .expires_at
            .map(|end| format!(" until {}", crate::domain::time::rfc3339(end)))
            .unwrap_or_default();
        add(
            comp.granted_at,
            "comp_granted",
            format!("Complimentary access{until}: {}", comp.reason),
        );
        if let Some(end) = comp.expires_at.filter(|end| *end <= now) {
            add(end, "comp_ended", "Complimentary access ended".to_owned());
        }
    }
    for gift in &data.gift_links {
        add(
            gift.created_at,
            "gift_link_shared",
            format!("Shared a gift link to “{}”", gift.article),
        );
    }
    for delivery in &data.newsletters_received {
        match delivery.status.as_str() {
            "sent" => add(
                delivery.sent_at.unwrap_or(delivery.queued_at),
                "newsletter_sent",
                format!("Received “{}”", delivery.article),
            ),
            "failed" => add(
                delivery.queued_at,
                "newsletter_failed",
                format!("Could not be sent “{}”", delivery.article),
            ),
            "suppressed" => add(
                delivery.queued_at,
                "newsletter_skipped",
                format!("Not sent “{}” (suppressed)", delivery.article),
            ),
            _ => add(
                delivery.queued_at,
                "newsletter_queued",
                format!("“{}” is on its way", delivery.article),
            ),
        }
    }
    for email in &data.emails_sent_to_you {
        add(
            email.created_at,
            "email",
            format!("Email “{}” ({})", email.subject, email.status),
        );
    }
    for event in &data.events {
        let summary = match MemberEventKind::parse(&event.kind) {
            Ok(MemberEventKind::SignedIn) if event.detail.is_empty() => "Signed in".to_owned(),
            Ok(MemberEventKind::SignedIn) => format!("Signed in ({})", event.detail),
            Ok(MemberEventKind::NewsletterJoined) => format!("Joined the newsletter {}", event.detail),
            Ok(MemberEventKind::NewsletterLeft) => format!("Left the newsletter {}", event.detail),
            Ok(MemberEventKind::UnsubscribedFromAll) => "Left every newsletter".to_owned(),
            Ok(MemberEventKind::EmailChanged) => format!("Email address changed ({})", event.detail),
            Ok(MemberEventKind::Suppressed) => format!("Emails stopped by an editor ({})", event.detail),
            Ok(MemberEventKind::SuppressionLifted) => "Emails resumed by an editor".to_owned(),
            Ok(MemberEventKind::AddedByStaff) => "Added by an editor".to_owned(),
            Ok(MemberEventKind::SignInLinkSent) => "Sent a sign-in link".to_owned(),
            Ok(MemberEventKind::WelcomeSent) => format!("Sent the {} welcome email", event.detail),
            Ok(MemberEventKind::EmailFeedback) => event.detail.clone(),
            Err(_) => event.kind.clone(),
        };
        add(event.at, &event.kind, summary);
    }
    entries.sort_by_key(|entry| std::cmp::Reverse(entry.at));
    entries
}
