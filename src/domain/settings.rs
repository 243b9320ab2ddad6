//! The publication's own settings: its name, look, sender name, navigation,
//! language and time zone. Admins change them at run time; they are stored as
//! one JSON document, and every value passes the same rules whether it comes
//! from the admin API, the settings page or the stored document itself (which
//! is read as a patch over the defaults, so a setting added in a later version
//! simply takes its default).

use serde::{Deserialize, Serialize};

use super::InvalidInput;

/// Validated settings. Built only by `SiteSettings::defaults` and changed
/// only through `apply`, so every instance holds values that passed the rules.
/// Serialized as stored and as the admin API shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SiteSettings {
    pub title: String,
    /// One line under the masthead and in meta descriptions.
    pub description: String,
    /// `#rrggbb`, lower case.
    #[schema(example = "#8a1c1c")]
    pub accent_color: String,
    pub logo_url: Option<String>,
    pub icon_url: Option<String>,
    /// The display name on every email's From (the address is `MAIL_FROM`).
    pub sender_name: String,
    /// Short markdown, rendered and sanitized for the footer.
    pub footer: String,
    pub navigation: Vec<NavLink>,
    /// A BCP 47 language tag: `<html lang>`, feeds, month names in dates.
    pub locale: String,
    /// An IANA time zone: the zone dates are shown in.
    pub timezone: String,
    /// The footer's copyright line; empty: "© {year} {title}".
    pub copyright: String,
    /// Origins allowed to frame the embeddable subscribe form.
    pub embed_origins: Vec<String>,
    /// Whether the free-subscribe form also asks for a name.
    pub subscribe_asks_name: bool,
    /// Emailed once to a new member when they first confirm their address.
    pub welcome_free: WelcomeEmail,
    /// Emailed once to a member on their first paid subscription.
    pub welcome_paid: WelcomeEmail,
    /// The publisher's postal address, in every newsletter's footer (the
    /// CAN-SPAM Act asks commercial email for one); empty: none shown.
    pub postal_address: String,
}

/// A welcome email as the admin wrote it. `{publication}` in the subject or
/// the message stands for the publication's name when it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WelcomeEmail {
    pub enabled: bool,
    /// 1 to 200 characters, one line.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub subject: String,
    /// Markdown, 1 to 10,000 characters.
    #[schema(min_length = 1, max_length = 10000, pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    pub markdown: String,
}

impl WelcomeEmail {
    /// The built-in free welcome, on until the admin edits or turns it off.
    pub fn default_free() -> Self {
        Self {
            enabled: true,
            subject: "Welcome to {publication}".to_owned(),
            markdown: "Thank you for joining {publication}.\n\n\
                New posts will reach this inbox as they are published, and every \
                past one is on the site. Choose which newsletters you get from \
                your account page, any time."
                .to_owned(),
        }
    }

    /// The built-in paid welcome.
    pub fn default_paid() -> Self {
        Self {
            enabled: true,
            subject: "Thank you for subscribing to {publication}".to_owned(),
            markdown: "Your subscription is active: every post is yours to read in full, \
                on the site and in your inbox.\n\n\
                Manage your plan and card from your account page whenever you need to."
                .to_owned(),
        }
    }

    /// `{publication}` filled in.
    pub fn subject_for(&self, publication: &str) -> String {
        self.subject.replace("{publication}", publication)
    }

    pub fn markdown_for(&self, publication: &str) -> String {
        self.markdown.replace("{publication}", publication)
    }

    fn checked(self, field: &'static str) -> Result<Self, InvalidInput> {
        let subject = one_line(field, &self.subject, 1, 200)?;
        let markdown = self.markdown.trim().to_owned();
        if markdown.is_empty() || markdown.chars().count() > 10_000 || markdown.contains('\0') {
            return Err(InvalidInput::new(
                field,
                "the welcome message must be 1 to 10,000 characters of markdown",
            ));
        }
        Ok(Self {
            enabled: self.enabled,
            subject,
            markdown,
        })
    }
}

