//! Member lists as CSV: reading Ghost's and Substack's member exports (the
//! format is told by the header row) and writing ours, which is Ghost's
//! layout so that a Broadsheet export imports anywhere Ghost's does,
//! Broadsheet included.
//!
//! Pure: bytes in, members or every bad row out. Nothing here touches the
//! database, so a file is checked whole before anything is written.

use std::collections::HashMap;

use time::{
    Date, OffsetDateTime, PrimitiveDateTime, UtcOffset, format_description::well_known::Rfc3339,
    macros::format_description,
};

use crate::domain::email::EmailAddress;

/// Where a file came from, told by its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Ghost's members export: `id,email,name,note,subscribed_to_emails,
    /// complimentary_plan,stripe_customer_id,created_at,deleted_at,labels,
    /// tiers` (older versions: `products` for `tiers`, no `tiers`).
    Ghost,
    /// Substack's subscriber export: `email,active_subscription,expiry,plan,
    /// email_disabled,created_at,first_payment_at` (`name` when present).
    Substack,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Ghost => "Ghost",
            Format::Substack => "Substack",
        }
    }
}

/// What access an imported member brings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Free,
    /// Complimentary access, until `until` or for good.
    Comp {
        until: Option<PrimitiveDateTime>,
    },
    /// Paid through Stripe on the old platform: the customer id lets
    /// `broadsheet admin stripe-sync` find their subscription.
    StripeCustomer(String),
    /// Paid elsewhere (Substack) up to `until`: imported as a comp that
    /// ends then, since there is no subscription here to renew.
    PaidUntil(PrimitiveDateTime),
}

/// One member as read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedMember {
    /// The file's line number, for messages.
    pub line: u64,
    pub email: EmailAddress,
    pub name: Option<String>,
    pub created_at: Option<PrimitiveDateTime>,
    /// Consented to the newsletter.
    pub newsletter: bool,
    pub plan: Plan,
}

/// A row that cannot be imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// A whole file read: the members to import, and rows deliberately left out
/// (Ghost's deleted members).
#[derive(Debug, Default)]
pub struct Parsed {
    pub format: Option<Format>,
    pub members: Vec<ImportedMember>,
    pub skipped: Vec<RowError>,
}

/// Longest name kept; longer ones are a bad row rather than cut silently.
const MAX_NAME_CHARS: usize = 200;

/// Reads a member export. Every bad row is reported (not just the first),
/// with its line number; any bad row means nothing should be imported.
pub fn parse(bytes: &[u8]) -> Result<Parsed, Vec<RowError>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
    let header_error = |message: String| vec![RowError { line: 1, message }];
    let headers = reader
        .headers()
        .map_err(|e| header_error(format!("the header row cannot be read: {e}")))?
        .clone();
    let columns: HashMap<String, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, name)| (name.trim().to_ascii_lowercase(), i))
        .collect();
    let format = detect(&columns).ok_or_else(|| {
        header_error(
            "this is neither a Ghost nor a Substack member export: Ghost's has \
             `email` and `subscribed_to_emails` columns, Substack's `email`, \
             `active_subscription` and `email_disabled`"
                .to_owned(),
        )
    })?;
    let mut parsed = Parsed {
        format: Some(format),
        ..Parsed::default()
    };
    let mut errors = Vec::new();
    let mut first_line_of: HashMap<EmailAddress, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(RowError {
                    line,
                    message: csv_error_message(&e),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let row = Row {
            record: &record,
            columns: &columns,
        };
        let outcome = match format {
            Format::Ghost => ghost_row(&row, line),
            Format::Substack => substack_row(&row, line),
        };
        match outcome {
            Ok(Some(member)) => {
                if let Some(first) = first_line_of.get(&member.email) {
                    errors.push(RowError {
                        line,
                        message: format!("{} is already on line {first}", member.email),
                    });
                } else {
                    first_line_of.insert(member.email.clone(), line);
                    parsed.members.push(member);
                }
            }
            Ok(None) => parsed.skipped.push(RowError {
                line,
                message: "deleted in Ghost: left out".to_owned(),
            }),
            Err(message) => errors.push(RowError { line, message }),
        }
    }
    if errors.is_empty() {
        Ok(parsed)
    } else {
        Err(errors)
    }
}

