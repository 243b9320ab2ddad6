//! The fake Stripe (from the testkit crate): the endpoints the real
//! async-stripe client calls, answered from Stripe's own fixtures, and
//! webhooks signed exactly as Stripe signs them.

pub use broadsheet_testkit::fake_stripe::*;
