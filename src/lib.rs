//! Broadsheet: a paywalled newsletter backend. See DESIGN.md for the map.

pub mod auth;
pub mod bench;
pub mod billing;
pub mod cache;
pub mod config;
pub mod data_rights;
pub mod db;
pub mod delivery;
pub mod demo;
pub mod domain;
pub mod feeds;
pub mod gifts;
pub mod mail;
pub mod member_csv;
pub mod members;
pub mod metrics;
pub mod publishing;
pub mod reading;
pub mod routes;
pub mod scheduler;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod views;