fn csv_error_message(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("{len} fields where the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_owned(),
        _ => format!("not valid CSV: {error}"),
    }
}

fn detect(columns: &HashMap<String, usize>) -> Option<Format> {
    let has = |name: &str| columns.contains_key(name);
    if !has("email") {
        return None;
    }
    if has("subscribed_to_emails") {
        Some(Format::Ghost)
    } else if has("active_subscription") && has("email_disabled") {
        Some(Format::Substack)
    } else {
        None
    }
}

/// One record with its columns looked up by name.
struct Row<'a> {
    record: &'a csv::StringRecord,
    columns: &'a HashMap<String, usize>,
}

impl Row<'_> {
    /// The trimmed value of `column`; empty when the column is absent.
    fn get(&self, column: &str) -> &str {
        self.columns
            .get(column)
            .and_then(|&i| self.record.get(i))
            .map_or("", str::trim)
    }

    fn optional(&self, column: &str) -> Option<&str> {
        Some(self.get(column)).filter(|v| !v.is_empty())
    }

    fn email(&self) -> Result<EmailAddress, String> {
        let raw = self.get("email");
        EmailAddress::parse(raw).map_err(|_| {
            if raw.is_empty() {
                "the email is empty".to_owned()
            } else {
                format!("{raw:?} is not an email address")
            }
        })
    }

    fn name(&self) -> Result<Option<String>, String> {
        match self.optional("name") {
            Some(name) if name.chars().count() > MAX_NAME_CHARS => {
                Err(format!("the name is longer than {MAX_NAME_CHARS} characters"))
            }
            Some(name) if name.chars().any(char::is_control) => {
                Err("the name has control characters".to_owned())
            }
            name => Ok(name.map(str::to_owned)),
        }
    }

    fn flag(&self, column: &str) -> Result<bool, String> {
        parse_flag(self.get(column))
            .ok_or_else(|| format!("{column} must be true or false, not {:?}", self.get(column)))
    }

    fn time(&self, column: &str) -> Result<Option<PrimitiveDateTime>, String> {
        self.optional(column)
            .map(|raw| parse_time(raw).ok_or_else(|| format!("{column} {raw:?} is not a date")))
            .transpose()
    }
}

fn ghost_row(row: &Row<'_>, line: u64) -> Result<Option<ImportedMember>, String> {
    if row.optional("deleted_at").is_some() {
        return Ok(None);
    }
    let email = row.email()?;
    let comped = row.flag("complimentary_plan")?;
    let status = row.get("status").to_ascii_lowercase();
    let plan = match (comped || status == "comped", row.optional("stripe_customer_id")) {
        (true, _) => Plan::Comp { until: None },
        (false, Some(customer))
            if customer.starts_with("cus_")
                && customer.len() <= 255
                && customer.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
        {
            Plan::StripeCustomer(customer.to_owned())
        }
        (false, Some(other)) => {
            return Err(format!(
                "stripe_customer_id {other:?} is not a Stripe customer id"
            ));
        }
        (false, None) if status == "paid" => {
            return Err(
                "a paid member without a stripe_customer_id: Broadsheet could not find their subscription"
                    .to_owned(),
            );
        }
        (false, None) => Plan::Free,
    };
    Ok(Some(ImportedMember {
        line,
        name: row.name()?,
        created_at: row.time("created_at")?,
        newsletter: row.flag("subscribed_to_emails")?,
        plan,
        email,
    }))
}

