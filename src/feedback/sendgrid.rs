//! SendGrid's signed Event Webhook. The body is a JSON array of events;
//! `X-Twilio-Email-Event-Webhook-Signature` is the base64 of an ECDSA P-256
//! signature (ASN.1 DER) over SHA-256 of timestamp ‖ raw body, and
//! `X-Twilio-Email-Event-Webhook-Timestamp` is that timestamp. The public key
//! (`SENDGRID_WEBHOOK_PUBLIC_KEY`) is the base64 SubjectPublicKeyInfo that
//! SendGrid's "Signed Event Webhook" settings show.

use base64::{Engine, engine::general_purpose::STANDARD};
use ring::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
use serde::Deserialize;
use spki::{SubjectPublicKeyInfoRef, der::Decode};
use time::{OffsetDateTime, PrimitiveDateTime};

use super::{Refused, TOLERANCE_SECS};
use crate::domain::feedback::{self, FeedbackKind, Provider, ProviderEvent};

pub const SIGNATURE_HEADER: &str = "X-Twilio-Email-Event-Webhook-Signature";
pub const TIMESTAMP_HEADER: &str = "X-Twilio-Email-Event-Webhook-Timestamp";

/// The object identifiers a P-256 key's SubjectPublicKeyInfo names.
const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const P256: &str = "1.2.840.10045.3.1.7";

/// SendGrid's verification key, read once at start.
#[derive(Clone, Debug)]
pub struct VerificationKey {
    /// The uncompressed curve point.
    point: Vec<u8>,
}

impl VerificationKey {
    /// Reads the base64 SubjectPublicKeyInfo (with or without the PEM
    /// armour SendGrid's own libraries add).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let base64: String = text
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .flat_map(|line| line.chars())
            .filter(|c| !c.is_whitespace())
            .collect();
        let der = STANDARD
            .decode(base64)
            .map_err(|e| anyhow::anyhow!("SENDGRID_WEBHOOK_PUBLIC_KEY is not base64: {e}"))?;
        let info = SubjectPublicKeyInfoRef::from_der(&der)
            .map_err(|e| anyhow::anyhow!("SENDGRID_WEBHOOK_PUBLIC_KEY is not a public key: {e}"))?;
        let curve = info
            .algorithm
            .parameters
            .and_then(|p| p.decode_as::<spki::ObjectIdentifier>().ok());
        anyhow::ensure!(
            info.algorithm.oid.to_string() == EC_PUBLIC_KEY
                && curve.map(|c| c.to_string()).as_deref() == Some(P256),
            "SENDGRID_WEBHOOK_PUBLIC_KEY is not an ECDSA P-256 key"
        );
        let point = info
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| anyhow::anyhow!("SENDGRID_WEBHOOK_PUBLIC_KEY has a malformed point"))?
            .to_vec();
        Ok(Self { point })
    }

    /// Whether `signature` (base64 DER) signs `timestamp` ‖ `body`.
    pub fn verifies(&self, timestamp: &str, body: &[u8], signature: &str) -> bool {
        let Ok(signature) = STANDARD.decode(signature.trim()) else {
            return false;
        };
        let mut signed = Vec::with_capacity(timestamp.len() + body.len());
        signed.extend_from_slice(timestamp.as_bytes());
        signed.extend_from_slice(body);
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &self.point)
            .verify(&signed, &signature)
            .is_ok()
    }
}

#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    sg_event_id: Option<String>,
    event: String,
    email: String,
    #[serde(default)]
    timestamp: Option<i64>,
    /// The Message-ID the message was submitted with.
    #[serde(default, rename = "smtp-id")]
    smtp_id: Option<String>,
    /// `bounce` (the address refused it) or `blocked` (the server did, for
    /// now) on bounce events.
    #[serde(default, rename = "type")]
    bounce_type: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

/// The events in an authentic body; events that change nothing here
/// (processed, deferred, opens, clicks, unsubscribes SendGrid handled) are
/// left out.
pub fn parse(
    key: &VerificationKey,
    signature: Option<&str>,
    timestamp: Option<&str>,
    body: &[u8],
    now: OffsetDateTime,
) -> Result<Vec<ProviderEvent>, Refused> {
    let (Some(signature), Some(timestamp)) = (signature, timestamp) else {
        return Err(Refused::Unauthenticated(
            "the signature or timestamp header is missing",
        ));
    };
    if !key.verifies(timestamp, body, signature) {
        return Err(Refused::Unauthenticated("the signature does not match"));
    }
    let signed_at: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| Refused::Unauthenticated("the timestamp is not a number"))?;
    if (now.unix_timestamp() - signed_at).abs() > TOLERANCE_SECS {
        return Err(Refused::Unauthenticated("the timestamp is too far from now"));
    }
    let events: Vec<Event> = serde_json::from_slice(body).map_err(|e| Refused::Unreadable(e.to_string()))?;
    Ok(events.into_iter().filter_map(|e| event(e, now)).collect())
}

