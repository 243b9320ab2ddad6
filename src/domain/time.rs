//! How timestamps are written for machines. Every stored time is UTC; dates
//! for people are written in the publication's zone and language
//! (`settings::Publication::date`).

use time::{PrimitiveDateTime, format_description::well_known::Rfc3339};

pub fn rfc3339(at: PrimitiveDateTime) -> String {
    at.assume_utc().format(&Rfc3339).unwrap_or_default()
}

/// `#[serde(serialize_with = "…")]` for a stored time written as RFC 3339.
pub fn serialize_rfc3339<S: serde::Serializer>(at: &PrimitiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*at))
}

/// `serialize_rfc3339` for a time that may be missing (`null`).
pub fn serialize_rfc3339_opt<S: serde::Serializer>(
    at: &Option<PrimitiveDateTime>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => s.serialize_str(&rfc3339(*at)),
        None => s.serialize_none(),
    }
}

/// Parses an RFC 3339 time from input and stores it as UTC.
pub fn parse_rfc3339(text: &str, field: &'static str) -> Result<PrimitiveDateTime, super::InvalidInput> {
    let at = time::OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
        super::InvalidInput::new(
            field,
            format!("{field} must be an RFC 3339 time like 2026-12-01T09:00:00Z"),
        )
    })?;
    let utc = at.to_offset(time::UtcOffset::UTC);
    Ok(PrimitiveDateTime::new(utc.date(), utc.time()))
}

/// The calendar month (UTC) a time falls in, as stored: "2026-11".
pub fn month_key(at: PrimitiveDateTime) -> String {
    format!("{:04}-{:02}", at.year(), u8::from(at.month()))
}

/// Midnight UTC on the first day of `at`'s month.
pub fn start_of_month(at: PrimitiveDateTime) -> PrimitiveDateTime {
    let first = at.date().replace_day(1).unwrap_or(at.date());
    PrimitiveDateTime::new(first, time::Time::MIDNIGHT)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    #[test]
    fn months_are_keyed_and_started_in_utc() {
        let at = datetime!(2026-02-28 23:59:59);
        assert_eq!(super::month_key(at), "2026-02");
        assert_eq!(super::start_of_month(at), datetime!(2026-02-01 0:00));
    }
}
