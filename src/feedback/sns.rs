//! Amazon SNS's HTTP(S) deliveries, which is how Amazon SES reports bounces
//! and complaints. SNS signs each message with RSA (PKCS #1 v1.5, SHA-1 for
//! `SignatureVersion` 1 and SHA-256 for 2) under a certificate it names in
//! `SigningCertURL`. The certificate is the trust anchor, so it is fetched
//! only over HTTPS from an `sns.<region>.amazonaws.com` host (an SSRF guard
//! too: a forged message cannot make us fetch anything else), kept for a
//! day, and its validity dates checked. A topic must be listed in
//! `SES_SNS_TOPIC_ARNS` before anything is fetched. A subscription
//! confirmation from a listed topic is confirmed by fetching its
//! `SubscribeURL`, under the same host rule.
//!
//! `AWS_ENDPOINT_URL_SNS` (the AWS SDKs' name for an endpoint override, as
//! for LocalStack) sends those fetches to another origin, keeping the path:
//! the signed URLs must still name an SNS host.

use std::{sync::Arc, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};
use ring::signature::{
    RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey,
    VerificationAlgorithm,
};
use serde::Deserialize;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use url::Url;
use x509_cert::{Certificate, der::DecodePem};

use super::Refused;

/// How old a notification may be: SNS retries a failed HTTP delivery for
/// as long as the topic's delivery policy says (an hour at most between
/// tries); older ones are refused as replays.
pub const MAX_AGE_SECS: i64 = 60 * 60;
/// The most a certificate download may be.
const MAX_CERTIFICATE_BYTES: usize = 64 * 1024;
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

/// An SNS message as POSTed to an HTTP(S) subscription.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Envelope {
    #[serde(rename = "Type")]
    pub kind: String,
    pub message_id: String,
    pub topic_arn: String,
    #[serde(default)]
    pub subject: Option<String>,
    pub message: String,
    pub timestamp: String,
    pub signature_version: String,
    pub signature: String,
    #[serde(rename = "SigningCertURL")]
    pub signing_cert_url: String,
    #[serde(default, rename = "SubscribeURL")]
    pub subscribe_url: Option<String>,
    #[serde(default)]
    pub token: Option<String>,
}

impl Envelope {
    pub fn parse(body: &[u8]) -> Result<Self, Refused> {
        serde_json::from_slice(body).map_err(|e| Refused::Unreadable(format!("not an SNS message: {e}")))
    }

    /// The text SNS signed: chosen fields as `name\nvalue\n`, in order.
    pub fn string_to_sign(&self) -> Result<String, Refused> {
        let mut fields: Vec<(&str, &str)> = vec![("Message", &self.message), ("MessageId", &self.message_id)];
        match self.kind.as_str() {
            "Notification" => {
                if let Some(subject) = &self.subject {
                    fields.push(("Subject", subject));
                }
                fields.extend([
                    ("Timestamp", self.timestamp.as_str()),
                    ("TopicArn", &self.topic_arn),
                    ("Type", &self.kind),
                ]);
            }
            "SubscriptionConfirmation" | "UnsubscribeConfirmation" => {
                let missing =
                    || Refused::Unreadable(format!("a {} without SubscribeURL or Token", self.kind));
                fields.extend([
                    ("SubscribeURL", self.subscribe_url.as_deref().ok_or_else(missing)?),
                    ("Timestamp", &self.timestamp),
                    ("Token", self.token.as_deref().ok_or_else(missing)?),
                    ("TopicArn", &self.topic_arn),
                    ("Type", &self.kind),
                ]);
            }
            other => return Err(Refused::Unreadable(format!("unknown SNS message type {other:?}"))),
        }
        Ok(fields
            .into_iter()
            .map(|(name, value)| format!("{name}\n{value}\n"))
            .collect())
    }

