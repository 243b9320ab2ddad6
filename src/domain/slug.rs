use crate::domain::InvalidInput;

/// The URL name of an article: lowercase ASCII letters, digits and single
/// hyphens, 1 to 100 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

impl Slug {
    pub const MAX_LEN: usize = 100;

    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let ok = !text.is_empty()
            && text.len() <= Self::MAX_LEN
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !text.starts_with('-')
            && !text.ends_with('-')
            && !text.contains("--");
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidInput::new(
                "slug",
                "slug must be 1 to 100 lowercase letters, digits and single hyphens",
            ))
        }
    }

    /// A slug from a title in any script: transliterated to ASCII ("Café
    /// Straße" → "cafe-strasse"), cut at a word boundary; `article` when
    /// nothing is left.
    pub fn from_title(title: &str) -> Self {
        let mut slug = slug::slugify(title);
        if slug.len() > Self::MAX_LEN - 8 {
            // Leave room for a "-2" style suffix when the slug is taken.
            let cut = slug[..Self::MAX_LEN - 8].rfind('-').unwrap_or(Self::MAX_LEN - 8);
            slug.truncate(cut);
        }
        let slug = slug.trim_matches('-').to_owned();
        if slug.is_empty() {
            Self("article".to_owned())
        } else {
            Self(slug)
        }
    }

    /// The `n`th alternative when this slug is taken: `slug-2`, `slug-3`, …
    pub fn with_suffix(&self, n: u32) -> Self {
        Self(format!("{}-{n}", self.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Slug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slug_from_a_title_is_transliterated() {
        assert_eq!(Slug::from_title("Café Straße!").as_str(), "cafe-strasse");
        assert_eq!(Slug::from_title("Привет, мир").as_str(), "privet-mir");
        assert_eq!(Slug::from_title("!!!").as_str(), "article");
    }

    #[test]
    fn a_long_title_makes_a_slug_that_still_parses_with_a_suffix() {
        let slug = Slug::from_title(&"word ".repeat(100));
        assert!(Slug::parse(slug.with_suffix(99).as_str()).is_ok());
    }

    #[test]
    fn bad_slugs_are_refused() {
        for bad in ["", "Upper", "a--b", "-a", "a-", "a b", "a/b", "é"] {
            assert!(Slug::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(Slug::parse("good-slug-2").is_ok());
    }
}
