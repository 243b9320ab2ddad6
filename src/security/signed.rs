//! Signed tokens for links that must work without a login and without a
//! stored secret per link: private feed URLs, unsubscribe and gift links (and
//! the whole-MAC `tag` that binds CSRF tokens to a session). A token is base64url(payload ‖ first 16 bytes of
//! HMAC-SHA256(server key, purpose ‖ payload)); the purpose keeps a token
//! made for one use from being accepted for another.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::domain::tracking::LinkKey;

const MAC_LEN: usize = 16;

/// What a token is for; part of what is signed.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    Feed,
    Unsubscribe,
    Gift,
    /// A gift subscription's redeem code.
    GiftSubscription,
    /// A form's CSRF token, bound to the session (or visitor) it was shown to.
    Csrf,
    /// When a subscribe form was shown (its minimum fill time).
    FormShown,
    /// A recipient's "view in browser" link to the post they were emailed.
    EmailCopy,
    /// A tracked link in a newsletter: the delivery and the link.
    Click,
    /// A newsletter's open pixel: the delivery.
    Open,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Feed => b"feed:",
            Purpose::Unsubscribe => b"unsubscribe:",
            Purpose::Gift => b"gift:",
            Purpose::GiftSubscription => b"gift-subscription:",
            Purpose::Csrf => b"csrf:",
            Purpose::FormShown => b"form-shown:",
            Purpose::EmailCopy => b"email-copy:",
            Purpose::Click => b"click:",
            Purpose::Open => b"open:",
        }
    }
}

/// The server's signing key (from `server_secrets`, shared by all instances).
#[derive(Clone)]
pub struct SigningKey([u8; 32]);