    fn algorithm(&self) -> Result<&'static dyn VerificationAlgorithm, Refused> {
        match self.signature_version.as_str() {
            "1" => Ok(&RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY),
            "2" => Ok(&RSA_PKCS1_2048_8192_SHA256),
            _ => Err(Refused::Unauthenticated("an unknown SignatureVersion")),
        }
    }
}

/// Whether `url` may be fetched for SNS: HTTPS, the default port, and a host
/// `sns.<region>.amazonaws.com` (or `.amazonaws.com.cn`).
pub fn is_sns_url(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    let region = host.strip_prefix("sns.").and_then(|rest| {
        rest.strip_suffix(".amazonaws.com")
            .or_else(|| rest.strip_suffix(".amazonaws.com.cn"))
    });
    url.scheme() == "https"
        && url.port().is_none()
        && url.username().is_empty()
        && region.is_some_and(|r| {
            !r.is_empty()
                && r.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
}

/// Fetches and keeps SNS signing certificates; confirms subscriptions.
#[derive(Clone)]
pub struct Sns {
    http: reqwest::Client,
    /// `AWS_ENDPOINT_URL_SNS`: where fetches go instead of the SNS host.
    endpoint: Option<Url>,
    /// Signing certificates' public keys by URL.
    keys: moka::sync::Cache<String, Arc<Vec<u8>>>,
}

impl Sns {
    pub fn new(endpoint: Option<Url>) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let keys = moka::sync::Cache::builder()
            .max_capacity(64)
            .time_to_live(Duration::from_secs(24 * 60 * 60))
            .build();
        Ok(Self { http, endpoint, keys })
    }

    /// Checks an envelope's topic, signature and age.
    pub async fn authenticate(
        &self,
        envelope: &Envelope,
        topics: &[String],
        now: OffsetDateTime,
    ) -> Result<(), Refused> {
        if !topics.iter().any(|t| t == &envelope.topic_arn) {
            return Err(Refused::Unauthenticated("the topic is not in SES_SNS_TOPIC_ARNS"));
        }
        let algorithm = envelope.algorithm()?;
        let cert_url = Url::parse(&envelope.signing_cert_url)
            .ok()
            .filter(|u| is_sns_url(u) && u.path().ends_with(".pem"))
            .ok_or(Refused::Unauthenticated(
                "SigningCertURL is not an SNS certificate",
            ))?;
        let key = self.public_key(&cert_url, now).await?;
        let signature = STANDARD
            .decode(&envelope.signature)
            .map_err(|_| Refused::Unauthenticated("the signature is not base64"))?;
        let signed = envelope.string_to_sign()?;
        UnparsedPublicKey::new(algorithm, key.as_slice())
            .verify(signed.as_bytes(), &signature)
            .map_err(|_| Refused::Unauthenticated("the signature does not match"))?;
        let sent = OffsetDateTime::parse(&envelope.timestamp, &Rfc3339)
            .map_err(|_| Refused::Unauthenticated("the timestamp is not a date"))?;
        let age = (now - sent).whole_seconds();
        if !(-super::TOLERANCE_SECS..=MAX_AGE_SECS).contains(&age) {
            return Err(Refused::Unauthenticated("the timestamp is too far from now"));
        }
        Ok(())
    }

    /// Confirms a subscription by fetching its (checked) `SubscribeURL`.
    pub async fn confirm(&self, envelope: &Envelope) -> anyhow::Result<()> {
        let url = envelope
            .subscribe_url
            .as_deref()
            .and_then(|u| Url::parse(u).ok())
            .filter(is_sns_url)
            .ok_or_else(|| anyhow::anyhow!("SubscribeURL is not an SNS address"))?;
        let response = self.http.get(self.fetch_url(&url)).send().await?;
        anyhow::ensure!(
            response.status().is_success(),
            "SNS answered {} to the confirmation",
            response.status()
        );
        Ok(())
    }

    fn fetch_url(&self, url: &Url) -> Url {
        match &self.endpoint {
            Some(endpoint) => {
                let mut moved = endpoint.clone();
                moved.set_path(url.path());
                moved.set_query(url.query());
                moved
            }
            None => url.clone(),
        }
    }

    /// The RSA public key of the certificate at `url`, fetched once a day.
    async fn public_key(&self, url: &Url, now: OffsetDateTime) -> Result<Arc<Vec<u8>>, Refused> {
        if let Some(key) = self.keys.get(url.as_str()) {
            return Ok(key);
        }
        let pem = self.download(url).await.map_err(|e| {
            tracing::warn!(url = %url, error = %e, "could not fetch an SNS signing certificate");
            Refused::Unauthenticated("the signing certificate could not be fetched")
        })?;
        let key = Arc::new(rsa_key_of(&pem, now)?);
        self.keys.insert(url.to_string(), key.clone());
        Ok(key)
    }

    async fn download(&self, url: &Url) -> anyhow::Result<Vec<u8>> {
        let mut response = self
            .http
            .get(self.fetch_url(url))
            .send()
            .await?
            .error_for_status()?;
        let mut pem = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            pem.extend_from_slice(&chunk);
            anyhow::ensure!(pem.len() <= MAX_CERTIFICATE_BYTES, "the certificate is too large");
        }
        Ok(pem)
    }
}