fn substack_row(row: &Row<'_>, line: u64) -> Result<Option<ImportedMember>, String> {
    let email = row.email()?;
    let active = row.flag("active_subscription")?;
    let expiry = row.time("expiry")?;
    let plan_name = row.get("plan").to_ascii_lowercase();
    let plan = match plan_name.as_str() {
        _ if !active => Plan::Free,
        "comp" | "gift" => Plan::Comp { until: expiry },
        "monthly" | "yearly" | "annual" | "founding" | "paid" => match expiry {
            Some(until) => Plan::PaidUntil(until),
            None => {
                return Err(format!(
                    "a paid ({plan_name}) subscriber without an expiry: Broadsheet cannot tell how long they paid for"
                ));
            }
        },
        "" | "free" | "other" => Plan::Free,
        other => return Err(format!("plan {other:?} is not one Substack exports")),
    };
    Ok(Some(ImportedMember {
        line,
        name: row.name()?,
        created_at: row.time("created_at")?,
        newsletter: !row.flag("email_disabled")?,
        plan,
        email,
    }))
}

/// Booleans as exports write them; an empty cell is `false`.
fn parse_flag(raw: &str) -> Option<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "1" => Some(true),
        "false" | "f" | "no" | "0" | "" => Some(false),
        _ => None,
    }
}

/// RFC 3339 (`2023-01-05T10:00:00.000Z`), Ghost's `2023-01-05 10:00:00`, or a
/// bare date; stored as UTC.
fn parse_time(raw: &str) -> Option<PrimitiveDateTime> {
    if let Ok(at) = OffsetDateTime::parse(raw, &Rfc3339) {
        let utc = at.to_offset(UtcOffset::UTC);
        return Some(PrimitiveDateTime::new(utc.date(), utc.time()));
    }
    if let Ok(at) = PrimitiveDateTime::parse(
        raw,
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
    ) {
        return Some(at);
    }
    Date::parse(raw, format_description!("[year]-[month]-[day]"))
        .ok()
        .map(|date| date.midnight())
}

/// The columns of our export (Ghost's layout).
pub const EXPORT_HEADER: [&str; 11] = [
    "id",
    "email",
    "name",
    "note",
    "subscribed_to_emails",
    "complimentary_plan",
    "stripe_customer_id",
    "created_at",
    "deleted_at",
    "labels",
    "tiers",
];

/// One member as exported.
pub struct ExportedMember {
    pub id: i32,
    pub email: String,
    pub name: Option<String>,
    pub newsletter: bool,
    pub comped: bool,
    pub stripe_customer_id: Option<String>,
    pub created_at: PrimitiveDateTime,
    /// "free", "paid", "comped", "staff": Ghost puts labels here.
    pub label: &'static str,
}

/// Writes members as CSV in Ghost's layout.
pub fn write(members: &[ExportedMember], out: impl std::io::Write) -> anyhow::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(EXPORT_HEADER)?;
    for member in members {
        writer.write_record([
            member.id.to_string().as_str(),
            &member.email,
            member.name.as_deref().unwrap_or(""),
            "",
            bool_text(member.newsletter),
            bool_text(member.comped),
            member.stripe_customer_id.as_deref().unwrap_or(""),
            &crate::domain::time::rfc3339(member.created_at),
            "",
            member.label,
            "",
        ])?;
    }
    writer.flush()?;
    Ok(())
}