/// One entry of the site navigation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NavLink {
    /// 1 to 40 characters, one line.
    #[schema(
        min_length = 1,
        max_length = 40,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub label: String,
    /// A path on this site (`/about`) or an `https://` URL.
    #[schema(
        max_length = 2000,
        pattern = r"/([^/\\\s\x00-\x1F\x7F-\x9F][^\s\x00-\x1F\x7F-\x9F]*)?$|^https://([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*(/[^\s\x00-\x1F\x7F-\x9F]*)?$"
    )]
    pub url: String,
}

/// A change to the settings: fields left out stay as they are. `logo_url`
/// and `icon_url` are cleared with `null` or an empty string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    /// 1 to 100 characters, one line.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub title: Option<String>,
    /// At most 300 characters, one line.
    #[schema(max_length = 300, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub description: Option<String>,
    #[schema(pattern = "^#[0-9a-fA-F]{6}$", example = "#1a5fb4")]
    pub accent_color: Option<String>,
    #[serde(default, deserialize_with = "super::nullable")]
    #[schema(value_type = Option<String>, max_length = 2000, pattern = r"^$|^/([^/\\\s\x00-\x1F\x7F-\x9F][^\s\x00-\x1F\x7F-\x9F]*)?$|^https://([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*(/[^\s\x00-\x1F\x7F-\x9F]*)?$")]
    pub logo_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::nullable")]
    #[schema(value_type = Option<String>, max_length = 2000, pattern = r"^$|^/([^/\\\s\x00-\x1F\x7F-\x9F][^\s\x00-\x1F\x7F-\x9F]*)?$|^https://([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*(/[^\s\x00-\x1F\x7F-\x9F]*)?$")]
    pub icon_url: Option<Option<String>>,
    /// 1 to 100 characters, one line.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub sender_name: Option<String>,
    /// Markdown, at most 2,000 characters.
    #[schema(max_length = 2000, pattern = r"^[^\x00]*$")]
    pub footer: Option<String>,
    /// At most 12 links, in order.
    #[schema(max_items = 12)]
    pub navigation: Option<Vec<NavLink>>,
    /// A BCP 47 language tag such as `en`, `fr-CA`.
    #[schema(max_length = 35, pattern = "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")]
    pub locale: Option<String>,
    /// An IANA time zone such as `Europe/Paris` (the document lists them).
    #[schema(max_length = 64)]
    pub timezone: Option<String>,
    /// At most 200 characters, one line.
    #[schema(max_length = 200, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub copyright: Option<String>,
    /// Origins (`https://example.com`) whose pages may frame the subscribe
    /// form; at most 20.
    #[schema(max_items = 20, inline)]
    pub embed_origins: Option<Vec<Origin>>,
    pub subscribe_asks_name: Option<bool>,
    /// The whole free welcome email (all three fields).
    pub welcome_free: Option<WelcomeEmail>,
    /// The whole paid welcome email (all three fields).
    pub welcome_paid: Option<WelcomeEmail>,
    /// At most 300 characters, one line ("12 Harbour Street, Leith EH6 6PJ, UK").
    #[schema(max_length = 300, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub postal_address: Option<String>,
}

/// An origin as typed (`https://example.com`); checked by `origin`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, pattern = r"^https://([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*/?$")]
pub struct Origin(pub String);

impl From<&str> for Origin {
    fn from(raw: &str) -> Self {
        Self(raw.to_owned())
    }
}

/// The time zones `timezone` accepts, for the OpenAPI document.
pub fn time_zone_names() -> impl Iterator<Item = &'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|zone| zone.name())
}

impl SiteSettings {
    /// What a new publication starts with: its name and sender from the
    /// configuration, everything else neutral.
    pub fn defaults(title: &str, sender_name: &str) -> Self {
        Self {
            title: title.to_owned(),
            description: String::new(),
            accent_color: "#8a1c1c".to_owned(),
            logo_url: None,
            icon_url: None,
            sender_name: sender_name.to_owned(),
            footer: String::new(),
            navigation: Vec::new(),
            locale: "en".to_owned(),
            timezone: "UTC".to_owned(),
            copyright: String::new(),
            embed_origins: Vec::new(),
            subscribe_asks_name: false,
            welcome_free: WelcomeEmail::default_free(),
            welcome_paid: WelcomeEmail::default_paid(),
            postal_address: String::new(),
        }
    }

