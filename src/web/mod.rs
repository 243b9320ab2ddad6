//! HTTP: handlers grouped by audience, registered in one place. Handlers
//! parse input into domain types, call one service, and render.

pub mod accounts;
pub mod admin;
pub mod api;
mod authors_api;
mod billing;
mod charts;
pub mod csrf;
mod data_rights;
mod editor;
pub mod error;
pub mod extract;
mod feedback;
mod feeds;
mod gift_subscriptions;
mod idempotency;
mod join;
mod links;
mod media;
mod members_api;
mod members_page;
mod newsletters_api;
mod nul;
mod offers_api;
pub mod ops;
mod page_cache;
pub(crate) mod pages;
mod profile_page;
mod search;
mod sharing;
pub mod site;
mod site_settings;
pub mod startup;
mod stats_api;
mod stats_page;
mod tags_api;
mod tiers_api;
mod tracking;
pub mod views;
mod webhooks_api;

pub use extract::{ApiStaff, CurrentReader};

use actix_web::{
    HttpRequest, HttpResponse,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    error::JsonPayloadError,
    http::{Method, StatusCode},
    middleware::{Next, from_fn},
    web,
};

use crate::state::AppState;
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
    .app_data(
        web::FormConfig::default()
            .limit(FORM_LIMIT)
            .error_handler(|e, req| {
                Problem::bad_request(format!("The form could not be read: {e}")).for_request(req)
            }),
    )
    .app_data(web::QueryConfig::default().error_handler(|e, req| {
        Problem::bad_request(format!("The query string is not valid: {e}")).for_request(req)
    }))
    .configure(ops::configure)
    .configure(billing::configure_webhook)
    .configure(feedback::configure)
    .configure(media::configure_uploads)
    .service(
        web::scope("/admin/api")
            .app_data(web::PayloadConfig::default().limit(JSON_LIMIT))
            .wrap(from_fn(idempotency::middleware))
            .wrap(from_fn(nul::refuse_nul))
            .configure(admin::configure)
            .configure(tiers_api::configure)
            .configure(offers_api::configure)
            .configure(members_api::configure)
            .configure(newsletters_api::configure)
            .configure(tags_api::configure)
            .configure(stats_api::configure)
            .configure(authors_api::configure)
            .configure(webhooks_api::configure)
            .default_service(web::to(not_found)),
    )
    .service(
        web::scope("/api")
            .wrap(from_fn(nul::refuse_nul))
            .wrap(from_fn(json_writes_from_this_site))
            .configure(api::configure)
            .configure(join::configure_api)
            .configure(search::configure_api)
            .default_service(web::to(not_found)),
    )
    .service(
        web::scope("")
            .wrap(from_fn(nul::refuse_nul))
            .wrap(from_fn(tracking::follow_site_click))
            .wrap(from_fn(error::with_site_header))
            .wrap(from_fn(csrf::ensure_cookie))
            .configure(site::configure)
            .configure(tracking::configure)
            .configure(billing::configure)
            .configure(gift_subscriptions::configure)
            .configure(editor::configure)
            .configure(site_settings::configure)
            .configure(profile_page::configure)
            .configure(members_page::configure)
            .configure(stats_page::configure)
            .configure(feeds::configure)
            .configure(accounts::configure)
            .configure(data_rights::configure)
            .configure(links::configure)
            .configure(join::configure)
            .configure(search::configure_page)
            .configure(media::configure_files)
            .configure(site::configure_pages)
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

/// Every answer is `private, no-store` unless its handler chose otherwise:
/// most answers depend on who asks (a cookie or a bearer token), and a
/// shared cache must never hand one reader's copy to another. Handlers opt
/// into `public` only for what is the same for everyone, and such an answer
/// must not set a cookie: if one does anyway, it is made private here.
pub async fn default_cache_control(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    use actix_web::http::header::{CACHE_CONTROL, HeaderValue, SET_COOKIE};
    let mut response = next.call(req).await?;
    let path = response.request().path().to_owned();
    let headers = response.headers_mut();
    let public = headers
        .get(CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("public"));
    if public && headers.contains_key(SET_COOKIE) {
        tracing::error!(%path, "a public answer set a cookie; sent as private instead");
    }
    if !headers.contains_key(CACHE_CONTROL) || (public && headers.contains_key(SET_COOKIE)) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    }
    Ok(response)
}

