//! Gift subscriptions: what a buyer may give (N months of a tier, priced
//! from the tier's own prices) and the rules for the order form.

use time::{Date, PrimitiveDateTime};

use crate::domain::{
    InvalidInput,
    email::EmailAddress,
    settings::one_line,
    text_enum::text_enum,
    tier::{Interval, PriceDetails, money},
};

text_enum! {
    /// Where a gift stands: bought but not paid yet, paid (a code exists),
    /// redeemed (a comp exists), or revoked (refunded before redemption).
    pub enum GiftStatus ("status") {
        Pending => "pending",
        Paid => "paid",
        Redeemed => "redeemed",
        Revoked => "revoked",
    }
}

/// The lengths a gift comes in.
pub const GIFT_MONTHS: [u32; 4] = [1, 3, 6, 12];

/// One thing a buyer may choose: `months` of a tier for `amount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiftOption {
    pub months: u32,
    pub currency: String,
    /// In the currency's smallest unit.
    pub amount: i64,
}

impl GiftOption {
    /// "6 months for $48".
    pub fn label(&self) -> String {
        format!(
            "{} for {}",
            months_label(self.months),
            money(&self.currency, self.amount)
        )
    }
}

/// "1 month", "6 months".
pub fn months_label(months: u32) -> String {
    if months == 1 {
        "1 month".to_owned()
    } else {
        format!("{months} months")
    }
}

/// What a gift of each length costs in each currency the tier sells in:
/// the monthly price times the months, and a year never more than the
/// yearly price. A currency with neither a monthly nor a yearly price
/// offers nothing (a weekly price is no basis for a gift).
pub fn gift_options(prices: &[PriceDetails]) -> Vec<GiftOption> {
    let mut currencies: Vec<&str> = prices.iter().map(|p| p.currency.as_str()).collect();
    currencies.sort_unstable();
    currencies.dedup();
    let mut options = Vec::new();
    for currency in currencies {
        let per = |interval: Interval| {
            prices
                .iter()
                .filter(|p| p.currency == currency && p.interval == Some(interval) && p.interval_count == 1)
                .filter_map(|p| p.unit_amount)
                .min()
        };
        let (monthly, yearly) = (per(Interval::Month), per(Interval::Year));
        for months in GIFT_MONTHS {
            let by_month = monthly.and_then(|m| m.checked_mul(i64::from(months)));
            let by_year = yearly.filter(|_| months == 12);
            let amount = [by_month, by_year].into_iter().flatten().min();
            if let Some(amount) = amount.filter(|a| *a > 0) {
                options.push(GiftOption {
                    months,
                    currency: currency.to_owned(),
                    amount,
                });
            }
        }
    }
    options
}

/// The same day and time `months` calendar months after `start`; a day the
/// month lacks becomes its last (31 January + 1 month = 28 or 29 February).
pub fn months_after(start: PrimitiveDateTime, months: u32) -> PrimitiveDateTime {
    let total = i64::from(start.year()) * 12 + i64::from(u8::from(start.month()) - 1) + i64::from(months);
    let year = i32::try_from(total.div_euclid(12)).unwrap_or(i32::MAX);
    let month = time::Month::try_from(u8::try_from(total.rem_euclid(12) + 1).unwrap_or(1))
        .unwrap_or(time::Month::January);
    let last_day = time::util::days_in_month(month, year);
    let day = start.day().min(last_day);
    Date::from_calendar_date(year, month, day)
        .map(|date| PrimitiveDateTime::new(date, start.time()))
        .unwrap_or(PrimitiveDateTime::MAX)
}

/// The buyer's order, parsed at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiftOrder {
    pub tier: String,
    pub months: u32,
    pub currency: String,
    pub buyer_email: EmailAddress,
    pub buyer_name: String,
    pub recipient_email: Option<EmailAddress>,
    pub message: String,
    /// When the recipient hears of it (noon UTC that day: the same date in
    /// every time zone within twelve hours of UTC); `None`:
    /// as soon as it is paid. Only with a recipient.
    pub deliver_at: Option<PrimitiveDateTime>,
}

pub const MAX_GIFT_MESSAGE_CHARS: usize = 1000;
/// How far ahead a gift may be scheduled.
pub const MAX_DELIVERY_DAYS_AHEAD: i64 = 366;

/// The form as typed.
#[derive(Debug, Clone, Default)]
pub struct GiftForm<'a> {
    pub option: &'a str,
    pub buyer_email: &'a str,
    pub buyer_name: &'a str,
    pub recipient_email: &'a str,
    pub message: &'a str,
    pub deliver_on: &'a str,
}

