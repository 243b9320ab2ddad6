//! The facts the access policy needs about a member, read from
//! `subscriptions` and `comps`.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::db::{
    DbConnection,
    schema::{comps, subscriptions, tier_prices},
    users::User,
};
use crate::domain::{
    access::{Comp, Member, Subscription},
    subscription::SubscriptionStatus,
};

pub fn load_member(conn: &mut DbConnection, user: &User) -> QueryResult<Member> {
    let mut members = load_many(conn, &[(user.id, user.role())])?;
    Ok(members.remove(&user.id).unwrap_or(Member {
        role: user.role(),
        subscriptions: Vec::new(),
        comps: Vec::new(),
        suspended: false,
    }))
}

/// A subscription row written directly (tests and the benchmark seed it;
/// billing stores through `billing::store_subscription`).
#[derive(Debug, Insertable)]
#[diesel(table_name = subscriptions)]
pub struct NewSubscription<'a> {
    pub user_id: i32,
    pub stripe_subscription_id: &'a str,
    pub status: &'a str,
    pub price_id: &'a str,
    pub current_period_end: Option<PrimitiveDateTime>,
    pub cancel_at_period_end: bool,
    pub past_due_since: Option<PrimitiveDateTime>,
    pub stripe_updated_at: PrimitiveDateTime,
    pub created_at: PrimitiveDateTime,
}

impl NewSubscription<'_> {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<usize> {
        diesel::insert_into(subscriptions::table)
            .values(self)
            .execute(conn)
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = comps)]
pub struct NewComp<'a> {
    pub user_id: i32,
    pub granted_by: Option<i32>,
    pub expires_at: Option<PrimitiveDateTime>,
    pub reason: &'a str,
    pub created_at: PrimitiveDateTime,
    /// One tier's access (a gift of that tier); `None`: every tier.
    pub tier_id: Option<i32>,
}

impl NewComp<'_> {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<usize> {
        diesel::insert_into(comps::table).values(self).execute(conn)
    }

    /// Inserts it; returns its id.
    pub fn insert_returning_id(&self, conn: &mut DbConnection) -> QueryResult<i32> {
        diesel::insert_into(comps::table)
            .values(self)
            .returning(comps::id)
            .get_result(conn)
    }
}

/// Ends a comp now (a refunded gift); a comp that ended earlier stays as it was.
pub fn end_comp(conn: &mut DbConnection, comp_id: i32, at: PrimitiveDateTime) -> QueryResult<usize> {
    diesel::update(
        comps::table
            .find(comp_id)
            .filter(comps::expires_at.is_null().or(comps::expires_at.gt(at))),
    )
    .set(comps::expires_at.eq(Some(at)))
    .execute(conn)
}

/// The access facts of many members at once (for newsletter fan-out and
/// sending), keyed by user id. `users` pairs each id with its role.
pub fn load_many(
    conn: &mut DbConnection,
    users: &[(i32, crate::domain::role::Role)],
) -> QueryResult<std::collections::HashMap<i32, Member>> {
    let mut members: std::collections::HashMap<i32, Member> = users
        .iter()
        .map(|&(id, role)| {
            (
                id,
                Member {
                    role,
                    subscriptions: Vec::new(),
                    comps: Vec::new(),
                    suspended: false,
                },
            )
        })
        .collect();
    // Bounded IN lists: SQLite allows 32,766 bound values.
    for chunk in users.chunks(10_000) {
        let ids: Vec<i32> = chunk.iter().map(|(id, _)| *id).collect();
        // The tier is the catalogue's for the subscription's price, read
        // now: a price moved to another tier moves its readers with it.
        type SubscriptionRow = (
            i32,
            String,
            Option<PrimitiveDateTime>,
            Option<PrimitiveDateTime>,
            Option<i32>,
        );
        let subs: Vec<SubscriptionRow> = subscriptions::table
            .left_join(tier_prices::table.on(tier_prices::stripe_price_id.eq(subscriptions::price_id)))
            .filter(subscriptions::user_id.eq_any(&ids))
            .select((
                subscriptions::user_id,
                subscriptions::status,
                subscriptions::current_period_end,
                subscriptions::past_due_since,
                tier_prices::tier_id.nullable(),
            ))
            .load(conn)?;
        for (user_id, status, current_period_end, past_due_since, tier) in subs {
            let Some(member) = members.get_mut(&user_id) else {
                continue;
            };
            match SubscriptionStatus::parse(&status) {
                Ok(status) => member.subscriptions.push(Subscription {
                    status,
                    tier,
                    current_period_end,
                    past_due_since,
                }),
                // A status we do not know grants nothing.
                Err(_) => tracing::warn!(user_id, %status, "ignoring a subscription with an unknown status"),
            }
        }
        let comp_rows: Vec<(i32, Option<PrimitiveDateTime>, Option<i32>)> = comps::table
            .filter(comps::user_id.eq_any(&ids))
            .select((comps::user_id, comps::expires_at, comps::tier_id))
            .load(conn)?;
        for (user_id, expires_at, tier) in comp_rows {
            if let Some(member) = members.get_mut(&user_id) {
                member.comps.push(Comp { expires_at, tier });
            }
        }
        for user_id in super::billing::suspended_among(conn, &ids)? {
            if let Some(member) = members.get_mut(&user_id) {
                member.suspended = true;
            }
        }
    }
    Ok(members)
}