/// The reader API's writes (gift links) are authenticated by the session
/// cookie too, so they must come as JSON (a cross-site HTML form can only
/// send form or text bodies) and, when the browser says where they come
/// from, from this site. A request with an `Authorization` header carries
/// no ambient credential and is not checked.
pub async fn json_writes_from_this_site(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    use actix_web::http::header;
    let reads = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if reads || req.headers().contains_key(header::AUTHORIZATION) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let header_text = |name: header::HeaderName| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase)
    };
    let has_body = header_text(header::CONTENT_LENGTH).is_some_and(|n| n != "0")
        || req.headers().contains_key(header::TRANSFER_ENCODING);
    let json = header_text(header::CONTENT_TYPE).is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|m| m.trim() == "application/json")
    });
    if has_body && !json {
        return Err(ApiError(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the body as JSON with `Content-Type: application/json`.",
        ))
        .into());
    }
    let cross_site = header_text(header::HeaderName::from_static("sec-fetch-site"))
        .is_some_and(|site| site != "same-origin" && site != "none");
    let foreign_origin = header_text(header::ORIGIN).is_some_and(|origin| {
        let info = req.connection_info();
        origin != format!("{}://{}", info.scheme(), info.host()).to_ascii_lowercase()
    });
    if cross_site || foreign_origin {
        return Err(ApiError(Problem::forbidden(
            "This request came from another site. Use the page on this site, or an Authorization header.",
        ))
        .into());
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

pub(crate) async fn not_found(req: HttpRequest) -> HttpResponse {
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

/// A JSON body that may be left out altogether (no body, or `null`, reads
/// as the default), with the same 400/422 split as `web::Json`. A body of
/// only whitespace is not JSON and is refused like any other.
pub(crate) fn optional_json<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, Problem> {
    if body.is_empty() || body.trim_ascii() == b"null" {
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

/// A JSON body that must be an object. serde reads a struct from an array
/// as well (`[null, null]` fills its first fields in order), which the
/// OpenAPI document does not allow; for a body whose fields are all
/// optional that would be a 200 for a malformed request. An array (or any
/// other non-object) is a 422 here.
pub(crate) struct JsonObject<T>(pub T);

impl<'de, T: serde::de::DeserializeOwned> serde::Deserialize<'de> for JsonObject<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let object = <serde_json::Map<String, serde_json::Value> as serde::Deserialize>::deserialize(d)?;
        T::deserialize(serde_json::Value::Object(object))
            .map(JsonObject)
            .map_err(serde::de::Error::custom)
    }
}

/// A urlencoded form read as `T`, and its repeated `field` (a group of
/// checkboxes, which `T` cannot hold) as the numbers ticked.
pub(crate) fn form_with_ticks<T: serde::de::DeserializeOwned>(
    body: &[u8],
    field: &str,
) -> Result<(T, Vec<i32>), Problem> {
    let form = serde_urlencoded::from_bytes(body)
        .map_err(|e| Problem::bad_request(format!("The form could not be read: {e}")))?;
    let ticked = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .map_err(|e| Problem::bad_request(format!("The form could not be read: {e}")))?
        .into_iter()
        .filter(|(name, _)| name == field)
        .filter_map(|(_, value)| value.parse().ok())
        .collect();
    Ok((form, ticked))
}

/// A numeric id from a path: a positive integer, or a 404 naming `what`
/// (a malformed id names nothing that exists).
pub(crate) fn path_id(raw: &str, what: &str) -> Result<i32, Problem> {
    raw.parse::<i32>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| Problem::not_found(format!("There is no {what} with the id {raw:?}.")))
}