impl SigningKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    fn mac(&self, purpose: Purpose, payload: &[u8]) -> [u8; MAC_LEN] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(purpose.label());
        mac.update(payload);
        let full = mac.finalize().into_bytes();
        let mut short = [0u8; MAC_LEN];
        short.copy_from_slice(&full[..MAC_LEN]);
        short
    }

    pub fn sign(&self, purpose: Purpose, payload: &[u8]) -> String {
        let mut bytes = payload.to_vec();
        bytes.extend_from_slice(&self.mac(purpose, payload));
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The MAC of `payload` alone, base64url: a value only this server can
    /// compute for that payload, for tokens whose payload the checker has.
    /// Whole (32 bytes, 43 characters): these are compared, never carried
    /// in a link, so there is no length to save.
    pub fn tag(&self, purpose: Purpose, payload: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(purpose.label());
        mac.update(payload);
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// The payload of a token this key signed for `purpose`; `None` for
    /// anything else. The MAC is compared in constant time.
    pub fn verify(&self, purpose: Purpose, token: &str) -> Option<Vec<u8>> {
        if token.len() > 512 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        if bytes.len() < MAC_LEN {
            return None;
        }
        let (payload, mac) = bytes.split_at(bytes.len() - MAC_LEN);
        bool::from(self.mac(purpose, payload).ct_eq(mac)).then(|| payload.to_vec())
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// A token for two numbers.
fn pair_token(key: &SigningKey, purpose: Purpose, first: i32, second: i32) -> String {
    let mut payload = first.to_be_bytes().to_vec();
    payload.extend_from_slice(&second.to_be_bytes());
    key.sign(purpose, &payload)
}

/// The two numbers of a token `pair_token` made for `purpose`.
fn parse_pair(payload: &[u8]) -> Option<(i32, i32)> {
    let payload: [u8; 8] = payload.try_into().ok()?;
    let first = i32::from_be_bytes(payload[..4].try_into().ok()?);
    let second = i32::from_be_bytes(payload[4..].try_into().ok()?);
    Some((first, second))
}

/// A private feed token for a user at a feed generation.
pub fn feed_token(key: &SigningKey, user_id: i32, generation: i32) -> String {
    pair_token(key, Purpose::Feed, user_id, generation)
}

/// The (user id, generation) a feed token was made for.
pub fn parse_feed_token(key: &SigningKey, token: &str) -> Option<(i32, i32)> {
    parse_pair(&key.verify(Purpose::Feed, token)?)
}

/// A per-recipient unsubscribe token for one newsletter (for
/// List-Unsubscribe and the footer), naming the delivery it came in so the
/// post's figures count who left from it.
pub fn unsubscribe_token(
    key: &SigningKey,
    user_id: i32,
    newsletter_id: i32,
    delivery_id: Option<i32>,
) -> String {
    let mut payload = user_id.to_be_bytes().to_vec();
    payload.extend_from_slice(&newsletter_id.to_be_bytes());
    if let Some(delivery_id) = delivery_id {
        payload.extend_from_slice(&delivery_id.to_be_bytes());
    }
    key.sign(Purpose::Unsubscribe, &payload)
}

/// Who an unsubscribe token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsubscribeClaim {
    pub user_id: i32,
    pub newsletter_id: i32,
    /// The delivery it came in (tokens from before tracking name none).
    pub delivery_id: Option<i32>,
}

/// The newsletter the migration made of the single list that came before
/// several: tokens from then name only the member.
const FIRST_NEWSLETTER: i32 = 1;

/// Who an unsubscribe token was made for.
pub fn parse_unsubscribe_token(key: &SigningKey, token: &str) -> Option<UnsubscribeClaim> {
    let payload = key.verify(Purpose::Unsubscribe, token)?;
    let number = |at: usize| Some(i32::from_be_bytes(payload.get(at..at + 4)?.try_into().ok()?));
    let (newsletter_id, delivery_id) = match payload.len() {
        4 => (FIRST_NEWSLETTER, None),
        8 => (number(4)?, None),
        12 => (number(4)?, Some(number(8)?)),
        _ => return None,
    };
    Some(UnsubscribeClaim {
        user_id: number(0)?,
        newsletter_id,
        delivery_id,
    })
}

/// A recipient's link to the post they were emailed, as they may read it:
/// the only way to an email-only post on the web.
pub fn email_copy_token(key: &SigningKey, user_id: i32, article_id: i32) -> String {
    pair_token(key, Purpose::EmailCopy, user_id, article_id)
}

/// The (user id, article id) an email-copy token was made for.
pub fn parse_email_copy_token(key: &SigningKey, token: &str) -> Option<(i32, i32)> {
    parse_pair(&key.verify(Purpose::EmailCopy, token)?)
}

/// A gift link's token: its row id, signed. Checked before any query, so a
/// guessed or tampered token costs nothing but a MAC.
pub fn gift_token(key: &SigningKey, gift_id: i32) -> String {
    key.sign(Purpose::Gift, &gift_id.to_be_bytes())
}

pub fn parse_gift_token(key: &SigningKey, token: &str) -> Option<i32> {
    let payload: [u8; 4] = key.verify(Purpose::Gift, token)?.try_into().ok()?;
    Some(i32::from_be_bytes(payload))
}

/// A gift subscription's redeem code: its row id, signed. Nothing secret
/// is stored, so the code can be made again for a scheduled email.
pub fn redeem_code(key: &SigningKey, gift_id: i32) -> String {
    key.sign(Purpose::GiftSubscription, &gift_id.to_be_bytes())
}

pub fn parse_redeem_code(key: &SigningKey, code: &str) -> Option<i32> {
    let payload: [u8; 4] = key.verify(Purpose::GiftSubscription, code)?.try_into().ok()?;
    Some(i32::from_be_bytes(payload))
}

/// A recipient's tracked link: their delivery and the link's key
/// (`domain::tracking::LinkKey`), 38 characters.
pub fn click_token(key: &SigningKey, delivery_id: i32, link: LinkKey) -> String {
    let mut payload = delivery_id.to_be_bytes().to_vec();
    payload.extend_from_slice(link.as_bytes());
    key.sign(Purpose::Click, &payload)
}

/// The (delivery id, link key) a click token was made for.
pub fn parse_click_token(key: &SigningKey, token: &str) -> Option<(i32, LinkKey)> {
    let payload: [u8; 12] = key.verify(Purpose::Click, token)?.try_into().ok()?;
    let delivery_id = i32::from_be_bytes(payload[..4].try_into().ok()?);
    Some((delivery_id, LinkKey::from_bytes(payload[4..].try_into().ok()?)))
}

/// A delivery's open pixel.
pub fn open_token(key: &SigningKey, delivery_id: i32) -> String {
    key.sign(Purpose::Open, &delivery_id.to_be_bytes())
}

pub fn parse_open_token(key: &SigningKey, token: &str) -> Option<i32> {
    let payload: [u8; 4] = key.verify(Purpose::Open, token)?.try_into().ok()?;
    Some(i32::from_be_bytes(payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_click_token_names_its_delivery_and_link_and_is_no_other_token() {
        let key = SigningKey::new([7; 32]);
        let link = LinkKey::of("https://example.com/a");
        let token = click_token(&key, 41, link);
        assert_eq!(token.len(), 38);
        assert_eq!(parse_click_token(&key, &token), Some((41, link)));
        assert_eq!(parse_open_token(&key, &token), None);
        assert_eq!(parse_click_token(&key, &open_token(&key, 41)), None);
        assert_eq!(parse_open_token(&key, &open_token(&key, 41)), Some(41));
        assert_eq!(parse_click_token(&SigningKey::new([8; 32]), &token), None);
    }

    #[test]
    fn a_feed_token_round_trips_and_a_tampered_one_does_not() {
        let key = SigningKey::new([7; 32]);
        let token = feed_token(&key, 42, 3);
        assert_eq!(parse_feed_token(&key, &token), Some((42, 3)));
        let other_key = SigningKey::new([8; 32]);
        assert_eq!(parse_feed_token(&other_key, &token), None);
        let mut tampered = token.into_bytes();
        tampered[0] = if tampered[0] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            parse_feed_token(&key, &String::from_utf8(tampered).unwrap()),
            None
        );
        assert_eq!(parse_feed_token(&key, "not a token!"), None);
    }

    #[test]
    fn a_gift_token_is_not_an_unsubscribe_token_for_the_same_id() {
        let key = SigningKey::new([7; 32]);
        let gift = gift_token(&key, 9);
        assert_eq!(parse_gift_token(&key, &gift), Some(9));
        assert_eq!(parse_unsubscribe_token(&key, &gift), None);
        assert_eq!(parse_gift_token(&key, &unsubscribe_token(&key, 9, 1, None)), None);
    }

    #[test]
    fn an_unsubscribe_token_names_its_newsletter_and_one_from_before_names_the_first() {
        let key = SigningKey::new([7; 32]);
        let claim = |user_id, newsletter_id, delivery_id| {
            Some(UnsubscribeClaim {
                user_id,
                newsletter_id,
                delivery_id,
            })
        };
        assert_eq!(
            parse_unsubscribe_token(&key, &unsubscribe_token(&key, 9, 4, Some(77))),
            claim(9, 4, Some(77))
        );
        assert_eq!(
            parse_unsubscribe_token(&key, &unsubscribe_token(&key, 9, 4, None)),
            claim(9, 4, None)
        );
        let before_several = key.sign(Purpose::Unsubscribe, &9i32.to_be_bytes());
        assert_eq!(parse_unsubscribe_token(&key, &before_several), claim(9, 1, None));
    }
}
