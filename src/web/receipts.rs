//! Delivery receipts from SMS providers (`POST /sms/receipts/twilio`,
//! `GET` or `POST /sms/receipts/vonage`): the provider's own signature
//! decides, so no CSRF token or session is asked for. The providers want
//! a 2xx; they learn nothing else from the answer.

use std::fmt;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::{Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
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
/// object (`POST` and `POST-JSON` in Vonage's dashboard), never in both
/// the query and the body (400: which would count?).
pub async fn vonage(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    if !state.receipts.reads_vonage() {
        return StatusCode::NOT_FOUND;
    }
    let query = query.filter(|query| !query.is_empty());
    if query.is_some() && !body.is_empty() {
        return StatusCode::BAD_REQUEST;
    }
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

/// A flat JSON object's members in order, a repeated name kept twice (so
/// the signature check refuses it, as in a query or form), numbers and
/// booleans as their text; anything else is not a receipt.
fn json_params(body: &[u8]) -> Option<Vec<(String, String)>> {
    serde_json::from_slice::<Members>(body)
        .ok()
        .map(|members| members.0)
}

struct Members(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MembersVisitor)
    }
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Members;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a flat JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
        let mut members = Vec::new();
        while let Some((name, value)) = map.next_entry::<String, Value>()? {
            let text = match value {
                Value::String(text) => text,
                Value::Number(_) | Value::Bool(_) => value.to_string(),
                _ => return Err(A::Error::custom("not a string, number or boolean")),
            };
            members.push((name, text));
        }
        Ok(Members(members))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_receipts_keep_every_member_in_order() {
        let body = br#"{"status":"delivered","timestamp":1461605396,"sig":"a","sig":"b"}"#;
        let params = json_params(body).unwrap();
        let names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["status", "timestamp", "sig", "sig"]);
        assert_eq!(params[1].1, "1461605396");
        for refused in [
            &br#"{"messageId":{"$ne":""}}"#[..],
            br#"{"status":["delivered"]}"#,
            br#"{"status":null}"#,
            br#"["status","delivered"]"#,
            br#"{"status":"delivered"} trailing"#,
            b"status=delivered",
        ] {
            assert!(
                json_params(refused).is_none(),
                "{:?}",
                String::from_utf8_lossy(refused)
            );
        }
    }
}