    /// These settings with `patch` applied, or the first value that breaks a
    /// rule (nothing changes then).
    pub fn apply(&self, patch: SettingsPatch) -> Result<Self, InvalidInput> {
        let mut next = self.clone();
        if let Some(title) = patch.title {
            next.title = one_line("title", &title, 1, 100)?;
        }
        if let Some(description) = patch.description {
            next.description = one_line("description", &description, 0, 300)?;
        }
        if let Some(color) = patch.accent_color {
            next.accent_color = accent_color(&color)?;
        }
        if let Some(logo) = patch.logo_url {
            next.logo_url = optional_link("logo_url", logo)?;
        }
        if let Some(icon) = patch.icon_url {
            next.icon_url = optional_link("icon_url", icon)?;
        }
        if let Some(sender) = patch.sender_name {
            next.sender_name = one_line("sender_name", &sender, 1, 100)?;
        }
        if let Some(footer) = patch.footer {
            next.footer = footer_markdown(&footer)?;
        }
        if let Some(links) = patch.navigation {
            next.navigation = navigation(links)?;
        }
        if let Some(locale) = patch.locale {
            next.locale = language_tag(&locale)?;
        }
        if let Some(zone) = patch.timezone {
            next.timezone = time_zone(&zone)?;
        }
        if let Some(copyright) = patch.copyright {
            next.copyright = one_line("copyright", &copyright, 0, 200)?;
        }
        if let Some(origins) = patch.embed_origins {
            next.embed_origins = embed_origins(origins)?;
        }
        if let Some(asks) = patch.subscribe_asks_name {
            next.subscribe_asks_name = asks;
        }
        if let Some(welcome) = patch.welcome_free {
            next.welcome_free = welcome.checked("welcome_free")?;
        }
        if let Some(welcome) = patch.welcome_paid {
            next.welcome_paid = welcome.checked("welcome_paid")?;
        }
        if let Some(address) = patch.postal_address {
            next.postal_address = one_line("postal_address", &address, 0, 300)?;
        }
        Ok(next)
    }

    /// The JSON document stored in the database.
    pub fn to_document(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a stored document over `defaults`: fields it lacks keep their
    /// default; a field that breaks a rule (an edit made outside the
    /// application) is an error naming it.
    pub fn from_document(defaults: &Self, document: &str) -> Result<Self, InvalidInput> {
        let patch: SettingsPatch = serde_json::from_str(document).map_err(|e| {
            InvalidInput::new("settings", format!("the stored settings are not readable: {e}"))
        })?;
        defaults.apply(patch)
    }
}

/// The settings with what every page derives from them, computed once per
/// load rather than per request.
#[derive(Debug, Clone)]
pub struct Publication {
    pub settings: SiteSettings,
    /// The footer markdown as sanitized HTML.
    pub footer_html: String,
    /// The newsletters a sign-up form offers; a form shows the choice only
    /// when there are two or more.
    pub signup_choices: Vec<super::newsletters::SignupChoice>,
    zone: chrono_tz::Tz,
    month_names: chrono::Locale,
}

impl Publication {
    pub fn new(settings: SiteSettings) -> Self {
        Self {
            footer_html: super::markdown::to_safe_html(&settings.footer),
            signup_choices: Vec::new(),
            zone: settings.timezone.parse().unwrap_or(chrono_tz::UTC),
            month_names: month_names(&settings.locale),
            settings,
        }
    }

    pub fn title(&self) -> &str {
        &self.settings.title
    }

    pub fn with_signup_choices(mut self, choices: Vec<super::newsletters::SignupChoice>) -> Self {
        self.signup_choices = choices;
        self
    }

    /// "5 December 2026" (or "5 décembre 2026"): a stored UTC time as a
    /// date in the publication's time zone and language.
    pub fn date(&self, at: time::PrimitiveDateTime) -> String {
        self.format_local(at, "%-d %B %Y")
    }

    /// "December 2026" (or "décembre 2026"): the month of a stored UTC time
    /// in the publication's time zone and language.
    pub fn month(&self, at: time::PrimitiveDateTime) -> String {
        self.format_local(at, "%B %Y")
    }

