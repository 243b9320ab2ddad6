//! HTTP: handlers grouped by audience, registered in one place. Handlers
//! parse input into domain types, call one service, and render.

pub mod accounts;
pub mod admin;
pub mod api;
mod billing;
mod data_rights;
mod editor;
pub mod error;
mod feeds;
mod idempotency;
mod links;
pub mod ops;
pub(crate) mod pages;
pub mod site;

use actix_web::{
    HttpRequest, HttpResponse,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    error::JsonPayloadError,
    http::{Method, StatusCode},
    middleware::{Next, from_fn},
    web,
};

use crate::{auth::csrf, state::AppState};
use error::{ApiError, Problem};

/// Largest admin JSON body: a 1 MB markdown article plus its fields.
const JSON_LIMIT: usize = 2 * 1024 * 1024;
/// Largest site form or other body.
const FORM_LIMIT: usize = 64 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(JSON_LIMIT)
            .error_handler(json_error),
    )
    .app_data(web::PayloadConfig::default().limit(FORM_LIMIT))
    .app_data(web::QueryConfig::default().error_handler(|e, req| {
        Problem::bad_request(format!("The query string is not valid: {e}")).for_request(req)
    }))
    .configure(ops::configure)
    .configure(billing::configure_webhook)
    .service(
        web::scope("/admin/api")
            .app_data(web::PayloadConfig::default().limit(JSON_LIMIT))
            .wrap(from_fn(idempotency::middleware))
            .configure(admin::configure)
            .default_service(web::to(not_found)),
    )
    .service(
        web::scope("/api")
            .configure(api::configure)
            .default_service(web::to(not_found)),
    )
    .service(
        web::scope("")
            .wrap(from_fn(csrf::ensure_cookie))
            .configure(site::configure)
            .configure(billing::configure)
            .configure(editor::configure)
            .configure(feeds::configure)
            .configure(accounts::configure)
            .configure(data_rights::configure)
            .configure(links::configure)
            .default_service(web::to(not_found)),
    );
}

/// Any request that may write (every method but GET and HEAD) empties the
/// read cache once it is handled, before the client sees the answer: the
/// next request on this instance reads what was written. See `cache.rs`.
pub async fn forget_cached_reads_after_writes(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD);
    let state = writes
        .then(|| req.app_data::<web::Data<AppState>>().cloned())
        .flatten();
    let response = next.call(req).await;
    if let Some(state) = state {
        state.read_cache.clear();
    }
    response
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    if let Some(allowed) = admin::methods_allowed_at(req.path()) {
        let mut response = Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!(
                "{} takes {}, not {}.",
                req.path(),
                allowed.join(", "),
                req.method()
            ),
        )
        .to_json_response();
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allowed.join(", ")) {
            response
                .headers_mut()
                .insert(actix_web::http::header::ALLOW, value);
        }
        return response;
    }
    let problem = Problem::not_found(format!("There is nothing at {}.", req.path()));
    if error::wants_json(req.path()) {
        problem.to_json_response()
    } else {
        problem.to_page_response()
    }
}

/// Malformed JSON is a 400, well-formed JSON of the wrong shape (unknown or
/// missing fields, wrong types) a 422, too large a 413, not JSON a 415.
fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let problem = match &err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "The body is larger than the {} MB limit.",
                JSON_LIMIT / 1024 / 1024
            ),
        ),
        JsonPayloadError::ContentType => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the body as JSON with `Content-Type: application/json`.",
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("The JSON does not fit: {e}"),
        ),
        JsonPayloadError::Deserialize(e) => Problem::bad_request(format!("The body is not valid JSON: {e}")),
        other => Problem::bad_request(format!("The body could not be read: {other}")),
    };
    ApiError(problem).into()
}

/// A JSON body that may be left out altogether (an empty body, or `null`,
/// reads as the default), with the same 400/422 split as `web::Json`.
pub(crate) fn optional_json<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, Problem> {
    if body.trim_ascii().is_empty() || body.trim_ascii() == b"null" {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                format!("The JSON does not fit: {e}"),
            )
        } else {
            Problem::bad_request(format!("The body is not valid JSON: {e}"))
        }
    })
}

/// A numeric id from a path: a positive integer, or a 404 naming `what`
/// (a malformed id names nothing that exists).
pub(crate) fn path_id(raw: &str, what: &str) -> Result<i32, Problem> {
    raw.parse::<i32>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| Problem::not_found(format!("There is no {what} with the id {raw:?}.")))
}
