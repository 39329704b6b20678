//! Delivery receipts from SMS providers (`POST /sms/receipts/twilio`,
//! `GET` or `POST /sms/receipts/vonage`): the provider's own signature
//! decides, so no CSRF token or session is asked for. The providers want
//! a 2xx; they learn nothing else from the answer.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use serde_json::Value;

use crate::signin::otp::receipts::ReceiptError;
use crate::web::AppState;

/// Twilio's status callback.
pub async fn twilio(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let signature = headers
        .get("x-twilio-signature")
        .and_then(|value| value.to_str().ok());
    answer("Twilio", state.receipts.twilio(signature, &params).await)
}

/// Vonage's delivery receipt: in the query (`GET`), a form or a JSON
/// object (`POST` and `POST-JSON` in Vonage's dashboard).
pub async fn vonage(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    let params = if json {
        match json_params(&body) {
            Some(params) => params,
            None => return StatusCode::BAD_REQUEST,
        }
    } else if body.is_empty() {
        let query = query.unwrap_or_default();
        url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    } else {
        url::form_urlencoded::parse(&body).into_owned().collect()
    };
    answer("Vonage", state.receipts.vonage(&params).await)
}

/// A flat JSON object's members as parameters, numbers and booleans as
/// their text; anything else is not a receipt.
fn json_params(body: &[u8]) -> Option<Vec<(String, String)>> {
    let Ok(Value::Object(members)) = serde_json::from_slice(body) else {
        return None;
    };
    members
        .into_iter()
        .map(|(name, value)| match value {
            Value::String(text) => Some((name, text)),
            Value::Number(_) | Value::Bool(_) => Some((name, value.to_string())),
            _ => None,
        })
        .collect()
}

fn answer(provider: &str, result: Result<(), ReceiptError>) -> StatusCode {
    match result {
        Ok(()) => StatusCode::NO_CONTENT,
        Err(ReceiptError::NotConfigured) => StatusCode::NOT_FOUND,
        Err(error @ ReceiptError::BadSignature) => {
            tracing::warn!(%error, provider, "refused a delivery receipt");
            StatusCode::FORBIDDEN
        }
        Err(ReceiptError::Store(error)) => {
            tracing::error!(%error, provider, "cannot record a delivery receipt");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}
