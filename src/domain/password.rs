use secrecy::{ExposeSecret, SecretString};

use crate::domain::{InvalidInput, email::EmailAddress};

/// Passwords ranked this common or more in zxcvbn's list of leaked
/// passwords are refused outright.
const COMMON_RANK: usize = 10_000;

/// A password a person chose: 8 to 128 characters (NIST SP 800-63B). The upper
/// bound keeps one request from making argon2 hash megabytes.
pub struct Password(SecretString);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    /// A new password for the account at `email`: 8 to 128 characters, not
    /// one of the 10,000 most common passwords (whole, reversed or in l33t),
    /// and not containing the name part of the address (when the address
    /// is known: a form with a mistyped address still judges the rest).
    pub fn choose(text: String, email: Option<&EmailAddress>) -> Result<Self, InvalidInput> {
        let password = Self::parse(text)?;
        let lowered = password.expose().to_lowercase();
        let local_part = email
            .map(|email| {
                email
                    .as_str()
                    .split('@')
                    .next()
                    .unwrap_or_default()
                    .to_lowercase()
            })
            .unwrap_or_default();
        if local_part.chars().count() >= 3 && lowered.contains(&local_part) {
            return Err(InvalidInput::new(
                "password",
                "password must not contain your email address; choose something only you would know",
            ));
        }
        if is_common(password.expose()) {
            return Err(InvalidInput::new(
                "password",
                "that password is one of the most common ones, which attackers try first; choose another",
            ));
        }
        Ok(password)
    }

    fn parse(text: String) -> Result<Self, InvalidInput> {
        let chars = text.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(InvalidInput::new(
                "password",
                format!("password must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if chars > Self::MAX_CHARS {
            return Err(InvalidInput::new(
                "password",
                format!("password must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(Self(SecretString::from(text)))
    }

    /// A password typed at login is checked, not judged: any length up to the
    /// cap goes to the verifier, so the answer never hints at the rules.
    pub fn for_login(text: String) -> Result<Self, InvalidInput> {
        if text.chars().count() > Self::MAX_CHARS {
            return Err(InvalidInput::new("password", "incorrect email or password"));
        }
        Ok(Self(SecretString::from(text)))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// Whether zxcvbn sees the whole password as one entry of its leaked
/// passwords list, ranked among the most common.
fn is_common(password: &str) -> bool {
    use zxcvbn::matching::patterns::{DictionaryPattern, MatchPattern};
    // zxcvbn does not export the name of its dictionaries' type; the
    // leaked-passwords list is its default.
    let passwords_list = DictionaryPattern::default().dictionary_name;
    let estimate = zxcvbn::zxcvbn(password, &[]);
    match estimate.sequence() {
        [only] => matches!(
            &only.pattern,
            MatchPattern::Dictionary(word)
                if word.dictionary_name == passwords_list && word.rank <= COMMON_RANK
        ),
        _ => false,
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> EmailAddress {
        EmailAddress::parse("marguerite@example.com").unwrap()
    }

    #[test]
    fn a_password_must_be_8_to_128_characters() {
        assert!(Password::choose("short".into(), Some(&email())).is_err());
        assert!(Password::choose("long enough".into(), Some(&email())).is_ok());
        assert!(Password::choose("x".repeat(129), Some(&email())).is_err());
    }

    #[test]
    fn the_most_common_passwords_and_the_address_itself_are_refused() {
        for common in [
            "password",
            "12345678",
            "qwertyuiop",
            "iloveyou",
            "P@ssw0rd",
            "drowssap",
            "sunshine",
        ] {
            let refused = Password::choose(common.into(), Some(&email())).expect_err(common);
            assert!(
                refused.message.contains("most common"),
                "{common}: {}",
                refused.message
            );
        }
        for personal in ["marguerite", "Marguerite2026", "marguerite@example.com"] {
            let refused = Password::choose(personal.into(), Some(&email())).expect_err(personal);
            assert!(refused.message.contains("email address"), "{personal}");
        }
        for fine in ["correct horse battery", "tide pools at dawn", "q8#Lr2!vNw"] {
            assert!(Password::choose(fine.into(), Some(&email())).is_ok(), "{fine}");
        }
    }

    #[test]
    fn a_password_never_prints() {
        let p = Password::parse("hunter2hunter2".into()).unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
