//! Who is asking: password hashing, sessions, API keys, CSRF, login
//! throttling, and the extractors that turn a request into a reader or an
//! editor.

pub mod accounts;
pub mod client_address;
pub mod csrf;
pub mod extract;
pub mod links;
pub mod password;
pub mod signed;
pub mod throttle;
pub mod token;

pub use extract::{ApiStaff, CurrentReader};
