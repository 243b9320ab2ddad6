//! Authors: staff as readers meet them. A profile gives a byline its link
//! (`/author/{slug}`), a bio and an avatar; the name is the account's.

use crate::domain::{
    InvalidInput,
    settings::{link, one_line},
    slug::Slug,
};

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_BIO_CHARS: usize = 1000;
/// The most authors on one byline.
pub const MAX_PER_POST: usize = 10;

/// The name on a byline: one line, 1 to 100 characters.
pub fn name(raw: &str) -> Result<String, InvalidInput> {
    one_line("name", raw, 1, MAX_NAME_CHARS)
}

/// A few lines about the author, plain text (shown as written, escaped).
pub fn bio(raw: &str) -> Result<String, InvalidInput> {
    // Before trimming: a leading tab is as wrong as one inside. Line ends
    // may come as CR LF, CR or LF; they are kept as LF.
    if raw.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
        return Err(InvalidInput::new(
            "bio",
            "bio must be plain text without control characters",
        ));
    }
    let value = raw.trim().replace("\r\n", "\n").replace('\r', "\n");
    if value.chars().count() > MAX_BIO_CHARS {
        return Err(InvalidInput::new(
            "bio",
            format!("bio must be at most {MAX_BIO_CHARS} characters"),
        ));
    }
    Ok(value)
}

/// An avatar image: a path on this site or an https address (never fetched
/// by the server).
pub fn avatar_url(raw: &str) -> Result<String, InvalidInput> {
    link("avatar_url", raw)
}

/// The slug a new profile starts with: from the name in any script, or
/// `author-{id}` for someone without one (never from the email address,
/// which is private).
pub fn first_slug(name: Option<&str>, user_id: i32) -> Slug {
    let from_name = name.map(slug::slugify).unwrap_or_default();
    let fallback = || Slug::parse(&format!("author-{user_id}")).expect("author-N is a slug");
    match Slug::parse(&from_name) {
        Ok(slug) if from_name.len() <= Slug::MAX_LEN - 8 => slug,
        _ => fallback(),
    }
}

/// Several authors, written as one line: "Ada", "Ada and Grace", "Ada,
/// Grace and Edsger".
pub fn byline<S: AsRef<str>>(names: &[S]) -> String {
    match names {
        [] => String::new(),
        [one] => one.as_ref().to_owned(),
        [init @ .., last] => format!(
            "{} and {}",
            init.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", "),
            last.as_ref()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_slug_comes_from_the_name_or_the_id_never_the_email() {
        assert_eq!(first_slug(Some("Ada Lovelace"), 3).as_str(), "ada-lovelace");
        assert_eq!(first_slug(Some("Łukasz Ćwik"), 3).as_str(), "lukasz-cwik");
        assert_eq!(first_slug(Some("!!!"), 3).as_str(), "author-3");
        assert_eq!(first_slug(None, 7).as_str(), "author-7");
    }

    #[test]
    fn a_byline_joins_names_the_way_people_write_them() {
        assert_eq!(byline::<&str>(&[]), "");
        assert_eq!(byline(&["Ada"]), "Ada");
        assert_eq!(byline(&["Ada", "Grace"]), "Ada and Grace");
        assert_eq!(byline(&["Ada", "Grace", "Edsger"]), "Ada, Grace and Edsger");
    }

    #[test]
    fn a_bio_keeps_its_lines_and_refuses_control_characters() {
        assert_eq!(bio(" Writes.\r\nReads. ").unwrap(), "Writes.\nReads.");
        assert!(bio("a\u{7}b").is_err());
        assert!(bio(&"x".repeat(MAX_BIO_CHARS + 1)).is_err());
    }
}
