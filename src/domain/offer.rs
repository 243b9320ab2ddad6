//! Offers: a discount on one catalogue price, shared as `/offer/{code}`.
//! Stripe holds the discount (a coupon, or a promotion code over one) and
//! enforces its limits; these are the rules for naming an offer and for
//! telling a reader what the discount is.

use time::PrimitiveDateTime;

use crate::domain::{
    InvalidInput,
    settings::one_line,
    slug::Slug,
    tier::{is_stripe_id, money},
};

pub const MAX_OFFER_NAME_CHARS: usize = 80;

/// The code in `/offer/{code}`: slug rules, so it reads well in a link.
pub fn offer_code(raw: &str) -> Result<Slug, InvalidInput> {
    Slug::parse(raw).map_err(|_| {
        InvalidInput::new(
            "code",
            "code must be 1 to 100 lowercase letters, digits and single hyphens",
        )
    })
}

/// What the offer page calls it: "Black Friday".
pub fn offer_name(raw: &str) -> Result<String, InvalidInput> {
    one_line("name", raw, 1, MAX_OFFER_NAME_CHARS)
}

/// Which Stripe object carries the discount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscountRef {
    Coupon(String),
    PromotionCode(String),
}

impl DiscountRef {
    /// Exactly one of the two ids, each a Stripe id (letters, digits, `_`, `-`).
    pub fn parse(coupon: Option<&str>, promotion_code: Option<&str>) -> Result<Self, InvalidInput> {
        let id_rule = |field: &'static str, raw: &str| {
            if is_stripe_id(raw) {
                Ok(raw.to_owned())
            } else {
                Err(InvalidInput::new(
                    field,
                    format!("{field} must be a Stripe id (letters, digits, _ and -)"),
                ))
            }
        };
        match (coupon, promotion_code) {
            (Some(coupon), None) => Ok(Self::Coupon(id_rule("coupon", coupon)?)),
            (None, Some(code)) => Ok(Self::PromotionCode(id_rule("promotion_code", code)?)),
            _ => Err(InvalidInput::new(
                "coupon",
                "give either coupon (a Stripe coupon id) or promotion_code (a Stripe promotion code id, promo_…), not both",
            )),
        }
    }

    pub fn from_stored(coupon: Option<String>, promotion_code: Option<String>) -> Option<Self> {
        match (coupon, promotion_code) {
            (Some(coupon), _) => Some(Self::Coupon(coupon)),
            (None, Some(code)) => Some(Self::PromotionCode(code)),
            (None, None) => None,
        }
    }

    pub fn coupon(&self) -> Option<&str> {
        match self {
            Self::Coupon(id) => Some(id),
            Self::PromotionCode(_) => None,
        }
    }

    pub fn promotion_code(&self) -> Option<&str> {
        match self {
            Self::PromotionCode(id) => Some(id),
            Self::Coupon(_) => None,
        }
    }
}

/// How long a discount lasts, as Stripe's coupon says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscountDuration {
    Once,
    Months(i64),
    Forever,
}

/// A discount as Stripe describes it now.
#[derive(Debug, Clone, PartialEq)]
pub struct Discount {
    /// `Some(40.0)` for 40% off; else `amount_off` is set.
    pub percent_off: Option<f64>,
    /// (currency, amount in its smallest unit).
    pub amount_off: Option<(String, i64)>,
    pub duration: DiscountDuration,
    /// Stripe still accepts it (not expired, not used up, active).
    pub redeemable: bool,
    /// When Stripe stops accepting it, if it says.
    pub ends_at: Option<PrimitiveDateTime>,
}

impl Discount {
    /// "40% off for 3 months", "$5 off the first payment", "25.5% off forever".
    pub fn label(&self) -> String {
        let off = match (&self.percent_off, &self.amount_off) {
            (Some(percent), _) => format!("{}% off", trim_number(*percent)),
            (None, Some((currency, amount))) => format!("{} off", money(currency, *amount)),
            (None, None) => "A discount".to_owned(),
        };
        match self.duration {
            DiscountDuration::Once => format!("{off} the first payment"),
            DiscountDuration::Months(1) => format!("{off} for the first month"),
            DiscountDuration::Months(months) => format!("{off} for {months} months"),
            DiscountDuration::Forever => format!("{off} for as long as you subscribe"),
        }
    }
}

/// 40 not 40.0, 25.5 as it is.
fn trim_number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discount(percent: Option<f64>, amount: Option<i64>, duration: DiscountDuration) -> Discount {
        Discount {
            percent_off: percent,
            amount_off: amount.map(|a| ("usd".to_owned(), a)),
            duration,
            redeemable: true,
            ends_at: None,
        }
    }

    #[test]
    fn a_discount_reads_as_a_reader_would_say_it() {
        assert_eq!(
            discount(Some(40.0), None, DiscountDuration::Months(3)).label(),
            "40% off for 3 months"
        );
        assert_eq!(
            discount(Some(25.5), None, DiscountDuration::Forever).label(),
            "25.5% off for as long as you subscribe"
        );
        assert_eq!(
            discount(None, Some(500), DiscountDuration::Once).label(),
            "$5 off the first payment"
        );
        assert_eq!(
            discount(None, Some(250), DiscountDuration::Months(1)).label(),
            "$2.50 off for the first month"
        );
    }

    #[test]
    fn an_offer_names_exactly_one_stripe_discount() {
        assert_eq!(
            DiscountRef::parse(Some("SPRING40"), None).unwrap(),
            DiscountRef::Coupon("SPRING40".into())
        );
        assert_eq!(
            DiscountRef::parse(None, Some("promo_123")).unwrap(),
            DiscountRef::PromotionCode("promo_123".into())
        );
        assert!(DiscountRef::parse(Some("A"), Some("promo_1")).is_err());
        assert!(DiscountRef::parse(None, None).is_err());
        assert!(DiscountRef::parse(Some("no spaces"), None).is_err());
    }
}
