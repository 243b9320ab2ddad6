//! Transactional mail waiting to be sent.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::domain::delivery::DeliveryStatus;

use crate::db::{DbConnection, schema::outbox};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxMessage {
    pub id: i32,
    pub kind: String,
    pub to_email: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
}

pub fn enqueue(
    conn: &mut DbConnection,
    kind: &str,
    to: &str,
    subject: &str,
    text: &str,
    html: &str,
    not_before: Option<PrimitiveDateTime>,
) -> QueryResult<usize> {
    let now = super::now();
    diesel::insert_into(outbox::table)
        .values((
            outbox::kind.eq(kind),
            outbox::to_email.eq(to),
            outbox::subject.eq(subject),
            outbox::text_body.eq(text),
            outbox::html_body.eq(html),
            outbox::status.eq(DeliveryStatus::Pending.as_str()),
            // A message for later (a gift on its date) waits in the queue.
            outbox::next_attempt_at.eq(not_before.map_or(now, |at| at.max(now))),
            outbox::created_at.eq(now),
        ))
        .execute(conn)
}

pub fn load(conn: &mut DbConnection, ids: &[i32]) -> QueryResult<Vec<OutboxMessage>> {
    outbox::table
        .filter(outbox::id.eq_any(ids))
        .select(OutboxMessage::as_select())
        .load(conn)
}
