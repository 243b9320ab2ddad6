//! Validated newtypes and the pure rules of the product. Nothing here does I/O:
//! input is parsed into these types at the edge, and the access policy decides
//! from them alone.

pub mod access;
pub mod article;
pub mod attribution;
pub mod author;
pub mod delivery;
pub mod editorial;
pub mod email;
pub mod feedback;
pub mod gift_subscription;
pub mod markdown;
pub mod media;
pub mod member;
pub mod member_csv;
pub mod newsletters;
pub mod offer;
pub mod password;
pub mod role;
pub mod search;
pub mod settings;
pub mod signup_source;
pub mod slug;
pub mod stats;
pub mod subscription;
pub mod tags;
mod text_enum;
pub mod tier;
pub mod time;
pub mod tracking;
pub mod webhook;

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

/// A whole number sent as JSON, as `38` or `38.0`: JSON Schema counts both
/// as integers, so an API that publishes `"type": "integer"` takes both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Whole<T>(pub T);

impl<'de, T: TryFrom<i64>> serde::Deserialize<'de> for Whole<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let number = serde_json::Number::deserialize(d)?;
        let whole = number.as_i64().or_else(|| {
            number
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        });
        let whole =
            whole.ok_or_else(|| D::Error::custom(format!("expected a whole number, not {number}")))?;
        T::try_from(whole)
            .map(Whole)
            .map_err(|_| D::Error::custom(format!("{whole} is out of range")))
    }
}
