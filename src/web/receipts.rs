//! Delivery receipts from SMS providers (`POST /sms/receipts/twilio`):
//! the provider's own signature decides, so no CSRF token or session is
//! asked for. Twilio wants a 2xx; it learns nothing else from the answer.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use crate::signin::otp::receipts::ReceiptError;
use crate::web::AppState;

/// Twilio's status callback.
pub async fn twilio(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let signature = headers
        .get("x-twilio-signature")
        .and_then(|value| value.to_str().ok());
    match state.receipts.twilio(signature, &params).await {
        Ok(()) => StatusCode::NO_CONTENT,
        Err(ReceiptError::NotConfigured) => StatusCode::NOT_FOUND,
        Err(error @ ReceiptError::BadSignature) => {
            tracing::warn!(%error, "refused a Twilio status callback");
            StatusCode::FORBIDDEN
        }
        Err(ReceiptError::Store(error)) => {
            tracing::error!(%error, "cannot record a delivery receipt");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}
