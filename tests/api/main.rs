//! Integration tests: the real server on port 0 against a fresh database per
//! test (SQLite by default; PostgreSQL when TEST_DATABASE_URL is set).

mod access;
mod accounts;
mod admin;
mod archive;
mod billing;
mod browser;
mod cli;
mod data_rights;
mod editorial;
mod email;
mod email_controls;
mod feeds;
mod gift_subscriptions;
mod gifts;
mod headers;
mod helpers;
mod leaks;
mod logs;
mod member_list;
mod members;
mod meter;
mod metrics;
mod newsletters;
mod offers;
mod ops;
mod reading;
mod settings;
mod smtp;
mod stripe;
mod subscribe;
mod tags;
mod tiers;
mod website;
mod welcome;
