//! Outbound webhooks: what an admin may subscribe a URL to, the JSON each
//! event is sent as, and how it is signed (`Broadsheet-Signature`, Stripe's
//! scheme, so receivers can reuse their code).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::PrimitiveDateTime;
use url::Url;

use super::{InvalidInput, text_enum::text_enum};

text_enum! {
    /// What happened. No event carries any part of a post's body.
    pub enum WebhookEvent("events") {
        /// A member signed up, subscribed by email, was imported or added.
        MemberCreated => "member.created",
        /// Their address, name, note, labels or newsletters changed, or
        /// their address was suppressed or let through again.
        MemberUpdated => "member.updated",
        /// Their account was deleted (only the id is sent).
        MemberDeleted => "member.deleted",
        /// A Stripe subscription started, changed or ended, or a comp was
        /// granted or taken back.
        SubscriptionChanged => "subscription.changed",
        /// A post or page went live (now, at its scheduled time or backdated).
        ArticlePublished => "article.published",
        /// A newsletter send has no message left to try.
        SendFinished => "send.finished",
    }
}

/// The events a webhook wants: at least one, each once, in a stable order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSet(Vec<WebhookEvent>);

impl EventSet {
    pub fn parse(names: &[String]) -> Result<Self, InvalidInput> {
        let mut events = names
            .iter()
            .map(|name| WebhookEvent::parse(name.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        events.sort();
        events.dedup();
        if events.is_empty() {
            return Err(InvalidInput::new("events", "name at least one event"));
        }
        Ok(Self(events))
    }

    /// As stored: the names, space-separated.
    pub fn stored(&self) -> String {
        self.names().join(" ")
    }

    /// Reads the stored form back; names from a later version are dropped.
    pub fn from_stored(text: &str) -> Self {
        Self(
            text.split(' ')
                .filter_map(|n| WebhookEvent::parse(n).ok())
                .collect(),
        )
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|e| e.as_str()).collect()
    }

    pub fn contains(&self, event: WebhookEvent) -> bool {
        self.0.contains(&event)
    }
}

/// The most a webhook URL may be.
pub const MAX_URL_CHARS: usize = 2_000;

/// A URL a webhook may be sent to: http or https, a host, no credentials
/// (they would be sent in the clear to anyone reading the log). Whether the
/// host is on a private network is checked where it is resolved
/// (`security::outbound`).
pub fn parse_url(raw: &str) -> Result<Url, InvalidInput> {
    let invalid = |why: &str| InvalidInput::new("url", why.to_owned());
    if raw.len() > MAX_URL_CHARS {
        return Err(invalid("the URL is longer than 2000 characters"));
    }
    let url = Url::parse(raw.trim()).map_err(|e| invalid(&format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the URL must start with https:// or http://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("the URL has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("the URL must not carry a user name or password"));
    }
    Ok(url)
}

/// The JSON body of one event: `{"id", "type", "created", "data"}`.
pub fn envelope(
    event_id: &str,
    event: WebhookEvent,
    at: PrimitiveDateTime,
    data: serde_json::Value,
) -> String {
    serde_json::json!({
        "id": event_id,
        "type": event.as_str(),
        "created": at.assume_utc().unix_timestamp(),
        "data": data,
    })
    .to_string()
}

pub const SIGNATURE_HEADER: &str = "Broadsheet-Signature";

/// `t=<unix>,v1=<hex HMAC-SHA256 of "<unix>.<body>">` under the webhook's
/// secret.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_sets_are_parsed_deduplicated_and_refuse_unknown_names() {
        let set = EventSet::parse(&[
            "send.finished".into(),
            "member.created".into(),
            "member.created".into(),
        ])
        .unwrap();
        assert_eq!(set.stored(), "member.created send.finished");
        assert_eq!(EventSet::from_stored(&set.stored()), set);
        assert!(EventSet::parse(&[]).is_err());
        let unknown = EventSet::parse(&["member.exploded".into()]).unwrap_err();
        assert!(unknown.message.contains("member.created"), "{}", unknown.message);
    }

    #[test]
    fn webhook_urls_are_http_with_a_host_and_no_credentials() {
        assert!(parse_url("https://hooks.example.com/broadsheet?x=1").is_ok());
        assert!(
            parse_url("http://10.0.0.5:8080/hook").is_ok(),
            "private hosts are checked when resolved"
        );
        for bad in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "https://user:pw@example.com/",
            "not a url",
            "https://",
            &format!("https://example.com/{}", "a".repeat(2_000)),
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_signature_is_stripes_scheme_over_timestamp_dot_body() {
        // Checked against `printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test`.
        assert_eq!(
            signature("whsec_test", 1_700_000_000, "{\"a\":1}"),
            "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
    }
}
