//! For operators and load balancers: liveness and readiness.

use actix_web::{HttpResponse, get, web};
use serde_json::json;

use crate::{db, state::AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(healthz).service(readyz);
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
