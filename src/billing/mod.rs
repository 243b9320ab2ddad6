//! Billing: applying Stripe's webhook events to our subscriptions, and
//! reconciling them with what Stripe says now (`admin stripe-sync`). Talking
//! to Stripe itself is `stripe`.

pub mod adopt;
pub mod events;
pub mod sync;