/// The PKCS #1 RSA public key of a PEM certificate valid at `now`.
pub fn rsa_key_of(pem: &[u8], now: OffsetDateTime) -> Result<Vec<u8>, Refused> {
    let unusable = |_| Refused::Unauthenticated("the signing certificate is not a certificate");
    let certificate = Certificate::from_pem(pem).map_err(unusable)?;
    let tbs = &certificate.tbs_certificate;
    let now = Duration::from_secs(now.unix_timestamp().max(0) as u64);
    if now < tbs.validity.not_before.to_unix_duration() || now > tbs.validity.not_after.to_unix_duration() {
        return Err(Refused::Unauthenticated("the signing certificate has expired"));
    }
    let info = &tbs.subject_public_key_info;
    if info.algorithm.oid.to_string() != RSA_ENCRYPTION {
        return Err(Refused::Unauthenticated(
            "the signing certificate's key is not RSA",
        ));
    }
    Ok(info.subject_public_key.raw_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_sns_hosts_may_be_fetched() {
        let ok = |u: &str| is_sns_url(&Url::parse(u).unwrap());
        assert!(ok(
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem"
        ));
        assert!(ok(
            "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem"
        ));
        assert!(!ok(
            "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem"
        ));
        assert!(!ok("https://sns.us-east-1.amazonaws.com:8443/x.pem"));
        assert!(!ok("https://sns.us-east-1.amazonaws.com.evil.example/x.pem"));
        assert!(!ok("https://evil.example/sns.us-east-1.amazonaws.com/x.pem"));
        assert!(!ok("https://sns..amazonaws.com/x.pem"));
        assert!(!ok("https://s3.us-east-1.amazonaws.com/x.pem"));
        assert!(!ok("https://user@sns.us-east-1.amazonaws.com/x.pem"));
        assert!(!ok("https://sns.us_east.amazonaws.com/x.pem"));
    }

    #[test]
    fn the_string_to_sign_follows_snss_field_order() {
        let envelope: Envelope = serde_json::from_value(serde_json::json!({
            "Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:1:t",
            "Subject": "S", "Message": "{}", "Timestamp": "2026-12-07T00:00:00.000Z",
            "SignatureVersion": "1", "Signature": "x", "SigningCertURL": "https://sns.us-east-1.amazonaws.com/a.pem",
        }))
        .unwrap();
        assert_eq!(
            envelope.string_to_sign().unwrap(),
            "Message\n{}\nMessageId\nm-1\nSubject\nS\nTimestamp\n2026-12-07T00:00:00.000Z\nTopicArn\narn:aws:sns:us-east-1:1:t\nType\nNotification\n"
        );
    }
}
