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

impl SubscriptionStatus {
    /// The subscription still exists in Stripe and would go on charging (or
    /// retrying): a second one for the same reader would charge them twice.
    pub fn is_ongoing(self) -> bool {
        !matches!(
            self,
            SubscriptionStatus::Canceled | SubscriptionStatus::IncompleteExpired
        )
    }
}
