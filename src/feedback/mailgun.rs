//! Mailgun's webhooks: a JSON body `{"signature": {"timestamp", "token",
//! "signature"}, "event-data": {...}}` where `signature` is the hex
//! HMAC-SHA256 of timestamp ‖ token under the webhook signing key
//! (`MAILGUN_WEBHOOK_SIGNING_KEY`). A timestamp more than `TOLERANCE` away
//! from now is refused (a replay); the event id keeps a retry from counting
//! twice.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::{Refused, TOLERANCE_SECS};
use crate::domain::feedback::{self, FeedbackKind, Provider, ProviderEvent};

#[derive(Deserialize)]
struct Payload {
    signature: Signature,
    #[serde(rename = "event-data")]
    event_data: EventData,
}

#[derive(Deserialize)]
struct Signature {
    timestamp: String,
    token: String,
    signature: String,
}

#[derive(Deserialize)]
struct EventData {
    id: String,
    event: String,
    #[serde(default)]
    severity: Option<String>,
    recipient: String,
    timestamp: f64,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default, rename = "delivery-status")]
    delivery_status: Option<DeliveryStatus>,
    #[serde(default)]
    message: Option<Message>,
}

#[derive(Deserialize)]
struct DeliveryStatus {
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    headers: Option<Headers>,
}

#[derive(Deserialize)]
struct Headers {
    #[serde(default, rename = "message-id")]
    message_id: Option<String>,
}

/// The hex signature Mailgun sends for `timestamp` and `token`.
pub fn signature(key: &[u8], timestamp: &str, token: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(timestamp.as_bytes());
    mac.update(token.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The event in an authentic `body`; `None` for events that change nothing
/// here (opens, clicks and the like, which Broadsheet counts itself).
pub fn parse(key: &[u8], body: &[u8], now: OffsetDateTime) -> Result<Option<ProviderEvent>, Refused> {
    let payload: Payload = serde_json::from_slice(body).map_err(|e| match e.classify() {
        // Without a signature block it cannot be authenticated at all.
        _ if !body_has_signature(body) => Refused::Unauthenticated("the payload carries no signature"),
        _ => Refused::Unreadable(e.to_string()),
    })?;
    let sig = &payload.signature;
    let expected = signature(key, &sig.timestamp, &sig.token);
    if !bool::from(
        expected
            .as_bytes()
            .ct_eq(sig.signature.to_ascii_lowercase().as_bytes()),
    ) {
        return Err(Refused::Unauthenticated("the signature does not match"));
    }
    let signed_at: i64 = sig
        .timestamp
        .parse()
        .map_err(|_| Refused::Unauthenticated("the timestamp is not a number"))?;
    if (now.unix_timestamp() - signed_at).abs() > TOLERANCE_SECS {
        return Err(Refused::Unauthenticated("the timestamp is too far from now"));
    }
    Ok(event(payload.event_data))
}

fn body_has_signature(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| v["signature"]["signature"].is_string())
}

fn event(data: EventData) -> Option<ProviderEvent> {
    let kind = match (data.event.as_str(), data.severity.as_deref()) {
        ("failed", Some("permanent")) => FeedbackKind::HardBounce,
        ("failed", _) => FeedbackKind::SoftBounce,
        ("complained", _) => FeedbackKind::Complaint,
        ("delivered", _) => FeedbackKind::Delivered,
        _ => return None,
    };
    let status = data.delivery_status.as_ref();
    let words = [
        status.and_then(|s| s.code.as_ref()).map(|c| c.to_string()),
        status.and_then(|s| s.message.clone()).filter(|m| !m.is_empty()),
        status
            .and_then(|s| s.description.clone())
            .filter(|d| !d.is_empty()),
        data.reason.clone(),
    ];
    let detail = words.into_iter().flatten().collect::<Vec<_>>().join(" ");
    let occurred_at = OffsetDateTime::from_unix_timestamp(data.timestamp as i64).ok()?;
    Some(ProviderEvent {
        provider: Provider::Mailgun,
        event_id: data.id,
        kind,
        email: data.recipient.trim().to_lowercase(),
        delivery_id: data
            .message
            .and_then(|m| m.headers)
            .and_then(|h| h.message_id)
            .and_then(|id| feedback::delivery_in_message_id(&id)),
        detail: feedback::detail(&detail),
        occurred_at: PrimitiveDateTime::new(occurred_at.date(), occurred_at.time()),
    })
}