/// What importing one member did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    Created,
    /// An existing member gained what the file adds (a name, a Stripe
    /// customer, a comp); nothing they had is overwritten.
    Updated,
    Unchanged,
}

/// Why an otherwise valid row cannot be imported into this database.
#[derive(Debug, thiserror::Error)]
pub enum ImportConflict {
    #[error("stripe_customer_id {0} belongs to another member here")]
    CustomerTaken(String),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Imports one member: creates them, or fills in what an existing member
/// lacks. Idempotent: the same row twice changes nothing the second time.
/// Imported members count as verified (they confirmed on the old platform)
/// and keep the newsletter consent the file records; an existing member's
/// own choice is never overwritten.
pub fn import_one(
    conn: &mut DbConnection,
    member: &crate::domain::member_csv::ImportedMember,
    source: crate::domain::member_csv::Format,
    now: PrimitiveDateTime,
) -> Result<ImportOutcome, ImportConflict> {
    use crate::db::schema::users;
    use crate::domain::member_csv::Plan;
    let existing = super::users::find_by_email(conn, &member.email)?;
    let created = existing.is_none();
    let user = match existing {
        Some(user) => user,
        None => {
            let created_at = member.created_at.unwrap_or(now);
            let user = super::users::NewUser {
                email: member.email.as_str(),
                name: member.name.as_deref(),
                password_hash: None,
                role: "reader",
                created_at,
                source: Some("import"),
            }
            .insert(conn)?;
            diesel::update(users::table.find(user.id))
                .set(users::email_verified_at.eq(Some(created_at)))
                .execute(conn)?;
            if member.newsletter {
                super::newsletters::join_defaults(conn, user.id, now)?;
            }
            user
        }
    };
    let mut changed = false;
    let mut entitled = false;
    if user.name.is_none()
        && let Some(name) = &member.name
    {
        diesel::update(users::table.find(user.id))
            .set(users::name.eq(name))
            .execute(conn)?;
        changed = true;
    }
    let comp = match &member.plan {
        Plan::Free => None,
        Plan::StripeCustomer(customer) => {
            if user.stripe_customer_id.is_none() {
                let owner: Option<i32> = users::table
                    .filter(users::stripe_customer_id.eq(customer))
                    .select(users::id)
                    .first(conn)
                    .optional()?;
                if owner.is_some_and(|id| id != user.id) {
                    return Err(ImportConflict::CustomerTaken(customer.clone()));
                }
                diesel::update(users::table.find(user.id))
                    .set(users::stripe_customer_id.eq(customer))
                    .execute(conn)?;
                changed = true;
                entitled = true;
            }
            None
        }
        Plan::Comp { until } => Some((*until, format!("imported from {}", source.name()))),
        // A paid period already over grants nothing.
        Plan::PaidUntil(until) if *until <= now => None,
        Plan::PaidUntil(until) => Some((
            Some(*until),
            format!(
                "{}{} until {}",
                super::billing::PAID_ELSEWHERE,
                source.name(),
                crate::domain::time::rfc3339(*until)
            ),
        )),
    };
    if let Some((expires_at, reason)) = comp {
        let already: i64 = comps::table
            .filter(comps::user_id.eq(user.id))
            .filter(comps::reason.eq(&reason))
            .count()
            .get_result(conn)?;
        if already == 0 {
            NewComp {
                user_id: user.id,
                granted_by: None,
                expires_at,
                reason: &reason,
                created_at: now,
                tier_id: None,
            }
            .insert(conn)?;
            changed = true;
            entitled = true;
        }
    }
    // The publisher's list says who paid with this address; an account
    // signed up with it but never proved is not theirs to inherit it. Whoever
    // holds it is shown out, and the owner signs in by emailed link.
    if entitled && !created && user.email_verified_at.is_none() {
        super::users::shut_out_others(conn, user.id, None, true, now)?;
    }
    Ok(match (created, changed) {
        (true, _) => ImportOutcome::Created,
        (false, true) => ImportOutcome::Updated,
        (false, false) => ImportOutcome::Unchanged,
    })
}

/// Every member who has not deleted their account, oldest first, with the
/// access facts the export labels them by.
pub fn all_for_export(conn: &mut DbConnection) -> QueryResult<Vec<(User, Member)>> {
    use crate::db::schema::users;
    let people: Vec<User> = users::table
        .filter(users::deleted_at.is_null())
        .order(users::id)
        .select(User::as_select())
        .load(conn)?;
    let roles: Vec<(i32, crate::domain::role::Role)> = people.iter().map(|u| (u.id, u.role())).collect();
    let mut members = load_many(conn, &roles)?;
    Ok(people
        .into_iter()
        .filter_map(|user| {
            let member = members.remove(&user.id)?;
            Some((user, member))
        })
        .collect())
}