    fn format_local(&self, at: time::PrimitiveDateTime, format: &str) -> String {
        let unix = at.assume_utc().unix_timestamp();
        chrono::DateTime::from_timestamp(unix, 0)
            .map(|utc| {
                utc.with_timezone(&self.zone)
                    .format_localized(format, self.month_names)
                    .to_string()
            })
            .unwrap_or_default()
    }

    /// The footer's copyright line: the setting, or "© {year} {title}".
    pub fn copyright(&self, now: time::PrimitiveDateTime) -> String {
        if self.settings.copyright.is_empty() {
            format!("© {} {}", now.year(), self.settings.title)
        } else {
            self.settings.copyright.clone()
        }
    }
}

/// The month names for a language tag: `pt-BR` → pt_BR; a bare language
/// takes its home country's (`fr` → fr_FR); English when there is none.
fn month_names(tag: &str) -> chrono::Locale {
    let mut parts = tag.split('-');
    let language = parts.next().unwrap_or("en").to_ascii_lowercase();
    let region = parts.find(|p| p.len() == 2).map(str::to_ascii_uppercase);
    let candidates = [
        region.map(|r| format!("{language}_{r}")),
        Some(format!("{language}_{}", language.to_ascii_uppercase())),
    ];
    candidates
        .into_iter()
        .flatten()
        .find_map(|name| chrono::Locale::try_from(name.as_str()).ok())
        .unwrap_or(chrono::Locale::en_GB)
}

pub(crate) fn one_line(
    field: &'static str,
    raw: &str,
    min: usize,
    max: usize,
) -> Result<String, InvalidInput> {
    // Control characters are looked for before trimming: a leading tab or
    // NEL is as wrong as one inside, as the OpenAPI patterns say.
    if raw.chars().any(char::is_control) {
        return Err(InvalidInput::new(
            field,
            format!("{field} must be one line without control characters"),
        ));
    }
    let value = raw.trim();
    let length = value.chars().count();
    if length < min || length > max {
        let message = if min == 0 {
            format!("{field} must be at most {max} characters")
        } else {
            format!("{field} must be {min} to {max} characters")
        };
        return Err(InvalidInput::new(field, message));
    }
    Ok(value.to_owned())
}

fn accent_color(raw: &str) -> Result<String, InvalidInput> {
    let value = raw.trim();
    let valid =
        value.len() == 7 && value.starts_with('#') && value[1..].chars().all(|c| c.is_ascii_hexdigit());
    if !valid {
        return Err(InvalidInput::new(
            "accent_color",
            "accent_color must be a colour written #rrggbb, like #1a5fb4",
        ));
    }
    Ok(value.to_ascii_lowercase())
}

/// A link a page shows: a path on this site or an `https://` address whose
/// host is a plain domain name. Nothing on the server ever fetches it. The
/// OpenAPI document states the same rule as a pattern.
pub(crate) fn link(field: &'static str, raw: &str) -> Result<String, InvalidInput> {
    let value = raw.trim();
    let refuse = || {
        InvalidInput::new(
            field,
            format!("{field} must be a path on this site (/about) or an https:// address"),
        )
    };
    let plain = |text: &str| !text.chars().any(|c| c.is_control() || c.is_whitespace());
    if value.chars().count() > 2000 || !plain(value) {
        return Err(refuse());
    }
    if let Some(rest) = value.strip_prefix('/') {
        // `//host` and `/\host` are other sites to a browser.
        return if rest.starts_with('/') || rest.starts_with('\\') {
            Err(refuse())
        } else {
            Ok(value.to_owned())
        };
    }
    let rest = value.strip_prefix("https://").ok_or_else(refuse)?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if !domain_name(host) {
        return Err(refuse());
    }
    Ok(format!("https://{}{path}", host.to_ascii_lowercase()))
}

/// Dot-separated labels of letters, digits and hyphens, the last starting
/// with a letter (so it is never read as an IP address).
fn domain_name(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    labels
        .iter()
        .all(|label| !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && labels
            .last()
            .is_some_and(|last| last.starts_with(|c: char| c.is_ascii_alphabetic()))
}

fn optional_link(field: &'static str, raw: Option<String>) -> Result<Option<String>, InvalidInput> {
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => link(field, value).map(Some),
    }
}

fn footer_markdown(raw: &str) -> Result<String, InvalidInput> {
    let value = raw.trim();
    if value.chars().count() > 2000 || value.contains('\0') {
        return Err(InvalidInput::new(
            "footer",
            "footer must be at most 2,000 characters of markdown",
        ));
    }
    Ok(value.to_owned())
}

fn navigation(links: Vec<NavLink>) -> Result<Vec<NavLink>, InvalidInput> {
    if links.len() > 12 {
        return Err(InvalidInput::new(
            "navigation",
            "navigation holds at most 12 links",
        ));
    }
    links
        .into_iter()
        .map(|entry| {
            Ok(NavLink {
                label: one_line("navigation", &entry.label, 1, 40).map_err(|_| {
                    InvalidInput::new(
                        "navigation",
                        "each navigation label is one line of 1 to 40 characters",
                    )
                })?,
                url: link("navigation", &entry.url)?,
            })
        })
        .collect()
}

fn language_tag(raw: &str) -> Result<String, InvalidInput> {
    let value = raw.trim();
    let mut parts = value.split('-');
    let language = parts.next().unwrap_or_default();
    let valid = value.len() <= 35
        && (2..=3).contains(&language.len())
        && language.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if !valid {
        return Err(InvalidInput::new(
            "locale",
            "locale must be a language tag such as en, fr or pt-BR",
        ));
    }
    Ok(value.to_owned())
}

fn time_zone(raw: &str) -> Result<String, InvalidInput> {
    let value = raw.trim();
    value
        .parse::<chrono_tz::Tz>()
        .map(|zone| zone.name().to_owned())
        .map_err(|_| {
            InvalidInput::new(
                "timezone",
                "timezone must be an IANA time zone such as Europe/Paris or UTC",
            )
        })
}

fn embed_origins(origins: Vec<Origin>) -> Result<Vec<String>, InvalidInput> {
    if origins.len() > 20 {
        return Err(InvalidInput::new(
            "embed_origins",
            "embed_origins holds at most 20 origins",
        ));
    }
    let mut clean: Vec<String> = Vec::with_capacity(origins.len());
    for Origin(raw) in origins {
        let origin = origin(raw.trim()).ok_or_else(|| {
            InvalidInput::new(
                "embed_origins",
                format!("{raw:?} is not an origin: write it as https://example.com"),
            )
        })?;
        if !clean.contains(&origin) {
            clean.push(origin);
        }
    }
    Ok(clean)
}

/// `https://host` (a plain domain name, as `link` takes) and nothing else:
/// what a CSP `frame-ancestors` source and a browser's `Origin` header
/// compare. `http://localhost` and `http://127.0.0.1` are allowed for
/// trying it out.
pub fn origin(raw: &str) -> Option<String> {
    let bare = raw.strip_suffix('/').unwrap_or(raw);
    if matches!(bare, "http://localhost" | "http://127.0.0.1") {
        return Some(bare.to_owned());
    }
    let host = bare.strip_prefix("https://")?;
    domain_name(host).then(|| format!("https://{}", host.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> SiteSettings {
        SiteSettings::defaults("The Ledger", "The Ledger")
    }

    #[test]
    fn a_patch_changes_only_what_it_names_and_normalizes_it() {
        let next = base()
            .apply(SettingsPatch {
                title: Some("  Field Notes ".into()),
                accent_color: Some("#AABBCC".into()),
                timezone: Some("Europe/Paris".into()),
                embed_origins: Some(vec![
                    "https://blog.example.com/".into(),
                    "https://blog.example.com".into(),
                ]),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(next.title, "Field Notes");
        assert_eq!(next.accent_color, "#aabbcc");
        assert_eq!(next.timezone, "Europe/Paris");
        assert_eq!(next.embed_origins, vec!["https://blog.example.com"]);
        assert_eq!(next.sender_name, "The Ledger");
    }

    #[test]
    fn values_that_break_a_rule_are_refused_with_the_field_named() {
        let cases: Vec<(SettingsPatch, &str)> = vec![
            (
                SettingsPatch {
                    title: Some(" ".into()),
                    ..Default::default()
                },
                "title",
            ),
            (
                SettingsPatch {
                    title: Some("a\nb".into()),
                    ..Default::default()
                },
                "title",
            ),
            (
                SettingsPatch {
                    accent_color: Some("red".into()),
                    ..Default::default()
                },
                "accent_color",
            ),
            (
                SettingsPatch {
                    accent_color: Some("#12345g".into()),
                    ..Default::default()
                },
                "accent_color",
            ),
            (
                SettingsPatch {
                    logo_url: Some(Some("javascript:alert(1)".into())),
                    ..Default::default()
                },
                "logo_url",
            ),
            (
                SettingsPatch {
                    logo_url: Some(Some("http://example.com/a.png".into())),
                    ..Default::default()
                },
                "logo_url",
            ),
            (
                SettingsPatch {
                    icon_url: Some(Some("//evil.example/x.png".into())),
                    ..Default::default()
                },
                "icon_url",
            ),
            (
                SettingsPatch {
                    navigation: Some(vec![NavLink {
                        label: "About".into(),
                        url: "data:text/html,x".into(),
                    }]),
                    ..Default::default()
                },
                "navigation",
            ),
            (
                SettingsPatch {
                    locale: Some("english please".into()),
                    ..Default::default()
                },
                "locale",
            ),
            (
                SettingsPatch {
                    timezone: Some("Mars/Olympus".into()),
                    ..Default::default()
                },
                "timezone",
            ),
            (
                SettingsPatch {
                    embed_origins: Some(vec![Origin("https://a.example/path".into())]),
                    ..Default::default()
                },
                "embed_origins",
            ),
            (
                SettingsPatch {
                    embed_origins: Some(vec![Origin("http://a.example".into())]),
                    ..Default::default()
                },
                "embed_origins",
            ),
        ];
        for (patch, field) in cases {
            let refused = base()
                .apply(patch.clone())
                .expect_err(&format!("{patch:?} should be refused"));
            assert_eq!(refused.field, field, "{patch:?}");
        }
    }

    #[test]
    fn a_stored_document_is_read_over_the_defaults_so_new_settings_take_their_default() {
        let stored = r##"{"title":"Old Name","accent_color":"#000000"}"##;
        let read = SiteSettings::from_document(&base(), stored).unwrap();
        assert_eq!(read.title, "Old Name");
        assert_eq!(read.accent_color, "#000000");
        assert_eq!(read.timezone, "UTC");
        let round_trip = SiteSettings::from_document(&base(), &read.to_document()).unwrap();
        assert_eq!(round_trip, read);
    }

    #[test]
    fn dates_are_shown_in_the_publications_time_zone_and_language() {
        let at = time::macros::datetime!(2026-12-05 23:30);
        let utc = Publication::new(base());
        assert_eq!(utc.date(at), "5 December 2026");
        let paris = Publication::new(
            base()
                .apply(SettingsPatch {
                    timezone: Some("Europe/Paris".into()),
                    locale: Some("fr".into()),
                    ..Default::default()
                })
                .unwrap(),
        );
        assert_eq!(paris.date(at), "6 décembre 2026");
        let brazil = Publication::new(
            base()
                .apply(SettingsPatch {
                    locale: Some("pt-BR".into()),
                    ..Default::default()
                })
                .unwrap(),
        );
        assert_eq!(brazil.date(at), "5 dezembro 2026");
    }

    #[test]
    fn logos_are_cleared_with_null_or_an_empty_string() {
        let with_logo = base()
            .apply(SettingsPatch {
                logo_url: Some(Some("/media/logo.png".into())),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(with_logo.logo_url.as_deref(), Some("/media/logo.png"));
        for clear in [None, Some(String::new())] {
            let cleared = with_logo
                .apply(SettingsPatch {
                    logo_url: Some(clear),
                    ..Default::default()
                })
                .unwrap();
            assert_eq!(cleared.logo_url, None);
        }
    }
}
