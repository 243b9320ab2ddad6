//! The newsletters a publication runs: their names and who may receive them.

use crate::domain::{InvalidInput, settings::one_line, slug::Slug, text_enum::text_enum};

pub const MAX_NAME_CHARS: usize = 60;
pub const MAX_DESCRIPTION_CHARS: usize = 300;
pub const MAX_SENDER_NAME_CHARS: usize = 80;

text_enum! {
    /// Who receives a newsletter: every subscriber, or only those whose plan
    /// reads paid posts (a paid member's letter).
    pub enum NewsletterVisibility("visibility") {
        Public => "public",
        Paid => "paid",
    }
}

/// A newsletter a sign-up form offers (running, public): ticked at first
/// when new members join it by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignupChoice {
    pub id: i32,
    pub name: String,
    pub description: String,
    pub preselected: bool,
}

pub fn newsletter_name(raw: &str) -> Result<String, InvalidInput> {
    one_line("name", raw, 1, MAX_NAME_CHARS)
}

pub fn newsletter_description(raw: &str) -> Result<String, InvalidInput> {
    one_line("description", raw, 0, MAX_DESCRIPTION_CHARS)
}

/// The From name of one newsletter ("Ana at The Weekly").
pub fn sender_name(raw: &str) -> Result<String, InvalidInput> {
    one_line("sender_name", raw, 1, MAX_SENDER_NAME_CHARS)
}

pub fn newsletter_slug(raw: &str) -> Result<Slug, InvalidInput> {
    Slug::parse(raw).map_err(|_| {
        InvalidInput::new(
            "slug",
            "slug must be 1 to 100 lowercase letters, digits and single hyphens",
        )
    })
}