fn event(data: Event, now: OffsetDateTime) -> Option<ProviderEvent> {
    let reason = data.reason.clone().unwrap_or_default();
    let kind = match (data.event.as_str(), data.bounce_type.as_deref()) {
        ("bounce", Some("blocked")) => FeedbackKind::SoftBounce,
        ("bounce", _) => FeedbackKind::HardBounce,
        ("spamreport", _) => FeedbackKind::Complaint,
        ("delivered", _) => FeedbackKind::Delivered,
        // SendGrid drops a message to an address on its own suppression
        // lists; those lists are what we mirror.
        ("dropped", _) if reason.contains("Bounced Address") || reason.contains("Invalid") => {
            FeedbackKind::HardBounce
        }
        ("dropped", _) if reason.contains("Spam Reporting Address") => FeedbackKind::Complaint,
        _ => return None,
    };
    // Without SendGrid's id, the event's own fields name it: a retry of the
    // same batch carries the same ones.
    let event_id = data.sg_event_id.clone().unwrap_or_else(|| {
        format!(
            "{}-{}-{}-{}",
            data.event,
            data.email,
            data.timestamp.unwrap_or_default(),
            data.smtp_id.clone().unwrap_or_default()
        )
    });
    let occurred_at = data
        .timestamp
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
        .unwrap_or(now);
    let detail = [data.status, data.reason]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Some(ProviderEvent {
        provider: Provider::Sendgrid,
        event_id,
        kind,
        email: data.email.trim().to_lowercase(),
        delivery_id: data.smtp_id.as_deref().and_then(feedback::delivery_in_message_id),
        detail: feedback::detail(&detail),
        occurred_at: PrimitiveDateTime::new(occurred_at.date(), occurred_at.time()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example from SendGrid's own libraries' tests (their Node, Python
    // and Go helpers check the same key, signature and payload).
    const PUBLIC_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==";
    const SIGNATURE: &str =
        "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=";
    const TIMESTAMP: &str = "1588788367";
    const PAYLOAD: &str =
        "{\"category\":\"example_payload\",\"event\":\"test_event\",\"message_id\":\"message_id\"}";

    #[test]
    fn sendgrids_own_example_signature_verifies_and_any_change_does_not() {
        let key = VerificationKey::parse(PUBLIC_KEY).unwrap();
        assert!(key.verifies(TIMESTAMP, PAYLOAD.as_bytes(), SIGNATURE));
        assert!(!key.verifies("1588788368", PAYLOAD.as_bytes(), SIGNATURE));
        assert!(!key.verifies(TIMESTAMP, PAYLOAD.replace("test", "best").as_bytes(), SIGNATURE));
        assert!(!key.verifies(TIMESTAMP, PAYLOAD.as_bytes(), "not base64!"));
        let armoured = format!("-----BEGIN PUBLIC KEY-----\n{PUBLIC_KEY}\n-----END PUBLIC KEY-----\n");
        assert!(VerificationKey::parse(&armoured).unwrap().verifies(
            TIMESTAMP,
            PAYLOAD.as_bytes(),
            SIGNATURE
        ));
    }

    #[test]
    fn a_key_that_is_not_p256_is_refused_at_start() {
        assert!(VerificationKey::parse("not a key").is_err());
        assert!(VerificationKey::parse(&STANDARD.encode([0u8; 91])).is_err());
    }

    #[test]
    fn bounce_types_map_to_hard_and_soft_and_other_events_are_left_out() {
        let now = OffsetDateTime::now_utc();
        let kind = |json: &str| event(serde_json::from_str(json).unwrap(), now).map(|e| e.kind);
        assert_eq!(
            kind(r#"{"event":"bounce","type":"bounce","email":"a@x.com"}"#),
            Some(FeedbackKind::HardBounce)
        );
        assert_eq!(
            kind(r#"{"event":"bounce","type":"blocked","email":"a@x.com"}"#),
            Some(FeedbackKind::SoftBounce)
        );
        assert_eq!(
            kind(r#"{"event":"spamreport","email":"a@x.com"}"#),
            Some(FeedbackKind::Complaint)
        );
        assert_eq!(
            kind(r#"{"event":"dropped","reason":"Bounced Address","email":"a@x.com"}"#),
            Some(FeedbackKind::HardBounce)
        );
        assert_eq!(
            kind(r#"{"event":"dropped","reason":"Unsubscribed Address","email":"a@x.com"}"#),
            None
        );
        assert_eq!(kind(r#"{"event":"deferred","email":"a@x.com"}"#), None);
        assert_eq!(kind(r#"{"event":"open","email":"a@x.com"}"#), None);
    }
}
