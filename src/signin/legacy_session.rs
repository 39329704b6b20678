//! Asks the existing system whether one of its session tokens is good, and
//! whose it is (the legacy-session exchange of [`crate::signin::headless`]).
//!
//! `POST {url}` with `{"token": "..."}`: `200 {"subject": "..."}` names the
//! user, 401 or 403 means no. Anything else (a timeout, a refused
//! connection, another status, a body without a subject) is an outage, not a
//! "no": the app should try again later rather than sign the person out.
//!
//! The token is a credential of the other system: it is never logged, never
//! put in an error, and leaves gatehouse only towards the verifier.

use std::time::Duration;

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use url::Url;

use crate::config::{Secret, TokenExchangeConfig};
use crate::infra::http::error_chain;
use crate::infra::http::{self, AnswerError, Peer};

/// A verifier's answer is a short JSON object; more is not read.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// A session token of the existing system, as the app sent it.
/// `Debug` prints no part of it.
#[derive(Clone)]
pub struct LegacyToken(String);

impl LegacyToken {
    pub fn new(token: impl Into<String>) -> LegacyToken {
        LegacyToken(token.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for LegacyToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LegacyToken(redacted)")
    }
}

impl<'de> Deserialize<'de> for LegacyToken {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Through `Value`: serde's own "invalid type" error would quote a
        // number or boolean sent as the token in the 400 answer.
        match Value::deserialize(deserializer)? {
            Value::String(token) => Ok(LegacyToken(token)),
            _ => Err(serde::de::Error::custom("expected a string")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The existing system says the token is not (or no longer) good.
    #[error("the verifier rejected the token")]
    Rejected,
    /// No usable answer; the reason is for the log and names no token.
    #[error("the verifier is unavailable: {0}")]
    Unavailable(String),
}

#[derive(Clone)]
pub struct LegacyVerifier {
    http: reqwest::Client,
    url: Url,
    timeout: Duration,
    bearer_token: Option<Secret>,
}

impl LegacyVerifier {
    /// The verifier, when `[headless.token_exchange] url` is set.
    pub fn from_config(config: &TokenExchangeConfig) -> Option<LegacyVerifier> {
        let url = config.url.clone()?;
        let http = http::client(Peer::Service {
            timeout: None,
            ca_file: config.ca_file.as_ref(),
        });
        Some(LegacyVerifier {
            http,
            url,
            timeout: config.timeout,
            bearer_token: config.bearer_token.clone(),
        })
    }

    /// The subject the existing system names for `token`.
    pub async fn verify(&self, token: &LegacyToken) -> Result<String, VerifyError> {
        let mut request = self
            .http
            .post(self.url.clone())
            .timeout(self.timeout)
            .json(&serde_json::json!({ "token": token.expose() }));
        if let Some(bearer) = &self.bearer_token {
            request = request.bearer_auth(bearer.expose());
        }
        let response = request.send().await.map_err(|e| self.failed(&e))?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(VerifyError::Rejected);
        }
        if status != reqwest::StatusCode::OK {
            return Err(VerifyError::Unavailable(format!("answered HTTP {status}")));
        }
        // The body is not quoted in the reason: a verifier may echo the token.
        match http::json_object(response, MAX_ANSWER_BYTES).await {
            Ok(answer) => match answer.get("subject") {
                Some(Value::String(subject)) if !subject.is_empty() => Ok(subject.clone()),
                _ => Err(VerifyError::Unavailable(
                    "answered 200 without a \"subject\" string".into(),
                )),
            },
            Err(AnswerError::Transport(e)) => Err(self.failed(&e)),
            Err(AnswerError::TooLarge { limit }) => Err(VerifyError::Unavailable(format!(
                "answered more than {limit} bytes"
            ))),
            Err(AnswerError::NotAnObject) => Err(VerifyError::Unavailable(
                "answered 200 with a body that is not a JSON object".into(),
            )),
        }
    }

    fn failed(&self, error: &reqwest::Error) -> VerifyError {
        if error.is_timeout() {
            VerifyError::Unavailable(format!("no answer within {:?}", self.timeout))
        } else {
            VerifyError::Unavailable(error_chain(error))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_from_a_string_only_and_never_printed() {
        #[derive(Debug, Deserialize)]
        struct Body {
            #[allow(dead_code)]
            legacy_token: LegacyToken,
        }
        let body: Body = serde_json::from_str(r#"{"legacy_token": "tok-SECRET"}"#).unwrap();
        assert_eq!(body.legacy_token.expose(), "tok-SECRET");
        assert!(!format!("{body:?}").contains("SECRET"), "{body:?}");

        for not_a_string in ["123456789", "true", "1.5e3", "[\"x\"]", "{\"a\": 1}"] {
            let json = format!(r#"{{"legacy_token": {not_a_string}}}"#);
            let error = serde_json::from_str::<Body>(&json).unwrap_err().to_string();
            assert!(error.contains("expected a string"), "{error}");
            for quoted in ["123456789", "true", "1.5", "\"x\""] {
                assert!(!error.contains(quoted), "{error}");
            }
        }
    }
}
