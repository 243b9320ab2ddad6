use crate::domain::text_enum::text_enum;

text_enum! {
    /// A Stripe subscription's status, exactly as Stripe spells it.
    pub enum SubscriptionStatus("status") {
        Incomplete => "incomplete",
        IncompleteExpired => "incomplete_expired",
        Trialing => "trialing",
        Active => "active",
        PastDue => "past_due",
        Canceled => "canceled",
        Unpaid => "unpaid",
        Paused => "paused",
    }
}
