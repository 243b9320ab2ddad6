use crate::domain::{InvalidInput, text_enum::text_enum};

text_enum! {
    /// Who may read an article's full body (see `access`).
    pub enum Visibility("visibility") {
        Public => "public",
        Members => "members",
        Paid => "paid",
    }
}

text_enum! {
    /// Where an article is in its life.
    pub enum ArticleStatus("status") {
        Draft => "draft",
        Scheduled => "scheduled",
        Published => "published",
    }
}

text_enum! {
    /// Which members get the article by email when it is published.
    pub enum EmailSegment("email") {
        None => "none",
        All => "all",
        Paid => "paid",
        Free => "free",
    }
}

/// An article title: trimmed, 1 to 300 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleTitle(String);

impl ArticleTitle {
    pub const MAX_CHARS: usize = 300;

    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let title = text.trim();
        if title.is_empty() {
            return Err(InvalidInput::new("title", "title must not be empty"));
        }
        if title.chars().count() > Self::MAX_CHARS {
            return Err(InvalidInput::new(
                "title",
                format!("title must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if title.chars().any(char::is_control) {
            return Err(InvalidInput::new(
                "title",
                "title must not contain control characters",
            ));
        }
        Ok(Self(title.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An article body in markdown, at most 1 MB: longer is a mistake, not an article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleMarkdown(String);

impl ArticleMarkdown {
    pub const MAX_BYTES: usize = 1024 * 1024;

    pub fn parse(text: String) -> Result<Self, InvalidInput> {
        if text.len() > Self::MAX_BYTES {
            return Err(InvalidInput::new(
                "markdown",
                format!("markdown must be at most {} bytes", Self::MAX_BYTES),
            ));
        }
        if text.trim().is_empty() {
            return Err(InvalidInput::new("markdown", "markdown must not be empty"));
        }
        // PostgreSQL text cannot hold NUL, and no editor means to write one.
        if text.contains('\0') {
            return Err(InvalidInput::new(
                "markdown",
                "markdown must not contain NUL characters",
            ));
        }
        super::markdown::check_divider(&text).map_err(|e| InvalidInput::new("markdown", e.to_string()))?;
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_is_trimmed_and_bounded() {
        assert_eq!(ArticleTitle::parse("  Hello  ").unwrap().as_str(), "Hello");
        assert!(ArticleTitle::parse("   ").is_err());
        assert!(ArticleTitle::parse(&"x".repeat(301)).is_err());
        assert!(ArticleTitle::parse("a\u{0}b").is_err());
    }

    #[test]
    fn an_unknown_visibility_names_the_accepted_values() {
        let err = Visibility::parse("secret").unwrap_err();
        assert_eq!(err.field, "visibility");
        assert!(err.message.contains("public, members, paid"), "{err}");
    }
}
