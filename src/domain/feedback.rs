//! What a mail provider reports about a message after it left us: a
//! bounce, a spam complaint, a delivery. Each provider's payload is parsed
//! into a `ProviderEvent` at the edge (`feedback::{mailgun, postmark, sendgrid, ses}`).

use time::PrimitiveDateTime;

use super::text_enum::text_enum;

text_enum! {
    /// What happened to the message.
    pub enum FeedbackKind("kind") {
        /// The address does not exist or refuses mail for good: suppressed.
        HardBounce => "hard_bounce",
        /// A full mailbox, a greylisting server: suppressed only after
        /// `BROADSHEET_SOFT_BOUNCE_LIMIT` of them in a row.
        SoftBounce => "soft_bounce",
        /// The recipient marked it as spam: suppressed.
        Complaint => "complaint",
        /// The receiving server took it; ends a run of soft bounces.
        Delivered => "delivered",
    }
}

text_enum! {
    /// Who reported it.
    pub enum Provider("provider") {
        Mailgun => "mailgun",
        Postmark => "postmark",
        Sendgrid => "sendgrid",
        Ses => "ses",
    }
}

/// One report, as every provider's comes to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEvent {
    pub provider: Provider,
    /// The provider's id for this report: it is kept once.
    pub event_id: String,
    pub kind: FeedbackKind,
    /// The recipient, lower-cased.
    pub email: String,
    /// The delivery the message was, when the report names it.
    pub delivery_id: Option<i32>,
    /// The provider's words ("550 5.1.1 No such user").
    pub detail: String,
    pub occurred_at: PrimitiveDateTime,
}

/// The delivery a newsletter's Message-ID names: `<delivery-{send}.{id}@host>`,
/// with or without the angle brackets.
pub fn delivery_in_message_id(message_id: &str) -> Option<i32> {
    let id = message_id.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, _host) = id.split_once('@')?;
    let (_send, delivery) = local.strip_prefix("delivery-")?.split_once('.')?;
    delivery.parse().ok().filter(|id: &i32| *id > 0)
}

/// At most this much of a provider's description is kept.
pub const MAX_DETAIL_CHARS: usize = 500;

/// `text` cut to `MAX_DETAIL_CHARS` characters.
pub fn detail(text: &str) -> String {
    text.trim().chars().take(MAX_DETAIL_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newsletters_message_id_names_its_delivery_and_nothing_else_does() {
        assert_eq!(
            delivery_in_message_id("<delivery-3.1207@news.example.com>"),
            Some(1207)
        );
        assert_eq!(
            delivery_in_message_id("delivery-3.1207@news.example.com"),
            Some(1207)
        );
        assert_eq!(delivery_in_message_id("<test-3.9.1@news.example.com>"), None);
        assert_eq!(delivery_in_message_id("<delivery-3.x@news.example.com>"), None);
        assert_eq!(
            delivery_in_message_id("883953f4-6105-42a2-a16a-77a8eac79483"),
            None
        );
    }
}
