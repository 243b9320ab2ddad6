//! Broadsheet: a paywalled newsletter backend. The layers, each importing
//! only those below it (README: Layout):
//!
//! - `web`: HTTP: handlers, extractors, middleware, pages, the server.
//! - features: `reading`, `publishing`, `newsletter`, `accounts`,
//!   `members`, `billing`, `gifts`, `webhooks`, `demo`: the product's rules
//!   and workflows.
//! - `state`: what every feature is handed (configuration, pools, clients).
//! - services: `db`, `mail`, `media`, `stripe`, `feedback` (mail providers'
//!   reports), `cache`, `security`, `metrics`, `page_views`, `telemetry`.
//! - `domain` and `config`: pure types and rules; settings.

pub mod accounts;

pub mod billing;
pub mod cache;
pub mod catalogue;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod feedback;
pub mod gift_subscriptions;
pub mod gifts;
pub mod mail;
pub mod media;
pub mod members;
pub mod metrics;
pub mod newsletter;
pub mod page_views;
pub mod publication;
pub mod publishing;
pub mod reading;
pub mod security;
pub mod state;
pub mod stripe;
pub mod telemetry;
pub mod web;
pub mod webhooks;
