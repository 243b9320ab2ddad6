//! Amazon SES's bounce, complaint and delivery notifications, the `Message`
//! of an SNS notification (see `sns.rs` for how that is authenticated).
//! Both of SES's shapes are read: notifications (`notificationType`) and
//! event publishing (`eventType`). One notification can name several
//! recipients; each is an event of its own.

use serde::Deserialize;
use time::{OffsetDateTime, PrimitiveDateTime, format_description::well_known::Rfc3339};

use super::Refused;
use crate::domain::feedback::{self, FeedbackKind, Provider, ProviderEvent};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    #[serde(default, alias = "eventType")]
    notification_type: Option<String>,
    #[serde(default)]
    bounce: Option<Bounce>,
    #[serde(default)]
    complaint: Option<Complaint>,
    #[serde(default)]
    delivery: Option<Delivery>,
    #[serde(default)]
    mail: Option<Mail>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bounce {
    bounce_type: String,
    #[serde(default)]
    bounce_sub_type: Option<String>,
    bounced_recipients: Vec<BouncedRecipient>,
    timestamp: String,
    feedback_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BouncedRecipient {
    email_address: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    diagnostic_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Complaint {
    complained_recipients: Vec<Recipient>,
    timestamp: String,
    feedback_id: String,
    #[serde(default)]
    complaint_feedback_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    email_address: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Delivery {
    timestamp: String,
    recipients: Vec<String>,
    #[serde(default)]
    smtp_response: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mail {
    #[serde(default)]
    message_id: Option<String>,
    /// The original headers, when the notification includes them.
    #[serde(default)]
    headers: Vec<Header>,
    #[serde(default)]
    common_headers: Option<CommonHeaders>,
}

#[derive(Deserialize)]
struct Header {
    name: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommonHeaders {
    #[serde(default)]
    message_id: Option<String>,
}

impl Mail {
    /// The delivery our `X-Broadsheet-Delivery` header named, or the one in
    /// the original Message-ID (SES gives the message one of its own).
    fn delivery_id(&self) -> Option<i32> {
        let header = |name: &str| {
            self.headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| h.value.as_str())
        };
        header("X-Broadsheet-Delivery")
            .and_then(|v| v.trim().parse().ok())
            .or_else(|| header("Message-ID").and_then(feedback::delivery_in_message_id))
            .or_else(|| {
                self.common_headers
                    .as_ref()
                    .and_then(|h| h.message_id.as_deref())
                    .and_then(feedback::delivery_in_message_id)
            })
    }
}

/// The events in an SES notification (the SNS `Message`); others (sends,
/// opens, clicks, rendering failures) are left out.
pub fn parse(message: &str, now: OffsetDateTime) -> Result<Vec<ProviderEvent>, Refused> {
    let unreadable = |e: serde_json::Error| Refused::Unreadable(format!("not an SES notification: {e}"));
    // Only an object: serde would read a struct of optional fields from `[]`.
    let value: serde_json::Value = serde_json::from_str(message).map_err(unreadable)?;
    if !value.is_object() {
        return Err(Refused::Unreadable("an SES notification is a JSON object".into()));
    }
    let notification: Notification = serde_json::from_value(value).map_err(unreadable)?;
    let delivery_id = notification.mail.as_ref().and_then(Mail::delivery_id);
    let at = |timestamp: &str| {
        let when = OffsetDateTime::parse(timestamp, &Rfc3339)
            .unwrap_or(now)
            .to_offset(time::UtcOffset::UTC);
        PrimitiveDateTime::new(when.date(), when.time())
    };
    let event = |id: String, kind, email: &str, detail: String, occurred_at| ProviderEvent {
        provider: Provider::Ses,
        event_id: id,
        kind,
        email: email.trim().to_lowercase(),
        delivery_id,
        detail: feedback::detail(&detail),
        occurred_at,
    };
    let events = match notification.notification_type.as_deref() {
        Some("Bounce") => {
            let bounce = notification
                .bounce
                .ok_or_else(|| Refused::Unreadable("a Bounce without bounce".into()))?;
            // Permanent: the address is gone (or on SES's suppression list).
            // Transient and Undetermined: worth another try, until the run
            // reaches the soft-bounce limit.
            let kind = match bounce.bounce_type.as_str() {
                "Permanent" => FeedbackKind::HardBounce,
                _ => FeedbackKind::SoftBounce,
            };
            let occurred_at = at(&bounce.timestamp);
            bounce
                .bounced_recipients
                .iter()
                .map(|r| {
                    let detail = [
                        Some(format!(
                            "{} {}",
                            bounce.bounce_type,
                            bounce.bounce_sub_type.as_deref().unwrap_or_default()
                        )),
                        r.status.clone(),
                        r.diagnostic_code.clone(),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                    let id = format!("{}/{}", bounce.feedback_id, r.email_address);
                    event(id, kind, &r.email_address, detail, occurred_at)
                })
                .collect()
        }
        Some("Complaint") => {
            let complaint = notification
                .complaint
                .ok_or_else(|| Refused::Unreadable("a Complaint without complaint".into()))?;
            let occurred_at = at(&complaint.timestamp);
            let detail = complaint.complaint_feedback_type.clone().unwrap_or_default();
            complaint
                .complained_recipients
                .iter()
                .map(|r| {
                    let id = format!("{}/{}", complaint.feedback_id, r.email_address);
                    event(
                        id,
                        FeedbackKind::Complaint,
                        &r.email_address,
                        detail.clone(),
                        occurred_at,
                    )
                })
                .collect()
        }
        Some("Delivery") => {
            let delivery = notification
                .delivery
                .ok_or_else(|| Refused::Unreadable("a Delivery without delivery".into()))?;
            let occurred_at = at(&delivery.timestamp);
            let message = notification
                .mail
                .as_ref()
                .and_then(|m| m.message_id.clone())
                .unwrap_or_default();
            let detail = delivery.smtp_response.clone().unwrap_or_default();
            delivery
                .recipients
                .iter()
                .map(|email| {
                    let id = format!("delivery/{message}/{email}");
                    event(id, FeedbackKind::Delivered, email, detail.clone(), occurred_at)
                })
                .collect()
        }
        _ => Vec::new(),
    };
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bounce_names_each_recipient_and_the_delivery_header() {
        let message = serde_json::json!({
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": "Permanent", "bounceSubType": "General",
                "bouncedRecipients": [
                    {"emailAddress": "Jane@Example.com", "action": "failed", "status": "5.1.1",
                     "diagnosticCode": "smtp; 550 5.1.1 user unknown"},
                    {"emailAddress": "richard@example.com", "action": "failed", "status": "5.1.1"}
                ],
                "timestamp": "2016-01-27T14:59:38.237Z",
                "feedbackId": "00000137860315fd-869464a4-8680-4114-98d3-716fe35851f9-000000"
            },
            "mail": {
                "timestamp": "2016-01-27T14:59:38.237Z",
                "messageId": "00000137860315fd-34208509-5b74-41f3-95c5-22c1edc3c924-000000",
                "source": "john@example.com", "destination": ["jane@example.com", "richard@example.com"],
                "headersTruncated": false,
                "headers": [{"name": "X-Broadsheet-Delivery", "value": "42"}],
                "commonHeaders": {"messageId": "00000137860315fd-34208509"}
            }
        })
        .to_string();
        let events = parse(&message, OffsetDateTime::now_utc()).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].kind, FeedbackKind::HardBounce);
        assert_eq!(events[0].email, "jane@example.com");
        assert_eq!(events[0].delivery_id, Some(42));
        assert!(
            events[0].detail.contains("550 5.1.1 user unknown"),
            "{}",
            events[0].detail
        );
        assert_ne!(events[0].event_id, events[1].event_id);
    }

    #[test]
    fn transient_bounces_are_soft_and_event_publishing_reads_alike() {
        let message = serde_json::json!({
            "eventType": "Bounce",
            "bounce": {"bounceType": "Transient", "bounceSubType": "MailboxFull",
                       "bouncedRecipients": [{"emailAddress": "a@example.com"}],
                       "timestamp": "2026-12-07T00:00:00.000Z", "feedbackId": "f-1"},
            "mail": {"messageId": "m-1", "headers": [
                {"name": "Message-ID", "value": "<delivery-3.77@news.example.com>"}]}
        })
        .to_string();
        let events = parse(&message, OffsetDateTime::now_utc()).unwrap();
        assert_eq!(events[0].kind, FeedbackKind::SoftBounce);
        assert_eq!(events[0].delivery_id, Some(77));
        let open = serde_json::json!({"eventType": "Open", "mail": {}}).to_string();
        assert!(parse(&open, OffsetDateTime::now_utc()).unwrap().is_empty());
        assert!(parse("[]", OffsetDateTime::now_utc()).is_err());
    }
}
