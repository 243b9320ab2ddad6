//! Security primitives, below every feature: random tokens and their hashes,
//! signed link tokens, password hashing, throttles, and which address a
//! request comes from. No HTTP, no features.

pub mod client_address;
pub mod human_check;
pub mod outbound;
pub mod password;
pub mod signed;
pub mod throttle;
pub mod token;
