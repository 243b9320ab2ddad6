//! A member's personal data: everything we hold about them, to hand over
//! (`collect`) or to erase (`erase`). A deleted account keeps its `users` row
//! with every personal field blanked, so delivery counts of past sends stay
//! whole; nothing that names the person survives.

use diesel::prelude::*;

use crate::domain::delivery::DeliveryStatus;
use serde::Serialize;
use time::PrimitiveDateTime;

use crate::db::{
    DbConnection,
    schema::{
        api_keys, articles, comps, deliveries, gift_links, login_tokens, member_events, member_labels,
        meter_reads, newsletter_subscriptions, newsletters, outbox, sends, sessions, subscriptions,
        suppressions, users,
    },
    users::User,
};

/// Everything about one member, as they download it.
#[derive(Debug, Serialize)]
pub struct PersonalData {
    pub account: AccountData,
    pub subscriptions: Vec<SubscriptionData>,
    pub complimentary_access: Vec<CompData>,
    pub sessions: Vec<SessionData>,
    pub gift_links: Vec<GiftData>,
    pub metered_reads: Vec<MeterReadData>,
    pub newsletters_received: Vec<DeliveryData>,
    pub emails_sent_to_you: Vec<EmailData>,
    pub api_keys: Vec<ApiKeyData>,
    /// Why we do not write to this address, if we do not.
    pub suppressed: Option<String>,
    /// Sign-ins, newsletter choices, address changes and editors' actions.
    pub events: Vec<EventData>,
    /// What brought you: the post, newsletter, gift, offer or site that led
    /// to your sign-up and any paid subscription.
    pub attribution: Vec<super::attributions::MemberAttribution>,
}

#[derive(Debug, Serialize)]
pub struct EventData {
    pub kind: String,
    pub detail: String,
    #[serde(serialize_with = "crate::domain::time::serialize_rfc3339")]
    pub at: PrimitiveDateTime,
}

