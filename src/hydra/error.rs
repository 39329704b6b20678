//! What can go wrong talking to Hydra's admin API, and how Hydra's answers
//! become values: a 2xx body is decoded as JSON, anything else becomes the
//! [`HydraError`] variant callers tell apart (unknown, already handled,
//! conflict, refused, down).
//!
//! Kept apart from the client so the mapping, which must never fail whatever
//! Hydra sends, can be read and tested on its own.

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

/// How much of an unexpected error body is kept in the error.
const BODY_EXCERPT: usize = 300;

/// A failed call to Hydra's admin API, by what the caller does about it.
#[derive(Debug, thiserror::Error)]
pub enum HydraError {
    #[error("Hydra is not reachable at {url}: {source}")]
    Unreachable { url: String, source: reqwest::Error },
    /// 404: no such challenge, client or resource.
    #[error("Hydra knows nothing at {url}: {description}")]
    NotFound { url: String, description: String },
    /// 410: the request was already handled; Hydra names the URL that starts
    /// the flow again. Hydra v2.3.0 login and consent challenges are
    /// stateless and never answer 410 (only the consent verifier is single
    /// use); a logout request does, once its verifier was used.
    #[error("the request at {url} was already handled")]
    Gone {
        url: String,
        redirect_to: Option<String>,
    },
    /// 409: for example a client id that already exists.
    #[error("Hydra refused {url} as a conflict: {description}")]
    Conflict { url: String, description: String },
    /// 400: Hydra's OAuth2 error, e.g. `invalid_client_metadata`.
    #[error("Hydra refused {url}: {description} ({error})")]
    BadRequest {
        url: String,
        error: String,
        description: String,
    },
    #[error("Hydra answered {status} to {url}: {body}")]
    Status {
        url: String,
        status: StatusCode,
        body: String,
    },
    #[error("Hydra's answer from {url} is not what gatehouse expects: {message}")]
    Decode { url: String, message: String },
}

pub(super) async fn decode<T: DeserializeOwned>(
    response: reqwest::Response,
    url: &Url,
) -> Result<T, HydraError> {
    let body = response
        .bytes()
        .await
        .map_err(|source| HydraError::Unreachable {
            url: url.to_string(),
            source,
        })?;
    serde_json::from_slice(&body).map_err(|e| HydraError::Decode {
        url: url.to_string(),
        message: e.to_string(),
    })
}

/// Turns a non-2xx answer into a [`HydraError`]. Never fails, whatever the body.
pub(super) fn error_from_answer(url: &Url, status: StatusCode, body: &[u8]) -> HydraError {
    let url = url.to_string();
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let (error, description) = oauth2_error(&json);
    let description = description
        .or_else(|| error.clone())
        .unwrap_or_else(|| excerpt(body));
    match status {
        StatusCode::NOT_FOUND => HydraError::NotFound { url, description },
        StatusCode::GONE => HydraError::Gone {
            url,
            redirect_to: json["redirect_to"].as_str().map(str::to_owned),
        },
        StatusCode::CONFLICT => HydraError::Conflict { url, description },
        StatusCode::BAD_REQUEST => HydraError::BadRequest {
            url,
            error: error.unwrap_or_else(|| "invalid_request".into()),
            description,
        },
        _ => HydraError::Status {
            url,
            status,
            body: excerpt(body),
        },
    }
}

/// Reads Hydra's error document: usually the OAuth2 shape
/// `{error, error_description}`, sometimes `{error: {status, message, reason}}`.
fn oauth2_error(json: &Value) -> (Option<String>, Option<String>) {
    let text = |value: &Value| {
        value
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(one_line)
    };
    match &json["error"] {
        Value::Object(inner) => {
            let message = inner.get("message").and_then(text);
            let reason = inner.get("reason").and_then(text);
            let description = match (message, reason) {
                (Some(m), Some(r)) => Some(format!("{m} {r}")),
                (m, r) => m.or(r),
            };
            (inner.get("status").and_then(text), description)
        }
        error => (text(error), text(&json["error_description"])),
    }
}

/// At most [`BODY_EXCERPT`] characters of `body`, on one line.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = one_line(&text);
    match text.char_indices().nth(BODY_EXCERPT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_error_variants() {
        let url = Url::parse("http://h/x").unwrap();
        let gone = error_from_answer(
            &url,
            StatusCode::GONE,
            br#"{"redirect_to":"http://app/oauth2/auth?x=1"}"#,
        );
        assert!(
            matches!(gone, HydraError::Gone { redirect_to: Some(ref r), .. } if r == "http://app/oauth2/auth?x=1"),
            "{gone:?}"
        );
        let bad = error_from_answer(
            &url,
            StatusCode::BAD_REQUEST,
            br#"{"error":"invalid_client_metadata","error_description":"The redirect URI\nis bad."}"#,
        );
        assert!(
            matches!(&bad, HydraError::BadRequest { error, description, .. }
                if error == "invalid_client_metadata" && description == "The redirect URI is bad."),
            "{bad:?}"
        );
        let not_found = error_from_answer(
            &url,
            StatusCode::NOT_FOUND,
            br#"{"error":{"code":404,"status":"Not Found","message":"Unable to locate the resource"}}"#,
        );
        assert!(
            matches!(&not_found, HydraError::NotFound { description, .. } if description == "Unable to locate the resource"),
            "{not_found:?}"
        );
        let conflict = error_from_answer(&url, StatusCode::CONFLICT, b"");
        assert!(
            matches!(conflict, HydraError::Conflict { .. }),
            "{conflict:?}"
        );
        let gone_without_body = error_from_answer(&url, StatusCode::GONE, b"<html>");
        assert!(matches!(
            gone_without_body,
            HydraError::Gone {
                redirect_to: None,
                ..
            }
        ));
    }

    #[test]
    fn garbage_error_bodies_never_panic() {
        let url = Url::parse("http://h/x").unwrap();
        let long = "é".repeat(2 * BODY_EXCERPT);
        for body in [
            &[0xff, 0xfe, 0x00][..],
            b"[1,2,3]",
            b"null",
            br#"{"error":42,"error_description":{"a":1}}"#,
            long.as_bytes(),
        ] {
            for status in [400, 401, 404, 409, 410, 500, 503] {
                let status = StatusCode::from_u16(status).unwrap();
                let error = error_from_answer(&url, status, body).to_string();
                assert!(!error.contains('\n'), "{error}");
                assert!(error.chars().count() < BODY_EXCERPT + 200, "{error}");
            }
        }
    }
}
