use secrecy::{ExposeSecret, SecretString};

use crate::domain::InvalidInput;

/// A password a person chose: 8 to 128 characters (NIST SP 800-63B). The upper
/// bound keeps one request from making argon2 hash megabytes.
pub struct Password(SecretString);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(text: String) -> Result<Self, InvalidInput> {
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

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_must_be_8_to_128_characters() {
        assert!(Password::parse("short".into()).is_err());
        assert!(Password::parse("long enough".into()).is_ok());
        assert!(Password::parse("x".repeat(129)).is_err());
    }

    #[test]
    fn a_password_never_prints() {
        let p = Password::parse("hunter2hunter2".into()).unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