#[derive(Debug, Serialize)]
pub struct AccountData {
    pub id: i32,
    pub email: String,
    pub name: Option<String>,
    pub role: String,
    /// The newsletters they receive, by name.
    pub newsletters: Vec<String>,
    /// What editors noted about them.
    pub note: Option<String>,
    /// The labels editors put on them.
    pub labels: Vec<String>,
    #[serde(serialize_with = "crate::domain::time::serialize_rfc3339_opt")]
    pub email_verified_at: Option<PrimitiveDateTime>,
    pub stripe_customer_id: Option<String>,
    #[serde(serialize_with = "crate::domain::time::serialize_rfc3339")]
    pub created_at: PrimitiveDateTime,
    /// What brought them when they joined (`home`, `article:{slug}`, `import`…).
    pub source: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SubscriptionData {
    pub stripe_subscription_id: String,
    pub status: String,
    pub price_id: String,
    #[serde(serialize_with = "crate::domain::time::serialize_rfc3339_opt")]
    pub current_period_end: Option<PrimitiveDateTime>,
    pub cancel_at_period_end: bool,
    #[serde(serialize_with = "crate::domain::time::serialize_rfc3339")]
    pub created_at: PrimitiveDateTime,
    /// When Stripe last told us of it.
    #[serde(serialize_with = "crate::domain::time::serialize_rfc3339")]
    pub updated_at: PrimitiveDateTime,
}

#[derive(Debug, Serialize)]
pub struct CompData {
    pub reason: String,
    #[serde(serialize_with = "crate::domain::time::serialize_rfc3339_opt")]
    pub expires_at: Option<PrimitiveDateTime>,
    #[serde(serialize_with = "crate::domain::time::serialize_rfc3339")]
    pub granted_at: PrimitiveDateTime,
}

#[derive(Debug, Serialize)]
pub struct SessionData {
    pub user_agent: Option<String>,
    #[serde(serialize_with = "crate::domain::time::serialize_rfc3339")]
    pub created_at: PrimitiveDateTime,
    #[serde(serialize_with = "crate::domain::time::serialize_rfc3339")]
    pub last_seen_at: PrimitiveDateTime,
}

#[derive(Debug, Serialize)]
pub struct GiftData {
    pub article: String,
    #[serde(serialize_with = "crate::domain::time::serialize_rfc3339")]
    pub created_at: PrimitiveDateTime,
    #[serde(serialize_with = "crate::domain::time::serialize_rfc3339")]
    pub expires_at: PrimitiveDateTime,
    pub opens: i32,
    pub max_opens: i32,
    pub revoked: bool,
}

#[derive(Debug, Serialize)]
pub struct MeterReadData {
    pub article: String,
    pub month: String,
    #[serde(serialize_with = "crate::domain::time::serialize_rfc3339")]
    pub read_at: PrimitiveDateTime,
}

#[derive(Debug, Serialize)]
pub struct DeliveryData {
    pub article: String,
    pub status: String,
    #[serde(serialize_with = "crate::domain::time::serialize_rfc3339")]
    pub queued_at: PrimitiveDateTime,
    #[serde(serialize_with = "crate::domain::time::serialize_rfc3339_opt")]
    pub sent_at: Option<PrimitiveDateTime>,
}

#[derive(Debug, Serialize)]
pub struct EmailData {
    pub subject: String,
    pub status: String,
    #[serde(serialize_with = "crate::domain::time::serialize_rfc3339")]
    pub created_at: PrimitiveDateTime,
}

#[derive(Debug, Serialize)]
pub struct ApiKeyData {
    pub name: String,
    #[serde(serialize_with = "crate::domain::time::serialize_rfc3339")]
    pub created_at: PrimitiveDateTime,
    #[serde(serialize_with = "crate::domain::time::serialize_rfc3339_opt")]
    pub last_used_at: Option<PrimitiveDateTime>,
    pub revoked: bool,
}

pub fn collect(conn: &mut DbConnection, user: &User) -> QueryResult<PersonalData> {
    let id = user.id;
    let subscriptions = subscriptions::table
        .filter(subscriptions::user_id.eq(id))
        .order(subscriptions::id)
        .select((
            subscriptions::stripe_subscription_id,
            subscriptions::status,
            subscriptions::price_id,
            subscriptions::current_period_end,
            subscriptions::cancel_at_period_end,
            subscriptions::created_at,
            subscriptions::stripe_updated_at,
        ))
        .load::<(
            String,
            String,
            String,
            Option<PrimitiveDateTime>,
            bool,
            PrimitiveDateTime,
            PrimitiveDateTime,
        )>(conn)?
        .into_iter()
        .map(
            |(stripe_subscription_id, status, price_id, end, cancel, created_at, updated_at)| {
                SubscriptionData {
                    stripe_subscription_id,
                    status,
                    price_id,
                    current_period_end: end,
                    cancel_at_period_end: cancel,
                    created_at,
                    updated_at,
                }
            },
        )
        .collect();
    let complimentary_access = comps::table
        .filter(comps::user_id.eq(id))
        .order(comps::id)
        .select((comps::reason, comps::expires_at, comps::created_at))
        .load::<(String, Option<PrimitiveDateTime>, PrimitiveDateTime)>(conn)?
        .into_iter()
        .map(|(reason, expires_at, created_at)| CompData {
            reason,
            expires_at,
            granted_at: created_at,
        })
        .collect();
    let sessions = sessions::table
        .filter(sessions::user_id.eq(id))
        .order(sessions::id)
        .select((sessions::user_agent, sessions::created_at, sessions::last_seen_at))
        .load::<(Option<String>, PrimitiveDateTime, PrimitiveDateTime)>(conn)?
        .into_iter()
        .map(|(user_agent, created_at, last_seen_at)| SessionData {
            user_agent,
            created_at,
            last_seen_at,
        })
        .collect();
    let gift_links = gift_links::table
        .inner_join(articles::table)
        .filter(gift_links::gifter_id.eq(id))
        .order(gift_links::id)
        .select((
            articles::title,
            gift_links::created_at,
            gift_links::expires_at,
            gift_links::reads,
            gift_links::max_reads,
            gift_links::revoked_at,
        ))
        .load::<(
            String,
            PrimitiveDateTime,
            PrimitiveDateTime,
            i32,
            i32,
            Option<PrimitiveDateTime>,
        )>(conn)?
        .into_iter()
        .map(
            |(article, created_at, expires_at, opens, max_opens, revoked_at)| GiftData {
                article,
                created_at,
                expires_at,
                opens,
                max_opens,
                revoked: revoked_at.is_some(),
            },
        )
        .collect();
    let metered_reads = meter_reads::table
        .inner_join(articles::table)
        .filter(meter_reads::user_id.eq(id))
        .order(meter_reads::id)
        .select((articles::title, meter_reads::month, meter_reads::read_at))
        .load::<(String, String, PrimitiveDateTime)>(conn)?
        .into_iter()
        .map(|(article, month, read_at)| MeterReadData {
            article,
            month,
            read_at,
        })
        .collect();
    let newsletters_received = deliveries::table
        .inner_join(sends::table.inner_join(articles::table))
        .filter(deliveries::user_id.eq(id))
        .order(deliveries::id)
        .select((
            articles::title,
            deliveries::status,
            deliveries::sent_at,
            sends::created_at,
        ))
        .load::<(String, String, Option<PrimitiveDateTime>, PrimitiveDateTime)>(conn)?
        .into_iter()
        .map(|(article, status, sent_at, queued_at)| DeliveryData {
            article,
            status,
            sent_at,
            queued_at,
        })
        .collect();
    let emails_sent_to_you = outbox::table
        .filter(outbox::to_email.eq(&user.email))
        .order(outbox::id)
        .select((outbox::subject, outbox::status, outbox::created_at))
        .load::<(String, String, PrimitiveDateTime)>(conn)?
        .into_iter()
        .map(|(subject, status, created_at)| EmailData {
            subject,
            status,
            created_at,
        })
        .collect();
    let api_keys = api_keys::table
        .filter(api_keys::user_id.eq(id))
        .order(api_keys::id)
        .select((
            api_keys::name,
            api_keys::created_at,
            api_keys::last_used_at,
            api_keys::revoked_at,
        ))
        .load::<(
            String,
            PrimitiveDateTime,
            Option<PrimitiveDateTime>,
            Option<PrimitiveDateTime>,
        )>(conn)?
        .into_iter()
        .map(|(name, created_at, last_used_at, revoked_at)| ApiKeyData {
            name,
            created_at,
            last_used_at,
            revoked: revoked_at.is_some(),
        })
        .collect();
    let suppressed = suppressions::table
        .filter(suppressions::email.eq(&user.email))
        .select(suppressions::reason)
        .first(conn)
        .optional()?;
    let newsletter_names = newsletter_subscriptions::table
        .inner_join(newsletters::table)
        .filter(newsletter_subscriptions::user_id.eq(id))
        .order((newsletters::position, newsletters::id))
        .select(newsletters::name)
        .load(conn)?;
    let label_names = super::labels::labels_of(conn, id)?
        .into_iter()
        .map(|label| label.name)
        .collect();
    let events = super::member_events::of_member(conn, id)?
        .into_iter()
        .map(|event| EventData {
            kind: event.kind,
            detail: event.detail,
            at: event.created_at,
        })
        .collect();
    let attribution = super::attributions::of_member(conn, id)?;
    Ok(PersonalData {
        attribution,
        account: AccountData {
            id,
            email: user.email.clone(),
            name: user.name.clone(),
            role: user.role.to_string(),
            newsletters: newsletter_names,
            note: user.note.clone(),
            labels: label_names,
            email_verified_at: user.email_verified_at,
            stripe_customer_id: user.stripe_customer_id.clone(),
            created_at: user.created_at,
            source: user.source.clone(),
        },
        subscriptions,
        complimentary_access,
        sessions,
        gift_links,
        metered_reads,
        newsletters_received,
        emails_sent_to_you,
        api_keys,
        suppressed,
        events,
    })
}

/// The address a deleted account is left with: unique, and undeliverable
/// (`.invalid` is reserved, RFC 2606), so nothing can reach or log in as it.
fn erased_email(user_id: i32) -> String {
    format!("deleted-{user_id}@deleted.invalid")
}

/// Erases everything that names `user`. Call inside a transaction. Kept:
/// the `users` row (blanked), its deliveries (without their error text,
/// which may quote the address) so send counts stay whole, and its
/// subscription rows, which hold only Stripe ids and let Stripe's last
/// events about them land.
pub fn erase(conn: &mut DbConnection, user: &User, now: PrimitiveDateTime) -> QueryResult<()> {
    let id = user.id;
    diesel::delete(sessions::table.filter(sessions::user_id.eq(id))).execute(conn)?;
    diesel::delete(login_tokens::table.filter(login_tokens::user_id.eq(id))).execute(conn)?;
    diesel::delete(api_keys::table.filter(api_keys::user_id.eq(id))).execute(conn)?;
    diesel::delete(gift_links::table.filter(gift_links::gifter_id.eq(id))).execute(conn)?;
    diesel::delete(meter_reads::table.filter(meter_reads::user_id.eq(id))).execute(conn)?;
    diesel::delete(comps::table.filter(comps::user_id.eq(id))).execute(conn)?;
    diesel::delete(outbox::table.filter(outbox::to_email.eq(&user.email))).execute(conn)?;
    diesel::delete(suppressions::table.filter(suppressions::email.eq(&user.email))).execute(conn)?;
    diesel::delete(newsletter_subscriptions::table.filter(newsletter_subscriptions::user_id.eq(id)))
        .execute(conn)?;
    diesel::delete(member_labels::table.filter(member_labels::user_id.eq(id))).execute(conn)?;
    diesel::delete(member_events::table.filter(member_events::user_id.eq(id))).execute(conn)?;
    super::webhooks::member_deleted(conn, id)?;
    diesel::update(deliveries::table.filter(deliveries::user_id.eq(id)))
        .set(deliveries::last_error.eq(None::<String>))
        .execute(conn)?;
    // A newsletter still going out must not go to the blanked address.
    diesel::update(
        deliveries::table
            .filter(deliveries::user_id.eq(id))
            .filter(deliveries::status.eq(DeliveryStatus::Pending.as_str())),
    )
    .set(deliveries::status.eq(DeliveryStatus::Suppressed.as_str()))
    .execute(conn)?;
    diesel::update(users::table.find(id))
        .set((
            users::email.eq(erased_email(id)),
            users::name.eq(None::<String>),
            users::password_hash.eq(None::<String>),
            users::role.eq("reader"),
            users::email_verified_at.eq(None::<PrimitiveDateTime>),
            users::stripe_customer_id.eq(None::<String>),
            users::note.eq(None::<String>),
            users::feed_generation.eq(users::feed_generation + 1),
            users::deleted_at.eq(Some(now)),
        ))
        .execute(conn)?;
    Ok(())
}
