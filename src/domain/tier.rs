//! The price catalogue's rules: what a tier is (what a reader buys), which
//! Stripe prices belong to it, and how a price reads on the subscribe page.

use crate::domain::{InvalidInput, settings::one_line, slug::Slug, text_enum::text_enum};

text_enum! {
    /// Whether a price is on sale. A `legacy` price is sold no more but still
    /// counts for the readers already on it (a price change, a migration).
    pub enum PriceStatus ("status") {
        Active => "active",
        Legacy => "legacy",
    }
}

text_enum! {
    /// How often a recurring price charges, as Stripe names it.
    pub enum Interval ("interval") {
        Day => "day",
        Week => "week",
        Month => "month",
        Year => "year",
    }
}

/// A tier as an admin describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierDraft {
    pub slug: Slug,
    pub name: String,
    pub description: String,
    pub benefits: Vec<String>,
    pub active: bool,
    pub position: i32,
}

/// Most benefits a tier lists, and the longest one.
pub const MAX_BENEFITS: usize = 12;
pub const MAX_BENEFIT_CHARS: usize = 140;
pub const MAX_NAME_CHARS: usize = 60;
pub const MAX_DESCRIPTION_CHARS: usize = 500;

pub fn tier_name(raw: &str) -> Result<String, InvalidInput> {
    one_line("name", raw, 1, MAX_NAME_CHARS)
}

pub fn tier_description(raw: &str) -> Result<String, InvalidInput> {
    one_line("description", raw, 0, MAX_DESCRIPTION_CHARS)
}

pub fn tier_slug(raw: &str) -> Result<Slug, InvalidInput> {
    Slug::parse(raw).map_err(|_| {
        InvalidInput::new(
            "slug",
            "slug must be 1 to 100 lowercase letters, digits and single hyphens",
        )
    })
}

pub fn benefits(raw: &[String]) -> Result<Vec<String>, InvalidInput> {
    if raw.len() > MAX_BENEFITS {
        return Err(InvalidInput::new(
            "benefits",
            format!("a tier lists at most {MAX_BENEFITS} benefits"),
        ));
    }
    raw.iter()
        .map(|benefit| one_line("benefits", benefit, 1, MAX_BENEFIT_CHARS))
        .collect()
}

/// Display order: ±1,000,000 is room enough.
pub fn position(raw: i32) -> Result<i32, InvalidInput> {
    if (-1_000_000..=1_000_000).contains(&raw) {
        Ok(raw)
    } else {
        Err(InvalidInput::new(
            "position",
            "position must be between -1000000 and 1000000",
        ))
    }
}

/// A Stripe price id: `price_…`, or the id chosen for a legacy plan, which
/// Stripe let accounts name themselves (letters, digits, `_` and `-`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StripePriceId(String);

