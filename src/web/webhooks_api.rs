//! Outbound webhooks in the admin API: `/admin/api/webhooks`. Admins only
//! (a webhook receives members' addresses). The signing secret is shown
//! once, in the answer to the POST that made it.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::web::error::{ApiResult, ErrorBody, Problem};
use crate::{
    db::webhooks::{DeliveryLogEntry, Webhook},
    domain::{
        InvalidInput,
        time::rfc3339,
        webhook::{self, EventSet, WebhookEvent},
    },
    state::AppState,
    web::{JsonObject, extract::ApiStaff},
    webhooks::{self, NewWebhook, WebhookChange, WebhookError},
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_webhooks)
        .service(create_webhook)
        .service(get_webhook)
        .service(patch_webhook)
        .service(delete_webhook)
        .service(webhook_deliveries);
}

impl From<WebhookError> for Problem {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::Forbidden => Problem::forbidden(e.to_string()),
            WebhookError::NotFound => Problem::not_found(e.to_string()),
            WebhookError::Invalid(invalid) => Problem::from(invalid),
            WebhookError::Internal(e) => Problem::internal(e),
        }
    }
}

/// A webhook as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct WebhookJson {
    id: i32,
    url: String,
    events: Vec<WebhookEvent>,
    description: String,
    /// false: nothing is sent; `disabled_reason` says why when Broadsheet
    /// switched it off after days of failures.
    enabled: bool,
    disabled_reason: Option<String>,
    /// Since when every delivery has failed (RFC 3339, UTC), if it is
    /// failing.
    failing_since: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
}

impl From<&Webhook> for WebhookJson {
    fn from(webhook: &Webhook) -> Self {
        Self {
            id: webhook.id,
            url: webhook.url.clone(),
            events: webhook
                .events()
                .names()
                .into_iter()
                .filter_map(|n| WebhookEvent::parse(n).ok())
                .collect(),
            description: webhook.description.clone(),
            enabled: webhook.enabled,
            disabled_reason: webhook.disabled_reason.clone(),
            failing_since: webhook.failing_since.map(rfc3339),
            created_at: rfc3339(webhook.created_at),
        }
    }
}

/// A new webhook, with the secret that signs its deliveries (shown once).
#[derive(Serialize, ToSchema)]
pub struct CreatedWebhookJson {
    #[serde(flatten)]
    webhook: WebhookJson,
    /// Verify `Broadsheet-Signature` with it; it is not shown again.
    secret: String,
}

/// The body of `POST /admin/api/webhooks`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookBody {
    /// https (or http) URL; not on a private network unless the server
    /// allows it.
    #[schema(format = "uri", min_length = 1, max_length = 2000)]
    url: String,
    /// At least one of `member.created`, `member.updated`, `member.deleted`,
    /// `subscription.changed`, `article.published`, `send.finished`.
    #[schema(min_items = 1, max_items = 6)]
    events: Vec<WebhookEvent>,
    #[schema(max_length = 200, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    description: Option<String>,
}

/// The body of `PATCH /admin/api/webhooks/{id}`; a field left out stays.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PatchWebhookBody {
    #[schema(format = "uri", min_length = 1, max_length = 2000)]
    url: Option<String>,
    #[schema(min_items = 1, max_items = 6)]
    events: Option<Vec<WebhookEvent>>,
    #[schema(max_length = 200, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    description: Option<String>,
    /// true switches a disabled webhook on again (clearing the reason).
    enabled: Option<bool>,
}

fn event_set(events: &[WebhookEvent]) -> Result<EventSet, InvalidInput> {
    let names: Vec<String> = events.iter().map(|e| e.as_str().to_owned()).collect();
    EventSet::parse(&names)
}

fn webhook_id(raw: &str) -> Result<i32, Problem> {
    super::path_id(raw, "webhook")
}