fn bool_text(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const GHOST: &str = "id,email,name,note,subscribed_to_emails,complimentary_plan,stripe_customer_id,created_at,deleted_at,labels,tiers\n\
        5f1,ada@example.com,Ada Lovelace,,true,false,,2023-01-05T10:00:00.000Z,,,\n\
        5f2,BOB@Example.com,Bob,VIP,false,true,,2023-02-01 08:30:00,,vip,Gold\n\
        5f3,carol@example.com,,,true,false,cus_Nx1,2023-03-01T00:00:00Z,,,Gold\n\
        5f4,gone@example.com,,,true,false,,2023-03-01T00:00:00Z,2024-01-01T00:00:00Z,,\n";

    #[test]
    fn a_ghost_export_is_read_with_consent_comps_and_stripe_customers() {
        let parsed = parse(GHOST.as_bytes()).unwrap();
        assert_eq!(parsed.format, Some(Format::Ghost));
        assert_eq!(parsed.members.len(), 3);
        let [ada, bob, carol] = &parsed.members[..] else {
            panic!()
        };
        assert_eq!(ada.line, 2);
        assert_eq!(ada.name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(ada.created_at, Some(datetime!(2023-01-05 10:00)));
        assert!(ada.newsletter);
        assert_eq!(ada.plan, Plan::Free);
        assert_eq!(bob.email.as_str(), "bob@example.com");
        assert!(!bob.newsletter);
        assert_eq!(bob.plan, Plan::Comp { until: None });
        assert_eq!(carol.plan, Plan::StripeCustomer("cus_Nx1".into()));
        assert_eq!(parsed.skipped.len(), 1, "the deleted member is left out");
    }

    #[test]
    fn a_substack_export_is_read_with_paid_members_until_their_expiry() {
        let csv = "email,active_subscription,expiry,plan,email_disabled,created_at,first_payment_at\n\
            dan@example.com,true,2027-01-01T00:00:00.000Z,yearly,false,2022-05-01T00:00:00.000Z,2022-05-01T00:00:00.000Z\n\
            eve@example.com,false,,,true,2022-06-01T00:00:00.000Z,\n\
            fay@example.com,true,,comp,false,2022-07-01T00:00:00.000Z,\n";
        let parsed = parse(csv.as_bytes()).unwrap();
        assert_eq!(parsed.format, Some(Format::Substack));
        let [dan, eve, fay] = &parsed.members[..] else {
            panic!()
        };
        assert_eq!(dan.plan, Plan::PaidUntil(datetime!(2027-01-01 0:00)));
        assert!(dan.newsletter);
        assert_eq!(eve.plan, Plan::Free);
        assert!(!eve.newsletter);
        assert_eq!(fay.plan, Plan::Comp { until: None });
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line_and_reason() {
        let csv = "email,active_subscription,expiry,plan,email_disabled,created_at,first_payment_at\n\
            ok@example.com,true,,,false,2022-05-01,\n\
            not-an-email,true,,,false,2022-05-01,\n\
            x@example.com,maybe,,,false,2022-05-01,\n\
            y@example.com,true,,monthly,false,2022-05-01,\n\
            z@example.com,true,,,false,yesterday,\n\
            short@example.com,true\n\
            OK@example.com,false,,,false,,\n";
        let errors = parse(csv.as_bytes()).unwrap_err();
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5, 6, 7, 8], "{errors:?}");
        assert!(errors[0].message.contains("not an email address"));
        assert!(errors[1].message.contains("true or false"));
        assert!(errors[2].message.contains("without an expiry"));
        assert!(errors[3].message.contains("not a date"));
        assert!(errors[4].message.contains("2 fields where the header has 7"));
        assert!(errors[5].message.contains("already on line 2"));
    }

    #[test]
    fn an_unknown_header_is_refused_by_name() {
        let errors = parse(b"mail,who\nx@example.com,x\n").unwrap_err();
        assert_eq!(errors[0].line, 1);
        assert!(errors[0].message.contains("neither a Ghost nor a Substack"));
        assert!(parse(b"").is_err());
    }

    #[test]
    fn our_export_reads_back_as_a_ghost_file() {
        let members = [ExportedMember {
            id: 1,
            email: "ada@example.com".into(),
            name: Some("Ada, Countess".into()),
            newsletter: true,
            comped: true,
            stripe_customer_id: None,
            created_at: datetime!(2026-01-02 03:04:05),
            label: "comped",
        }];
        let mut out = Vec::new();
        write(&members, &mut out).unwrap();
        let parsed = parse(&out).unwrap();
        let [ada] = &parsed.members[..] else { panic!() };
        assert_eq!(ada.name.as_deref(), Some("Ada, Countess"));
        assert_eq!(ada.plan, Plan::Comp { until: None });
        assert_eq!(ada.created_at, Some(datetime!(2026-01-02 03:04:05)));
    }
}
