//! Verifying `Stripe-Signature` exactly as Stripe signs: HMAC-SHA256 with the
//! endpoint secret over `"{t}.{raw body}"`, hex in one or more `v1=` entries
//! (several during secret rotation: any may match), `t` within a tolerance of
//! now. Checked on the raw bytes before anything is parsed.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Stripe's default tolerance.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header is malformed")]
    Malformed,
    #[error("the signature timestamp is outside the tolerance")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
}

/// The `v1` signature of `payload` at `timestamp` with `secret`.
pub fn sign(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks `header` against any of `secrets`.
pub fn verify(
    header: Option<&str>,
    payload: &[u8],
    secrets: &[&str],
    now: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        let (key, value) = part.trim().split_once('=').ok_or(SignatureError::Malformed)?;
        match key {
            "t" => timestamp = Some(value.parse::<i64>().map_err(|_| SignatureError::Malformed)?),
            "v1" => candidates.push(hex::decode(value).map_err(|_| SignatureError::Malformed)?),
            _ => {} // v0 and future schemes are ignored, as Stripe advises
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    // Checked: a timestamp near i64::MIN or MAX must not overflow.
    let skew = now.checked_sub(timestamp).and_then(i64::checked_abs);
    if skew.is_none_or(|skew| skew > TOLERANCE_SECS) {
        return Err(SignatureError::Stale);
    }
    let matched = secrets.iter().any(|secret| {
        let expected = hex::decode(sign(secret, timestamp, payload)).expect("our own hex");
        // Check every candidate without stopping early.
        candidates.iter().fold(false, |found, candidate| {
            found | bool::from(expected.ct_eq(candidate))
        })
    });
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn extreme_timestamps_are_outside_the_tolerance_rather_than_an_overflow() {
        for timestamp in [i64::MIN, i64::MIN + 1, i64::MAX] {
            let header = format!("t={timestamp},v1={}", sign("whsec_x", 0, b"{}"));
            assert!(
                matches!(
                    verify(Some(&header), b"{}", &["whsec_x"], 1_700_000_000),
                    Err(SignatureError::Stale)
                ),
                "t={timestamp}"
            );
        }
    }

    use super::*;

    const SECRET: &str = "whsec_test";
    const BODY: &[u8] = br#"{"id":"evt_1"}"#;
    const NOW: i64 = 1_790_000_000;

    fn header(secret: &str, t: i64) -> String {
        format!("t={t},v1={}", sign(secret, t, BODY))
    }

    #[test]
    fn a_signature_made_with_the_secret_verifies() {
        assert_eq!(verify(Some(&header(SECRET, NOW)), BODY, &[SECRET], NOW), Ok(()));
    }

    #[test]
    fn our_signatures_match_the_ones_async_stripe_generates() {
        let theirs = stripe_webhook::Webhook::generate_test_header(
            std::str::from_utf8(BODY).unwrap(),
            SECRET,
            Some(NOW),
        );
        assert_eq!(verify(Some(&theirs), BODY, &[SECRET], NOW), Ok(()));
    }

    #[test]
    fn every_way_of_getting_it_wrong_is_refused() {
        assert_eq!(verify(None, BODY, &[SECRET], NOW), Err(SignatureError::Missing));
        assert_eq!(
            verify(Some("garbage"), BODY, &[SECRET], NOW),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(Some(&header("whsec_other", NOW)), BODY, &[SECRET], NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some(&header(SECRET, NOW - 301)), BODY, &[SECRET], NOW),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(Some(&header(SECRET, NOW + 301)), BODY, &[SECRET], NOW),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(Some(&header(SECRET, NOW)), br#"{"id":"evt_2"}"#, &[SECRET], NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn any_of_several_v1_signatures_and_any_of_several_secrets_may_match() {
        let both = format!(
            "t={NOW},v1={},v1={}",
            sign("whsec_old", NOW, BODY),
            sign(SECRET, NOW, BODY)
        );
        assert_eq!(verify(Some(&both), BODY, &[SECRET], NOW), Ok(()));
        assert_eq!(
            verify(
                Some(&header("whsec_old", NOW)),
                BODY,
                &["whsec_new", "whsec_old"],
                NOW
            ),
            Ok(())
        );
    }
}
