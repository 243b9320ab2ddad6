//! `Idempotency-Key` on the admin API's POSTs: a client that retries after a
//! timeout gets the first answer again instead of a second article. The
//! same key with a different request is refused (422); a key whose first
//! request is still running answers 409. Keys are per API key and kept 24 h;
//! server errors are not stored, so a retry after a 5xx runs afresh. Only a
//! live API key claims a key, and refusals (401, 403) are never stored, so
//! nobody without a key can fill the table.

use actix_web::{
    HttpResponse,
    body::{self, BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{Method, StatusCode, header},
    middleware::Next,
    web,
};
use sha2::{Digest, Sha256};

use crate::web::error::{ApiError, Problem};
use crate::{
    db::{
        self,
        idempotency::{self, Claim},
    },
    security::token,
    state::AppState,
    web::extract::ApiStaff,
};

const HEADER: &str = "idempotency-key";
const MAX_KEY_LEN: usize = 255;

pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let key = req.headers().get(HEADER).map(|v| v.to_str().map(str::to_owned));
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (Some(key), Some(authorization), &Method::POST) = (key, authorization, req.method()) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let key = key
        .ok()
        // Visible ASCII only, as the OpenAPI document says: no spaces.
        .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError(Problem::bad_request(format!(
                "Idempotency-Key must be 1 to {MAX_KEY_LEN} visible characters."
            )))
        })?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .expect("AppState is registered");
    if req.extract::<ApiStaff>().await.is_err() {
        // The handler refuses it again, with its own words; nothing stored.
        return Ok(next.call(req).await?.map_into_boxed_body());
    }

    let body = req.extract::<web::Bytes>().await.map_err(|_| {
        ApiError(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "The body is larger than the 2 MB limit.",
        ))
    })?;
    let request_hash = request_hash(&req, &body);
    req.set_payload(actix_web::dev::Payload::from(body));

    let owner_hash = token::hash(&authorization);
    let hash = request_hash.clone();
    let claim = db::run(&state.pool, move |conn| {
        Ok(idempotency::claim(conn, &owner_hash, &key, &hash)?)
    })
    .await
    .map_err(|e| ApiError(Problem::internal(e)))?;
    let claim_id = match claim {
        Claim::Claimed(id) => id,
        Claim::Existing(stored) => return Ok(req.into_response(replay(stored, &request_hash)?)),
    };

    let response = next.call(req).await?;
    let status = response.status();
    let (req, response) = response.into_parts();
    let (response, response_body) = response.into_parts();
    let bytes = body::to_bytes(response_body).await.map_err(|_| {
        ApiError(Problem::internal(anyhow::anyhow!(
            "reading a response to store it for an idempotency key"
        )))
    })?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let outcome = db::run(&state.pool, move |conn| {
        let refused = matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN);
        if status.is_server_error() || refused {
            idempotency::release(conn, claim_id)?;
        } else {
            idempotency::store_response(conn, claim_id, status.as_u16(), &text)?;
        }
        Ok(())
    })
    .await;
    if let Err(e) = outcome {
        tracing::error!(error = ?e, "storing an idempotent response failed");
    }
    let response = response.set_body(bytes).map_into_boxed_body();
    Ok(ServiceResponse::new(req, response))
}

/// What makes two requests "the same": method, path and body.
fn request_hash(req: &ServiceRequest, body: &[u8]) -> String {
    hex::encode(
        Sha256::new()
            .chain_update(req.method().as_str())
            .chain_update(b" ")
            .chain_update(req.path())
            .chain_update(b"\n")
            .chain_update(body)
            .finalize(),
    )
}

fn replay(stored: idempotency::StoredRequest, request_hash: &str) -> Result<HttpResponse, ApiError> {
    if stored.request_hash != request_hash {
        return Err(ApiError(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "This Idempotency-Key was already used with a different request; use a new key.",
        )));
    }
    let (Some(status), Some(body)) = (stored.response_status, stored.response_body) else {
        return Err(ApiError(Problem::conflict(
            "Idempotency-Key",
            "A request with this Idempotency-Key is still being handled; retry in a moment.",
        )));
    };
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    Ok(HttpResponse::build(status)
        .content_type("application/json")
        .insert_header(("Idempotent-Replayed", "true"))
        .body(body))
}
