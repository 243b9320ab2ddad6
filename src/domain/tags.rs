//! Tags: what a post is about. A tag's slug, made from its name in any
//! script ("Café Culture" → `cafe-culture`, "Россия" → `rossiia`), is its
//! identity: two names with one slug are one tag.

use crate::domain::{InvalidInput, settings::one_line, slug::Slug};

/// The most tags one post carries.
pub const MAX_PER_POST: usize = 20;
pub const MAX_NAME_CHARS: usize = 50;

/// A tag as typed, with the slug it goes by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagName {
    pub name: String,
    pub slug: Slug,
}

impl TagName {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let name = one_line("tags", raw, 1, MAX_NAME_CHARS)?;
        let slugged = slug::slugify(&name);
        if slugged.is_empty() {
            return Err(InvalidInput::new(
                "tags",
                format!("the tag {name:?} needs a letter or a digit"),
            ));
        }
        let slug = Slug::parse(&slugged)
            .map_err(|_| InvalidInput::new("tags", format!("the tag {name:?} is too long")))?;
        Ok(Self { name, slug })
    }
}

/// A post's tags in its writer's order, each once (by slug: the first name
/// written wins), at most `MAX_PER_POST`.
pub fn post_tags<S: AsRef<str>>(raw: &[S]) -> Result<Vec<TagName>, InvalidInput> {
    let mut tags: Vec<TagName> = Vec::new();
    for name in raw {
        let tag = TagName::parse(name.as_ref())?;
        if !tags.iter().any(|t| t.slug == tag.slug) {
            tags.push(tag);
        }
    }
    if tags.len() > MAX_PER_POST {
        return Err(InvalidInput::new(
            "tags",
            format!("a post carries at most {MAX_PER_POST} tags"),
        ));
    }
    Ok(tags)
}

/// Tags typed in one field, separated by commas ("Rust, Web, Café").
pub fn from_field(field: &str) -> Result<Vec<TagName>, InvalidInput> {
    let names: Vec<&str> = field
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    post_tags(&names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_is_named_in_any_script_and_slugged_to_ascii() {
        let tag = TagName::parse("  Café Culture ").unwrap();
        assert_eq!(
            (tag.name.as_str(), tag.slug.as_str()),
            ("Café Culture", "cafe-culture")
        );
        assert_eq!(TagName::parse("Россия").unwrap().slug.as_str(), "rossiia");
        assert_eq!(TagName::parse("日本").unwrap().slug.as_str(), "ri-ben");
        assert!(TagName::parse("!!!").is_err());
        assert!(TagName::parse("").is_err());
        assert!(TagName::parse(&"x".repeat(51)).is_err());
    }

    #[test]
    fn a_posts_tags_keep_their_order_and_come_once() {
        let tags = from_field("Rust, web,  rust , Web Dev,").unwrap();
        let slugs: Vec<&str> = tags.iter().map(|t| t.slug.as_str()).collect();
        assert_eq!(slugs, ["rust", "web", "web-dev"]);
        assert_eq!(tags[0].name, "Rust", "the first spelling wins");
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert!(post_tags(&many).is_err());
    }
}
