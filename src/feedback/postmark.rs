//! Postmark's bounce, spam-complaint and delivery webhooks. Postmark signs
//! nothing: the webhook URL carries the secret, as the basic-auth password
//! (`https://postmark:TOKEN@host/webhooks/email/postmark`) or as the last
//! path segment (`/webhooks/email/postmark/TOKEN`), compared in constant
//! time with `POSTMARK_WEBHOOK_TOKEN`.

use serde::Deserialize;
use subtle::ConstantTimeEq;
use time::{OffsetDateTime, PrimitiveDateTime, format_description::well_known::Rfc3339};

use super::Refused;
use crate::domain::feedback::{self, FeedbackKind, Provider, ProviderEvent};

/// Whether `given` is the configured token.
pub fn token_matches(configured: &str, given: &str) -> bool {
    bool::from(configured.as_bytes().ct_eq(given.as_bytes()))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Payload {
    record_type: String,
    #[serde(default, rename = "ID")]
    id: Option<serde_json::Value>,
    #[serde(default, rename = "Type")]
    bounce_type: Option<String>,
    #[serde(default, rename = "MessageID")]
    message_id: Option<String>,
    /// Bounces and complaints.
    #[serde(default)]
    email: Option<String>,
    /// Deliveries.
    #[serde(default)]
    recipient: Option<String>,
    #[serde(default)]
    bounced_at: Option<String>,
    #[serde(default)]
    delivered_at: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    metadata: Option<std::collections::HashMap<String, serde_json::Value>>,
}

/// The event in a Postmark webhook body; `None` for records that change
/// nothing here (opens, clicks, auto-replies, subscription changes).
pub fn parse(body: &[u8]) -> Result<Option<ProviderEvent>, Refused> {
    let payload: Payload = serde_json::from_slice(body).map_err(|e| Refused::Unreadable(e.to_string()))?;
    let kind = match (payload.record_type.as_str(), payload.bounce_type.as_deref()) {
        ("Bounce", Some("HardBounce" | "BadEmailAddress" | "ManuallyDeactivated")) => {
            FeedbackKind::HardBounce
        }
        ("Bounce", Some("SoftBounce" | "Transient" | "DnsError")) => FeedbackKind::SoftBounce,
        ("Bounce", Some("SpamComplaint")) | ("SpamComplaint", _) => FeedbackKind::Complaint,
        ("Delivery", _) => FeedbackKind::Delivered,
        _ => return Ok(None),
    };
    let email = payload
        .email
        .clone()
        .or(payload.recipient.clone())
        .ok_or_else(|| Refused::Unreadable("no Email or Recipient".into()))?;
    // Bounces and complaints have their own ID; a delivery is one per message.
    let event_id = match (&payload.id, &payload.message_id) {
        (Some(id), _) => format!("{}-{}", payload.record_type, id.to_string().trim_matches('"')),
        (None, Some(message)) => format!("{}-{message}", payload.record_type),
        (None, None) => return Err(Refused::Unreadable("no ID or MessageID".into())),
    };
    let when = payload.bounced_at.as_deref().or(payload.delivered_at.as_deref());
    let occurred_at = when
        .and_then(|w| OffsetDateTime::parse(w, &Rfc3339).ok())
        .unwrap_or_else(OffsetDateTime::now_utc);
    let occurred_at = occurred_at.to_offset(time::UtcOffset::UTC);
    let detail = [payload.description, payload.details]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    // Postmark echoes `X-PM-Metadata-*` headers back; our newsletters set
    // `X-PM-Metadata-broadsheet-delivery`.
    let delivery_id = payload
        .metadata
        .as_ref()
        .and_then(|m| m.get("broadsheet-delivery"))
        .and_then(|v| {
            v.as_str()
                .map(str::to_owned)
                .or_else(|| v.as_i64().map(|n| n.to_string()))
        })
        .and_then(|id| id.parse().ok());
    Ok(Some(ProviderEvent {
        provider: Provider::Postmark,
        event_id,
        kind,
        email: email.trim().to_lowercase(),
        delivery_id,
        detail: feedback::detail(&detail),
        occurred_at: PrimitiveDateTime::new(occurred_at.date(), occurred_at.time()),
    }))
}
