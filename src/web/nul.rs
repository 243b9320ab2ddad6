//! The NUL character (U+0000) is refused at the edge, in a query string or
//! in a JSON or form body, before any handler runs.
//!
//! PostgreSQL stores no NUL in text (it refuses the whole statement) while
//! SQLite keeps it, so without this the same request would be stored on one
//! backend and fail half-way into a transaction on the other. No field of
//! ours has a use for it. Answered as a 422 in the client's format (JSON for
//! the APIs, a page for the site); `Problem::internal` still maps
//! PostgreSQL's refusal to the same 422 for any path this does not cover.

use actix_web::{
    body::{BoxBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    http::{StatusCode, header},
    middleware::Next,
    web,
};

use crate::web::error::Problem;

const MESSAGE: &str = "Text may not contain the NUL character (\\u0000).";

/// The answer to a NUL in a body: 422, naming the field when it is known.
pub fn refusal(field: Option<String>) -> Problem {
    let problem = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", MESSAGE);
    match field {
        Some(field) => problem.on_field(field),
        None => problem,
    }
}

/// A NUL in the query string: it could not be read (400, like any other
/// query the handler's extractor refuses).
fn query_refusal(field: Option<String>) -> Problem {
    let problem = Problem::bad_request(format!("The query string is not valid: {MESSAGE}"));
    match field {
        Some(field) => problem.on_field(field),
        None => problem,
    }
}

/// Which body encodings are read for a NUL; others (multipart uploads,
/// webhooks' raw bodies) are left to their handlers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Encoding {
    Json,
    Form,
}

pub async fn refuse_nul(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let query = req.query_string().as_bytes();
    if url_encoded_has_nul(query) {
        return Err(query_refusal(url_encoded_field_with_nul(query)).for_request(req.request()));
    }
    if let Some(encoding) = body_encoding(&req) {
        // Read within the scope's `PayloadConfig` limit; a body over it
        // cannot be put back for the handler, so it is refused here.
        let body = req.extract::<web::Bytes>().await.map_err(|_| {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "The body is larger than this address accepts.",
            )
            .for_request(req.request())
        })?;
        let refused = match encoding {
            Encoding::Json if json_has_nul(&body) => Some(json_field_with_nul(&body)),
            Encoding::Form if url_encoded_has_nul(&body) => Some(url_encoded_field_with_nul(&body)),
            _ => None,
        };
        if let Some(field) = refused {
            return Err(refusal(field).for_request(req.request()));
        }
        req.set_payload(Payload::from(body));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

fn body_encoding(req: &ServiceRequest) -> Option<Encoding> {
    let content_type = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = content_type.split(';').next()?.trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Some(Encoding::Json),
        "application/x-www-form-urlencoded" => Some(Encoding::Form),
        _ => None,
    }
}

/// `%00` (or a raw NUL byte) in a query string or form body.
fn url_encoded_has_nul(text: &[u8]) -> bool {
    text.contains(&0) || text.windows(3).any(|w| w == b"%00")
}

/// A `\u0000` escape in any JSON string (a raw NUL byte is not valid JSON,
/// which the parser refuses anyway). Backslashes only occur inside strings,
/// so walking the escapes is enough: `\\u0000` is a backslash and text.
fn json_has_nul(json: &[u8]) -> bool {
    let mut at = 0;
    while let Some(offset) = json[at..].iter().position(|&b| b == b'\\') {
        let escape = at + offset;
        match json.get(escape + 1) {
            Some(b'u') => {
                if json.get(escape + 2..escape + 6) == Some(b"0000") {
                    return true;
                }
                at = escape + 6;
            }
            Some(_) => at = escape + 2,
            None => return false,
        }
        if at >= json.len() {
            return false;
        }
    }
    false
}

/// The name of the first pair whose value holds a NUL (none when the name
/// itself does).
fn url_encoded_field_with_nul(text: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(text)
        .find(|(name, value)| name.contains('\0') || value.contains('\0'))
        .filter(|(name, _)| !name.contains('\0'))
        .map(|(name, _)| name.into_owned())
}

/// The top-level member of a JSON object whose value holds the NUL, at any
/// depth. Only called once a NUL is known to be there, so parsing the body a
/// second time costs nothing on the way of a valid request.
fn json_field_with_nul(json: &[u8]) -> Option<String> {
    fn holds_nul(value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::String(text) => text.contains('\0'),
            serde_json::Value::Array(items) => items.iter().any(holds_nul),
            serde_json::Value::Object(members) => {
                members.iter().any(|(k, v)| k.contains('\0') || holds_nul(v))
            }
            _ => false,
        }
    }
    let serde_json::Value::Object(members) = serde_json::from_slice(json).ok()? else {
        return None;
    };
    members
        .into_iter()
        .find(|(name, value)| name.contains('\0') || holds_nul(value))
        .filter(|(name, _)| !name.contains('\0'))
        .map(|(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_escape_is_found_in_any_string_of_a_json_body() {
        assert!(json_has_nul(br#"{"title":"a\u0000b"}"#));
        assert!(json_has_nul(br#"{"tags":["x","\u0000"]}"#));
        assert!(json_has_nul(br#"{"\u0000":1}"#));
        assert!(
            json_has_nul(br#"{"t":"\\\u0000"}"#),
            "an escaped backslash, then the NUL"
        );
    }

    #[test]
    fn other_escapes_and_an_escaped_backslash_before_u0000_are_not_a_nul() {
        assert!(
            !json_has_nul(br#"{"title":"a\\u0000b"}"#),
            "a backslash, then the text u0000"
        );
        assert!(!json_has_nul(br#"{"title":"\u0001\n\"\u00e9"}"#));
        assert!(!json_has_nul(br#"{"title":"ends with \\"}"#));
        assert!(!json_has_nul(br#"{"t":"\u000"#), "cut short");
        assert!(!json_has_nul(b"\\"));
        assert!(!json_has_nul(b""));
    }

    #[test]
    fn percent_zero_zero_or_a_raw_nul_is_found_in_url_encoding() {
        assert!(url_encoded_has_nul(b"q=a%00b"));
        assert!(url_encoded_has_nul(b"q=a\0b"));
        assert!(!url_encoded_has_nul(b"q=%2500&r=%0A"));
        assert!(!url_encoded_has_nul(b""));
    }

    #[test]
    fn the_refusal_names_the_top_level_field_that_holds_the_nul() {
        assert_eq!(
            json_field_with_nul(br#"{"title":"ok","settings":{"nav":[{"label":"a\u0000"}]}}"#).as_deref(),
            Some("settings")
        );
        assert_eq!(
            json_field_with_nul(br#"{"a\u0000":1}"#),
            None,
            "a name with a NUL is not repeated"
        );
        assert_eq!(json_field_with_nul(br#"["\u0000"]"#), None);
        assert_eq!(
            url_encoded_field_with_nul(b"q=ok&email=a%00b").as_deref(),
            Some("email")
        );
        assert_eq!(url_encoded_field_with_nul(b"a%00=1"), None);
    }
}