impl StripePriceId {
    pub const PATTERN: &'static str = "^[A-Za-z0-9_-]{1,255}$";

    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        if is_stripe_id(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidInput::new(
                "stripe_price_id",
                "stripe_price_id must be a Stripe price id such as price_1PgafmB7WZ01zgkW6dKueIc5",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The shape of a Stripe object id: 1 to 255 letters, digits, `_` and `-`.
pub fn is_stripe_id(raw: &str) -> bool {
    !raw.is_empty()
        && raw.len() <= 255
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Longest free trial a price may offer (Stripe's own limit is 730 days).
pub const MAX_TRIAL_DAYS: u32 = 730;

pub fn trial_days(raw: u32) -> Result<u32, InvalidInput> {
    if (1..=MAX_TRIAL_DAYS).contains(&raw) {
        Ok(raw)
    } else {
        Err(InvalidInput::new(
            "trial_days",
            format!("trial_days must be 1 to {MAX_TRIAL_DAYS}"),
        ))
    }
}

/// What Stripe's price object says of a price, cached for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceDetails {
    /// ISO 4217, lower case as Stripe writes it (`usd`).
    pub currency: String,
    /// In the currency's smallest unit (cents); `None` for a price whose
    /// amount the customer chooses.
    pub unit_amount: Option<i64>,
    /// `None` for a one-time price.
    pub interval: Option<Interval>,
    pub interval_count: u32,
    /// The Stripe product the price belongs to, when known.
    pub product: Option<String>,
}

impl PriceDetails {
    /// "$8", or "USD: pay what you want" for a price the customer sets.
    pub fn amount(&self) -> String {
        match self.unit_amount {
            Some(minor) => money(&self.currency, minor),
            None => format!("{}: pay what you want", self.currency.to_uppercase()),
        }
    }

    /// "a month", "a year", "every 3 months", "once".
    pub fn cadence(&self) -> String {
        let Some(interval) = self.interval else {
            return "once".to_owned();
        };
        if self.interval_count <= 1 {
            format!("a {interval}")
        } else {
            format!("every {} {interval}s", self.interval_count)
        }
    }

    /// "$8 a month".
    pub fn label(&self) -> String {
        format!("{} {}", self.amount(), self.cadence())
    }
}

/// Which of the `available` currencies (lower case, the publisher's order)
/// to show a reader first: the one they asked for, else the one of the
/// region their browser names first (`Accept-Language: en-GB` → GBP), else
/// the publisher's first.
pub fn preferred_currency(
    asked: Option<&str>,
    accept_language: &str,
    available: &[String],
) -> Option<String> {
    let offered = |code: &str| available.iter().find(|c| c.eq_ignore_ascii_case(code)).cloned();
    if let Some(found) = asked.and_then(offered) {
        return Some(found);
    }
    let by_region = accept_language
        .split(',')
        .filter_map(|tag| tag.split(';').next())
        .filter_map(|tag| currency_of_language_tag(tag.trim()))
        .find_map(offered);
    by_region.or_else(|| available.first().cloned())
}

/// The currency of a language tag's region (`fr-CA` → CAD), or of the
/// language where it names one country or the euro area (`de` → EUR).
fn currency_of_language_tag(tag: &str) -> Option<&'static str> {
    let mut parts = tag.split(['-', '_']);
    let language = parts.next()?.to_ascii_lowercase();
    let region = parts.find(|p| p.len() == 2).map(str::to_ascii_uppercase);
    let euro_area = [
        "AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT", "LU", "LV", "MT", "NL",
        "PT", "SI", "SK",
    ];
    match region.as_deref() {
        Some(r) if euro_area.contains(&r) => Some("eur"),
        Some("US") => Some("usd"),
        Some("GB") => Some("gbp"),
        Some("CA") => Some("cad"),
        Some("AU") => Some("aud"),
        Some("NZ") => Some("nzd"),
        Some("CH") => Some("chf"),
        Some("JP") => Some("jpy"),
        Some("IN") => Some("inr"),
        Some("BR") => Some("brl"),
        Some("MX") => Some("mxn"),
        Some(_) => None,
        None => match language.as_str() {
            "de" | "fr" | "es" | "it" | "nl" | "pt" | "fi" | "el" | "et" | "sk" | "sl" | "lv" | "lt"
            | "mt" => Some("eur"),
            "ja" => Some("jpy"),
            _ => None,
        },
    }
}

/// An amount in a currency's smallest unit as a reader reads it: "$8",
/// "€80.50", "¥800", "CHF 12": whole amounts without decimals, the
/// currency's own number of minor units otherwise.
pub fn money(currency: &str, minor: i64) -> String {
    let code = currency.to_uppercase();
    let exponent = iso_currency::Currency::from_code(&code)
        .and_then(|c| c.exponent())
        .unwrap_or(2) as u32;
    let scale = 10_i64.pow(exponent);
    let (whole, fraction) = (minor / scale, (minor % scale).abs());
    let number = if fraction == 0 {
        group_thousands(whole)
    } else {
        format!(
            "{}.{fraction:0width$}",
            group_thousands(whole),
            width = exponent as usize
        )
    };
    // A symbol only where it names one currency to most readers; "$"
    // alone would hide whether a price is in US or Canadian dollars.
    match code.as_str() {
        "USD" => format!("${number}"),
        "EUR" => format!("€{number}"),
        "GBP" => format!("£{number}"),
        "JPY" => format!("¥{number}"),
        _ => format!("{code} {number}"),
    }
}

fn group_thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if value < 0 { format!("-{grouped}") } else { grouped }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_currency_shown_first_is_the_asked_one_then_the_browsers_region_then_the_publishers_first() {
        let available = vec!["usd".to_owned(), "eur".to_owned(), "gbp".to_owned()];
        let pick = |asked, languages| preferred_currency(asked, languages, &available);
        assert_eq!(pick(Some("EUR"), "en-GB").as_deref(), Some("eur"));
        assert_eq!(pick(Some("jpy"), "en-GB,en;q=0.8").as_deref(), Some("gbp"));
        assert_eq!(pick(None, "de-DE,de;q=0.9").as_deref(), Some("eur"));
        assert_eq!(pick(None, "fr").as_deref(), Some("eur"));
        assert_eq!(pick(None, "ja-JP,en-US;q=0.5").as_deref(), Some("usd"));
        assert_eq!(pick(None, "").as_deref(), Some("usd"));
        assert_eq!(preferred_currency(None, "en-US", &[]), None);
    }

    fn price(currency: &str, amount: i64, interval: Option<Interval>, count: u32) -> PriceDetails {
        PriceDetails {
            currency: currency.into(),
            unit_amount: Some(amount),
            interval,
            interval_count: count,
            product: None,
        }
    }

    #[test]
    fn prices_read_as_a_reader_expects_in_each_currency() {
        assert_eq!(price("usd", 800, Some(Interval::Month), 1).label(), "$8 a month");
        assert_eq!(
            price("eur", 8050, Some(Interval::Year), 1).label(),
            "€80.50 a year"
        );
        assert_eq!(
            price("jpy", 800, Some(Interval::Month), 1).label(),
            "¥800 a month"
        );
        assert_eq!(
            price("gbp", 500, Some(Interval::Month), 3).label(),
            "£5 every 3 months"
        );
        assert_eq!(price("usd", 120_000, None, 0).label(), "$1,200 once");
        assert_eq!(
            price("chf", 1200, Some(Interval::Month), 1).label(),
            "CHF 12 a month"
        );
    }

    #[test]
    fn price_ids_are_stripe_ids_and_nothing_else() {
        assert!(StripePriceId::parse("price_1PgafmB7WZ01zgkW6dKueIc5").is_ok());
        assert!(StripePriceId::parse("gold-monthly_2019").is_ok());
        for bad in ["", "price 1", "price_1/../x", &"p".repeat(256)] {
            assert!(StripePriceId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn benefits_are_short_lines_and_few() {
        assert!(benefits(&["Every post in full".into()]).is_ok());
        assert!(benefits(&["two\nlines".into()]).is_err());
        assert!(benefits(&vec!["x".to_owned(); MAX_BENEFITS + 1]).is_err());
        assert!(trial_days(0).is_err() && trial_days(14).is_ok() && trial_days(731).is_err());
    }
}
