//! For operators and load balancers: liveness, readiness and metrics.

use std::time::Instant;

use actix_web::{
    HttpRequest, HttpResponse,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    get,
    http::header,
    middleware::Next,
    web,
};
use secrecy::ExposeSecret;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::web::error::Problem;
use crate::{db, state::AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(healthz).service(readyz).service(metrics);
}

/// Prometheus metrics (OpenMetrics text). Behind `Authorization: Bearer
/// <BROADSHEET_METRICS_TOKEN>` when that is set.
#[get("/metrics")]
async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, super::error::ApiError> {
    if let Some(expected) = &state.config.metrics_token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !bool::from(given.as_bytes().ct_eq(expected.expose_secret().as_bytes())) {
            return Err(
                Problem::unauthorized("Send the metrics token as `Authorization: Bearer <token>`.").into(),
            );
        }
    }
    let deliveries = db::run(&state.pool, |conn| Ok(db::sends::counts_by_status(conn)?)).await?;
    let text = state.metrics.render(&deliveries)?;
    Ok(HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(text))
}

/// Counts every answer by route pattern and status, and times it.
pub async fn record_metrics(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    // Any token is a valid method: name only the standard ones.
    let method = match req.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m.to_owned(),
        _ => "other".to_owned(),
    };
    let response = next.call(req).await?;
    if let Some(state) = state {
        // The pattern (`/p/{slug}`), never the path: labels stay bounded.
        let route = response
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        state
            .metrics
            .record_request(&method, &route, response.status().as_u16(), started.elapsed());
    }
    Ok(response)
}

/// The process is up and answering.
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The database answers and every migration is applied.
#[get("/readyz")]
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match db::run(&state.pool, db::has_pending_migrations).await {
        Ok(false) => {
            HttpResponse::Ok().json(json!({ "status": "ready", "database": "ok", "migrations": "applied" }))
        }
        Ok(true) => HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "not ready", "database": "ok", "migrations": "pending" })),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "not ready", "database": "unreachable" }))
        }
    }
}
