//! What happened to a member that no other table keeps (sign-ins,
//! newsletter choices, address changes, editors' actions): appended, never
//! changed, erased with the account.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::db::{DbConnection, schema::member_events};
use crate::domain::member::MemberEventKind;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = member_events)]
pub struct MemberEvent {
    pub id: i32,
    pub user_id: i32,
    pub kind: String,
    pub detail: String,
    pub actor_id: Option<i32>,
    pub created_at: PrimitiveDateTime,
}

/// Records that `kind` happened to `user_id` (`actor_id`: the staff member
/// who did it, if not the member).
pub fn record(
    conn: &mut DbConnection,
    user_id: i32,
    kind: MemberEventKind,
    detail: &str,
    actor_id: Option<i32>,
    now: PrimitiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(member_events::table)
        .values((
            member_events::user_id.eq(user_id),
            member_events::kind.eq(kind.as_str()),
            member_events::detail.eq(detail),
            member_events::actor_id.eq(actor_id),
            member_events::created_at.eq(now),
        ))
        .execute(conn)?;
    if kind.changes_member() {
        super::webhooks::member_updated(conn, user_id, kind.as_str())?;
    }
    Ok(())
}

/// Whether `kind` with `detail` was recorded for `user_id` (a welcome sent).
pub fn exists(
    conn: &mut DbConnection,
    user_id: i32,
    kind: MemberEventKind,
    detail: &str,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        member_events::table
            .filter(member_events::user_id.eq(user_id))
            .filter(member_events::kind.eq(kind.as_str()))
            .filter(member_events::detail.eq(detail)),
    ))
    .get_result(conn)
}

/// A member's events, oldest first.
pub fn of_member(conn: &mut DbConnection, user_id: i32) -> QueryResult<Vec<MemberEvent>> {
    member_events::table
        .filter(member_events::user_id.eq(user_id))
        .order((member_events::created_at, member_events::id))
        .select(MemberEvent::as_select())
        .load(conn)
}
