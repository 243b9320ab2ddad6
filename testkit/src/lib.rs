//! What Broadsheet's tests and benchmark talk to instead of the world, kept
//! out of the product: a real SMTP server on loopback that records (or only
//! counts) what it receives, with faults on demand; and a fake Stripe that
//! answers the real async-stripe client with Stripe's own fixtures and signs
//! webhooks as Stripe does; and mail providers' feedback webhooks, signed
//! as Amazon SNS and SendGrid sign them; a receiver for outbound webhooks.

pub mod fake_stripe;
pub mod mail_providers;
pub mod smtp_sink;
pub mod webhook_receiver;