impl GiftOrder {
    /// `option` is what the form's radio button says: `tier:months:currency`.
    pub fn parse(form: &GiftForm<'_>, today: Date) -> Result<Self, InvalidInput> {
        let mut parts = form.option.splitn(3, ':');
        let (tier, months, currency) = (parts.next(), parts.next(), parts.next());
        let choose = || InvalidInput::new("option", "choose one of the gifts on this page");
        let (Some(tier), Some(months), Some(currency)) = (tier, months, currency) else {
            return Err(choose());
        };
        let months: u32 = months.parse().map_err(|_| choose())?;
        if !GIFT_MONTHS.contains(&months) || tier.is_empty() || currency.len() != 3 {
            return Err(choose());
        }
        let buyer_email =
            EmailAddress::parse(form.buyer_email).map_err(|e| InvalidInput::new("buyer_email", e.message))?;
        let buyer_name = one_line("buyer_name", form.buyer_name, 0, 80)?;
        let recipient_email = match form.recipient_email.trim() {
            "" => None,
            raw => {
                Some(EmailAddress::parse(raw).map_err(|e| InvalidInput::new("recipient_email", e.message))?)
            }
        };
        let message = form.message.trim().to_owned();
        if message.chars().count() > MAX_GIFT_MESSAGE_CHARS {
            return Err(InvalidInput::new(
                "message",
                format!("the message must be at most {MAX_GIFT_MESSAGE_CHARS} characters"),
            ));
        }
        if message.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
            return Err(InvalidInput::new(
                "message",
                "the message has characters we cannot send",
            ));
        }
        let deliver_at = match form.deliver_on.trim() {
            "" => None,
            raw => Some(delivery_day(raw, today)?),
        };
        if deliver_at.is_some() && recipient_email.is_none() {
            return Err(InvalidInput::new(
                "recipient_email",
                "to send the gift on a date, give the recipient's email address",
            ));
        }
        Ok(Self {
            tier: tier.to_owned(),
            months,
            currency: currency.to_lowercase(),
            buyer_email,
            buyer_name,
            recipient_email,
            message,
            deliver_at,
        })
    }
}

/// `YYYY-MM-DD`, today or up to a year ahead; noon (UTC) that day.
fn delivery_day(raw: &str, today: Date) -> Result<PrimitiveDateTime, InvalidInput> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = Date::parse(raw, &format)
        .map_err(|_| InvalidInput::new("deliver_on", "give the delivery date as YYYY-MM-DD"))?;
    let latest = today + time::Duration::days(MAX_DELIVERY_DAYS_AHEAD);
    if day < today || day > latest {
        return Err(InvalidInput::new(
            "deliver_on",
            "the delivery date must be today or within a year",
        ));
    }
    Ok(PrimitiveDateTime::new(day, time::macros::time!(12:00)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(currency: &str, amount: i64, interval: Interval) -> PriceDetails {
        PriceDetails {
            currency: currency.into(),
            unit_amount: Some(amount),
            interval: Some(interval),
            interval_count: 1,
            product: None,
        }
    }

    #[test]
    fn a_gift_costs_the_monthly_price_per_month_and_a_year_never_more_than_the_yearly_price() {
        let options = gift_options(&[
            price("usd", 800, Interval::Month),
            price("usd", 8000, Interval::Year),
            price("eur", 9000, Interval::Year),
            price("gbp", 100, Interval::Week),
        ]);
        let summary: Vec<String> = options.iter().map(GiftOption::label).collect();
        assert_eq!(
            summary,
            [
                "12 months for €90",
                "1 month for $8",
                "3 months for $24",
                "6 months for $48",
                "12 months for $80"
            ]
        );
    }

    #[test]
    fn a_gift_runs_whole_calendar_months() {
        use time::macros::datetime;
        assert_eq!(
            months_after(datetime!(2026-01-31 10:00), 1),
            datetime!(2026-02-28 10:00)
        );
        assert_eq!(
            months_after(datetime!(2026-12-06 08:00), 6),
            datetime!(2027-06-06 08:00)
        );
        assert_eq!(
            months_after(datetime!(2027-11-30 00:00), 3),
            datetime!(2028-02-29 00:00)
        );
    }

    fn form<'a>(option: &'a str, recipient: &'a str, deliver_on: &'a str) -> GiftForm<'a> {
        GiftForm {
            option,
            buyer_email: "Buyer@Example.com",
            buyer_name: "Ana",
            recipient_email: recipient,
            message: "Happy birthday!\nEnjoy.",
            deliver_on,
        }
    }

    #[test]
    fn a_gift_order_is_parsed_at_the_edge() {
        let today = time::macros::date!(2026 - 12 - 06);
        let order = GiftOrder::parse(&form("gold:6:USD", "friend@example.com", "2026-12-24"), today).unwrap();
        assert_eq!(order.months, 6);
        assert_eq!(order.currency, "usd");
        assert_eq!(order.buyer_email.as_str(), "buyer@example.com");
        assert_eq!(
            order.deliver_at.unwrap().date(),
            time::macros::date!(2026 - 12 - 24)
        );

        let field = |f: GiftForm<'_>| GiftOrder::parse(&f, today).unwrap_err().field;
        assert_eq!(field(form("gold:5:usd", "", "")), "option");
        assert_eq!(field(form("gold", "", "")), "option");
        assert_eq!(field(form("gold:6:usd", "not-an-email", "")), "recipient_email");
        assert_eq!(field(form("gold:6:usd", "", "2026-12-24")), "recipient_email");
        assert_eq!(
            field(form("gold:6:usd", "f@example.com", "2026-12-05")),
            "deliver_on"
        );
        assert_eq!(
            field(form("gold:6:usd", "f@example.com", "2028-01-01")),
            "deliver_on"
        );
        assert_eq!(
            field(form("gold:6:usd", "f@example.com", "24/12/2026")),
            "deliver_on"
        );
    }
}
