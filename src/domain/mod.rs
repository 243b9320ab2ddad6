//! Validated newtypes and the pure rules of the product. Nothing here does I/O:
//! input is parsed into these types at the edge, and the access policy decides
//! from them alone.

pub mod access;
pub mod article;
pub mod delivery;
pub mod editorial;
pub mod email;
pub mod markdown;
pub mod member_csv;
pub mod password;
pub mod role;
pub mod settings;
pub mod signup_source;
pub mod slug;
pub mod subscription;
mod text_enum;
pub mod tier;
pub mod time;

/// Why a piece of input was refused, phrased for the person who sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidInput {
    /// The input field the message is about, when there is one.
    pub field: &'static str,
    pub message: String,
}

impl InvalidInput {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// For PATCH bodies: a field left out is `None`, a field sent as `null` is
/// `Some(None)` (use with `#[serde(default, deserialize_with = ...)]`).
pub fn nullable<'de, T: serde::Deserialize<'de>, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}
