use crate::domain::{
    InvalidInput,
    settings::{link, one_line},
    text_enum::text_enum,
};

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

text_enum! {
    /// A post (listed, fed, emailed) or a page (About, Terms…: at `/{slug}`
    /// and nowhere else).
    pub enum ArticleKind("type") {
        Post => "post",
        Page => "page",
    }
}

/// First path segments the site uses or keeps for itself: a page cannot
/// take one as its slug (`/{slug}` would never reach it, or would shadow a
/// route added later).
pub const RESERVED_PAGE_SLUGS: &[&str] = &[
    "account",
    "admin",
    "api",
    "archive",
    "assets",
    "author",
    "authors",
    "billing",
    "email",
    "embed",
    "feed",
    "feeds",
    "g",
    "gift",
    "gifts",
    "healthz",
    "join",
    "login",
    "logout",
    "media",
    "members",
    "metrics",
    "offer",
    "offers",
    "p",
    "page",
    "pages",
    "posts",
    "readyz",
    "redeem",
    "reset",
    "rss",
    "search",
    "signup",
    "static",
    "stripe",
    "subscribe",
    "tag",
    "tags",
    "unsubscribe",
    "verify",
];

/// Whether a page may live at `/{slug}`.
pub fn page_slug_is_free(slug: &str) -> bool {
    !RESERVED_PAGE_SLUGS.contains(&slug)
}

/// A page's slug must not be one the site keeps.
pub fn check_page_slug(slug: &str) -> Result<(), InvalidInput> {
    if page_slug_is_free(slug) {
        Ok(())
    } else {
        Err(InvalidInput::new(
            "slug",
            format!("/{slug} is kept for the site itself; give the page another slug"),
        ))
    }
}

/// Pages are never emailed.
pub fn check_page_email(kind: ArticleKind, email: EmailSegment) -> Result<(), InvalidInput> {
    if kind == ArticleKind::Page && email != EmailSegment::None {
        return Err(InvalidInput::new(
            "email",
            "a page is never emailed: leave email at none, or make it a post",
        ));
    }
    Ok(())
}

/// An article title: trimmed, 1 to 300 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleTitle(String);

impl ArticleTitle {
    pub const MAX_CHARS: usize = 300;

    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        // Before trimming: a leading tab is as wrong as one inside.
        if text.chars().any(char::is_control) {
            return Err(InvalidInput::new(
                "title",
                "title must not contain control characters",
            ));
        }
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

/// The subject line of a post's email, when it is not the title: one line,
/// 1 to 200 characters.
pub fn email_subject(raw: &str) -> Result<String, InvalidInput> {
    one_line("email_subject", raw, 1, 200)
}

/// The line inboxes show after the subject, when it is not the excerpt: one
/// line, 1 to 300 characters.
pub fn preheader(raw: &str) -> Result<String, InvalidInput> {
    one_line("preheader", raw, 1, 300)
}

/// A cover image's address: a path on this site (`/media/…`) or an
/// `https://` address. Shown, never fetched by the server.
pub fn feature_image(raw: &str) -> Result<String, InvalidInput> {
    link("feature_image", raw)
}

/// A cover image's alternative text: one line, at most 500 characters.
pub fn feature_image_alt(raw: &str) -> Result<String, InvalidInput> {
    one_line("feature_image_alt", raw, 0, 500)
}

/// A cover image's caption: one line, at most 500 characters.
pub fn feature_image_caption(raw: &str) -> Result<String, InvalidInput> {
    one_line("feature_image_caption", raw, 0, 500)
}

/// An email-only post (`on_site` false) exists to be emailed.
pub fn check_email_only(on_site: bool, email: EmailSegment) -> Result<(), InvalidInput> {
    if !on_site && email == EmailSegment::None {
        return Err(InvalidInput::new(
            "site",
            "an email-only post (site: false) must be emailed: set email to all, paid or free",
        ));
    }
    Ok(())
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

    #[test]
    fn email_lines_are_one_line_and_bounded() {
        assert_eq!(email_subject("  This week  ").unwrap(), "This week");
        assert!(email_subject(" ").is_err());
        assert!(email_subject(&"x".repeat(201)).is_err());
        assert!(preheader("a\nb").is_err());
        assert!(preheader(&"x".repeat(300)).is_ok());
    }

    #[test]
    fn a_cover_image_is_a_path_here_or_an_https_address() {
        assert_eq!(feature_image("/media/a.webp").unwrap(), "/media/a.webp");
        assert!(feature_image("https://images.example.com/a.jpg").is_ok());
        for bad in [
            "javascript:alert(1)",
            "//evil.example/a.jpg",
            "http://example.com/a.jpg",
            "a b",
        ] {
            assert!(feature_image(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_email_only_post_must_be_emailed() {
        assert!(check_email_only(false, EmailSegment::None).is_err());
        assert!(check_email_only(false, EmailSegment::Paid).is_ok());
        assert!(check_email_only(true, EmailSegment::None).is_ok());
    }
}
