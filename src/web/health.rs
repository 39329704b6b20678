//! Liveness and readiness, for systemd, load balancers and tests.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use crate::web::AppState;

/// The process is up and serving HTTP.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// The store answers and Hydra reports ready; 503 otherwise.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let (database, hydra) = tokio::join!(state.store.ping(), state.hydra.ready());
    let describe = |result: Result<(), String>| match result {
        Ok(()) => "ok".to_string(),
        Err(e) => e,
    };
    let ready = database.is_ok() && hydra.is_ok();
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "checks": {
            "database": describe(database.map_err(|e| e.to_string())),
            "hydra": describe(hydra.map_err(|e| e.to_string())),
        }
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

pub async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": "not_found", "error_description": "no such endpoint" })),
    )
}
