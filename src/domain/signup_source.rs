//! What brought a member: kept on the member for attribution, never with
//! anything that identifies the visitor (no address, no cookie).

use std::fmt;

use super::{InvalidInput, settings, slug::Slug};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignupSource {
    /// The form on the home page.
    Home,
    /// The form at the end of an article or in its teaser.
    Article(Slug),
    /// The embeddable form, framed by a page of this origin (when the
    /// browser said which, and the admin listed it).
    Embed(Option<String>),
    /// `POST /api/subscribe` without a source of its own.
    Api,
}

impl SignupSource {
    /// `home`, `article:{slug}`, `embed:{origin}` or `api`.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let refuse = || {
            InvalidInput::new(
                "source",
                "source must be home, api, article:{slug} or embed:{origin}",
            )
        };
        match raw.split_once(':') {
            None if raw == "home" => Ok(Self::Home),
            None if raw == "api" => Ok(Self::Api),
            None if raw == "embed" => Ok(Self::Embed(None)),
            Some(("article", slug)) => Slug::parse(slug).map(Self::Article).map_err(|_| refuse()),
            Some(("embed", origin)) => settings::origin(origin)
                .map(|origin| Self::Embed(Some(origin)))
                .ok_or_else(refuse),
            _ => Err(refuse()),
        }
    }
}

impl fmt::Display for SignupSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Home => f.write_str("home"),
            Self::Article(slug) => write!(f, "article:{}", slug.as_str()),
            Self::Embed(Some(origin)) => write!(f, "embed:{origin}"),
            Self::Embed(None) => f.write_str("embed"),
            Self::Api => f.write_str("api"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_round_trip_and_anything_else_is_refused() {
        for raw in [
            "home",
            "api",
            "embed",
            "article:a-day-out",
            "embed:https://blog.example.com",
        ] {
            assert_eq!(SignupSource::parse(raw).unwrap().to_string(), raw);
        }
        for raw in [
            "",
            "twitter",
            "article:Not A Slug",
            "embed:javascript:alert(1)",
            "embed:https://a.example/x",
        ] {
            assert!(SignupSource::parse(raw).is_err(), "{raw}");
        }
    }
}
