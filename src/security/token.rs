//! Random bearer secrets (session tokens, API keys) and their stored form.
//! Only a SHA-256 of a secret is stored, so a database leak does not leak
//! working credentials; a 256-bit secret needs no salt or slow hash.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngExt;
use sha2::{Digest, Sha256};

/// A fresh 256-bit secret, URL-safe base64, with an optional prefix that
/// tells people (and secret scanners) what it is.
pub fn generate(prefix: &str) -> String {
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(random_bytes()))
}

/// 32 bytes from the thread's CSPRNG.
pub fn random_bytes() -> [u8; 32] {
    rand::rng().random()
}

/// The stored form of a secret: hex SHA-256.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Prefix of API keys, so a leaked one is recognisable.
pub const API_KEY_PREFIX: &str = "bsk_";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_and_hash_to_64_hex_chars() {
        let (a, b) = (generate(""), generate(""));
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash(&a).len(), 64);
        assert!(generate(API_KEY_PREFIX).starts_with("bsk_"));
    }
}
