//! What newsletter tracking names: a link of a send by its key, and the
//! query parameter that marks a tracked link to the site itself.

use sha2::{Digest, Sha256};

/// The query parameter a tracked link to the site carries (its click
/// token). The site records the click and redirects to the address without
/// it, so a reader whose mail client or extension strips it still lands on
/// the page, and a shared address never carries someone's token.
pub const CLICK_PARAMETER: &str = "bs_click";

/// A link of a send: the first 8 bytes of its URL's SHA-256. The same URL
/// has the same key in every copy of the send, whichever worker renders it,
/// so no database round trip is needed to put it in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkKey([u8; 8]);

impl LinkKey {
    pub fn of(url: &str) -> Self {
        let digest = Sha256::digest(url.as_bytes());
        let mut key = [0u8; 8];
        key.copy_from_slice(&digest[..8]);
        Self(key)
    }

    pub fn from_bytes(bytes: [u8; 8]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 8] {
        &self.0
    }

    /// As stored: 16 lowercase hex digits.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_key_is_the_same_for_the_same_url_and_reads_as_sixteen_hex_digits() {
        let key = LinkKey::of("https://example.com/a?b=c");
        assert_eq!(key, LinkKey::of("https://example.com/a?b=c"));
        assert_ne!(key, LinkKey::of("https://example.com/a?b=d"));
        assert_eq!(key.hex().len(), 16);
        assert!(key.hex().bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