/// Every webhook. Admins only.
#[utoipa::path(get, path = "/admin/api/webhooks",
    responses((status = 200, body = Vec<WebhookJson>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[get("/webhooks")]
async fn list_webhooks(
    state: web::Data<AppState>,
    staff: ApiStaff,
) -> ApiResult<web::Json<Vec<WebhookJson>>> {
    let all = webhooks::list(&state, staff.actor).await?;
    Ok(web::Json(all.iter().map(WebhookJson::from).collect()))
}

/// Registers a webhook. 422 for a URL on a private network (unless the
/// server allows it) or an unknown event. Admins only.
#[utoipa::path(post, path = "/admin/api/webhooks", request_body = CreateWebhookBody,
    responses((status = 201, body = CreatedWebhookJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/webhooks")]
async fn create_webhook(
    state: web::Data<AppState>,
    staff: ApiStaff,
    body: web::Json<CreateWebhookBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let new = NewWebhook {
        url: webhook::parse_url(&body.url).map_err(Problem::from)?,
        events: event_set(&body.events).map_err(Problem::from)?,
        description: webhooks::parse_description(body.description.as_deref().unwrap_or_default())
            .map_err(Problem::from)?,
    };
    let created = webhooks::create(&state, staff.actor, new).await?;
    Ok(HttpResponse::Created().json(CreatedWebhookJson {
        webhook: WebhookJson::from(&created),
        secret: created.secret,
    }))
}

#[utoipa::path(get, path = "/admin/api/webhooks/{id}", params(("id" = i32, Path)),
    responses((status = 200, body = WebhookJson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/webhooks/{id}")]
async fn get_webhook(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
) -> ApiResult<web::Json<WebhookJson>> {
    let found = webhooks::find(&state, staff.actor, webhook_id(&id)?).await?;
    Ok(web::Json(WebhookJson::from(&found)))
}

/// Changes a webhook's URL, events or description, or switches it off or
/// on. Admins only.
#[utoipa::path(patch, path = "/admin/api/webhooks/{id}", params(("id" = i32, Path)), request_body = PatchWebhookBody,
    responses((status = 200, body = WebhookJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[patch("/webhooks/{id}")]
async fn patch_webhook(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
    body: web::Json<JsonObject<PatchWebhookBody>>,
) -> ApiResult<web::Json<WebhookJson>> {
    let id = webhook_id(&id)?;
    let body = body.into_inner().0;
    let change = WebhookChange {
        url: body
            .url
            .as_deref()
            .map(webhook::parse_url)
            .transpose()
            .map_err(Problem::from)?,
        events: body
            .events
            .as_deref()
            .map(event_set)
            .transpose()
            .map_err(Problem::from)?,
        description: body
            .description
            .as_deref()
            .map(webhooks::parse_description)
            .transpose()
            .map_err(Problem::from)?,
        enabled: body.enabled,
    };
    let changed = webhooks::update(&state, staff.actor, id, change).await?;
    Ok(web::Json(WebhookJson::from(&changed)))
}

/// Deletes a webhook and its delivery log. Admins only.
#[utoipa::path(delete, path = "/admin/api/webhooks/{id}", params(("id" = i32, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[delete("/webhooks/{id}")]
async fn delete_webhook(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    webhooks::delete(&state, staff.actor, webhook_id(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// One delivery of one event to a webhook.
#[derive(Serialize, ToSchema)]
pub struct WebhookDeliveryJson {
    id: i32,
    /// The same for every webhook that got this event.
    event_id: String,
    event: String,
    /// `pending` (waiting for its next try), `sending`, `sent`, `failed`.
    status: String,
    attempts: i32,
    /// The receiver's HTTP status on the last try, if it answered.
    response_status: Option<i32>,
    last_error: Option<String>,
    /// When it is tried next, while pending (RFC 3339, UTC).
    next_attempt_at: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    sent_at: Option<String>,
    /// The JSON body as sent.
    payload: serde_json::Value,
}

impl From<DeliveryLogEntry> for WebhookDeliveryJson {
    fn from(entry: DeliveryLogEntry) -> Self {
        Self {
            next_attempt_at: (entry.status == "pending").then(|| rfc3339(entry.next_attempt_at)),
            id: entry.id,
            event_id: entry.event_id,
            event: entry.event,
            status: entry.status,
            attempts: entry.attempts,
            response_status: entry.response_status,
            last_error: entry.last_error,
            created_at: rfc3339(entry.created_at),
            sent_at: entry.sent_at.map(rfc3339),
            payload: serde_json::from_str(&entry.payload).unwrap_or(serde_json::Value::Null),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct LogQuery {
    /// Deliveries older than this id (the last id of the previous page).
    #[param(minimum = 1)]
    before: Option<i32>,
    /// 1 to 100; 50 when left out.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// A webhook's deliveries, newest first, 50 a page. Admins only.
#[utoipa::path(get, path = "/admin/api/webhooks/{id}/deliveries", params(("id" = i32, Path), LogQuery),
    responses((status = 200, body = Vec<WebhookDeliveryJson>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/webhooks/{id}/deliveries")]
async fn webhook_deliveries(
    state: web::Data<AppState>,
    staff: ApiStaff,
    id: web::Path<String>,
    query: web::Query<LogQuery>,
) -> ApiResult<web::Json<Vec<WebhookDeliveryJson>>> {
    let id = webhook_id(&id)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=webhooks::MAX_LOG_PAGE).contains(&limit) {
        return Err(Problem::bad_request("limit must be 1 to 100.")
            .on_field("limit")
            .into());
    }
    if query.before.is_some_and(|b| b < 1) {
        return Err(Problem::bad_request("before must be a delivery id.")
            .on_field("before")
            .into());
    }
    let log = webhooks::deliveries(&state, staff.actor, id, query.before, limit).await?;
    Ok(web::Json(
        log.into_iter().map(WebhookDeliveryJson::from).collect(),
    ))
}
