//! The facts the access policy needs about a member, read from
//! `subscriptions` and `comps`.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::{
    DbConnection,
    schema::{comps, subscriptions},
    users::User,
};
use crate::domain::{
    access::{Comp, Member, Subscription},
    subscription::SubscriptionStatus,
};

pub fn load_member(conn: &mut DbConnection, user: &User) -> QueryResult<Member> {
    let subs: Vec<(String, Option<PrimitiveDateTime>)> = subscriptions::table
        .filter(subscriptions::user_id.eq(user.id))
        .select((subscriptions::status, subscriptions::current_period_end))
        .load(conn)?;
    let comp_ends: Vec<Option<PrimitiveDateTime>> = comps::table
        .filter(comps::user_id.eq(user.id))
        .select(comps::expires_at)
        .load(conn)?;
    let subscriptions = subs
        .into_iter()
        .filter_map(|(status, current_period_end)| match SubscriptionStatus::parse(&status) {
            Ok(status) => Some(Subscription { status, current_period_end }),
            Err(_) => {
                // A status we do not know grants nothing.
                tracing::warn!(user_id = user.id, %status, "ignoring a subscription with an unknown status");
                None
            }
        })
        .collect();
    Ok(Member {
        role: user.role(),
        subscriptions,
        comps: comp_ends
            .into_iter()
            .map(|expires_at| Comp { expires_at })
            .collect(),
    })
}

/// A subscription row as billing (and, until billing lands, tests) write it.
#[derive(Debug, Insertable)]
#[diesel(table_name = subscriptions)]
pub struct NewSubscription<'a> {
    pub user_id: i32,
    pub stripe_subscription_id: &'a str,
    pub status: &'a str,
    pub price_id: &'a str,
    pub current_period_end: Option<PrimitiveDateTime>,
    pub cancel_at_period_end: bool,
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
}

impl NewComp<'_> {
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<usize> {
        diesel::insert_into(comps::table).values(self).execute(conn)
    }
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
                },
            )
        })
        .collect();
    // Bounded IN lists: SQLite allows 32,766 bound values.
    for chunk in users.chunks(10_000) {
        let ids: Vec<i32> = chunk.iter().map(|(id, _)| *id).collect();
        let subs: Vec<(i32, String, Option<PrimitiveDateTime>)> = subscriptions::table
            .filter(subscriptions::user_id.eq_any(&ids))
            .select((
                subscriptions::user_id,
                subscriptions::status,
                subscriptions::current_period_end,
            ))
            .load(conn)?;
        for (user_id, status, current_period_end) in subs {
            if let (Some(member), Ok(status)) =
                (members.get_mut(&user_id), SubscriptionStatus::parse(&status))
            {
                member.subscriptions.push(Subscription {
                    status,
                    current_period_end,
                });
            }
        }
        let comp_rows: Vec<(i32, Option<PrimitiveDateTime>)> = comps::table
            .filter(comps::user_id.eq_any(&ids))
            .select((comps::user_id, comps::expires_at))
            .load(conn)?;
        for (user_id, expires_at) in comp_rows {
            if let Some(member) = members.get_mut(&user_id) {
                member.comps.push(Comp { expires_at });
            }
        }
    }
    Ok(members)
}
