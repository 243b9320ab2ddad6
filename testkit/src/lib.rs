//! What Broadsheet's tests and benchmark talk to instead of the world, kept
//! out of the product: a real SMTP server on loopback that records (or only
//! counts) what it receives, with faults on demand; and a fake Stripe that
//! answers the real async-stripe client with Stripe's own fixtures and signs
//! webhooks as Stripe does.

pub mod fake_stripe;
pub mod smtp_sink;
