//! Liveness and readiness, for systemd, load balancers and tests.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// How long readiness waits for the database: a load balancer must hear
/// "not ready" at once, not after the lock someone holds is released.
const DATABASE_WAIT: Duration = Duration::from_millis(800);

/// The database can take writes and Hydra reports ready; 503 otherwise. The
/// public port says only which check failed; why goes to the log (internal
/// addresses and error texts are no one else's business).
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs() as i64);
    let (database, hydra) =
        tokio::join!(state.store.ready(DATABASE_WAIT, now), state.hydra.ready());
    let ready = database.is_ok() && hydra.is_ok();
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "checks": {
            "database": check("database", database),
            "hydra": check("hydra", hydra),
        }
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

/// "ok", or "failing" with the reason logged.
fn check<E: std::fmt::Display>(name: &str, result: Result<(), E>) -> &'static str {
    match result {
        Ok(()) => "ok",
        Err(error) => {
            tracing::warn!(check = name, %error, "not ready");
            "failing"
        }
    }
}

pub async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": "not_found", "error_description": "no such endpoint" })),
    )
}
