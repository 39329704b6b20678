//! Turnstile and hCaptcha: the token the provider's widget put in the form,
//! checked at the provider's siteverify endpoint as both document it: a
//! form POST of `secret`, `response` and `remoteip` (and, for hCaptcha,
//! `sitekey`), answered with JSON `{"success": bool, "error-codes": [...]}`.
//! Anything but `"success": true` in a readable answer is a refusal: an
//! error status, no answer in time, or a body that is not that JSON (fail
//! closed).

use std::net::IpAddr;

use serde_json::Value;

use crate::config::{CaptchaConfig, CaptchaProvider, Secret};
use crate::infra::http::{self, Peer};
use crate::infra::metrics::upstream;

/// Turnstile's tokens are at most 2048 characters; hCaptcha's are longer.
/// Anything beyond this is refused without asking.
const MAX_TOKEN_LEN: usize = 8 * 1024;
/// A siteverify answer is a few hundred bytes.
const MAX_ANSWER: usize = 64 * 1024;

#[derive(Clone)]
pub struct CaptchaVerifier {
    provider: CaptchaProvider,
    site_key: String,
    secret: Secret,
    verify_url: url::Url,
    http: reqwest::Client,
}

/// Why a token was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptchaFailure {
    /// The provider said no (its `error-codes`), or the token could not be
    /// one.
    Rejected(Vec<String>),
    /// No usable answer: the provider is down, slow or answers otherwise.
    Unavailable(String),
}

impl CaptchaVerifier {
    pub fn new(config: &CaptchaConfig) -> CaptchaVerifier {
        CaptchaVerifier {
            provider: config.provider,
            site_key: config.site_key.clone(),
            secret: config.secret_key.clone(),
            verify_url: config.verify_url.clone(),
            http: http::client(Peer::Service {
                timeout: Some(config.timeout),
                ca_file: config.ca_file.as_ref(),
            }),
        }
    }

    pub fn provider(&self) -> CaptchaProvider {
        self.provider
    }

    /// Asks the provider whether `token`, sent from `remote_ip`, is good.
    pub async fn verify(&self, token: &str, remote_ip: IpAddr) -> Result<(), CaptchaFailure> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(CaptchaFailure::Rejected(vec!["token-too-long".into()]));
        }
        let remote_ip = remote_ip.to_string();
        let mut form = vec![
            ("secret", self.secret.expose()),
            ("response", token),
            ("remoteip", &remote_ip),
        ];
        if self.provider == CaptchaProvider::Hcaptcha {
            form.push(("sitekey", &self.site_key));
        }
        let sent = self.http.post(self.verify_url.clone()).form(&form).send();
        let response = upstream(sent)
            .await
            .map_err(|e| CaptchaFailure::Unavailable(e.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(CaptchaFailure::Unavailable(format!("answered {status}")));
        }
        let answer = upstream(http::json_object(response, MAX_ANSWER))
            .await
            .map_err(|e| CaptchaFailure::Unavailable(format!("unreadable answer: {e:?}")))?;
        match answer.get("success") {
            Some(Value::Bool(true)) => Ok(()),
            Some(Value::Bool(false)) => Err(CaptchaFailure::Rejected(error_codes(&answer))),
            _ => Err(CaptchaFailure::Unavailable(
                "the answer has no boolean \"success\"".into(),
            )),
        }
    }
}

/// The provider's reasons, as short strings for the log.
fn error_codes(answer: &serde_json::Map<String, Value>) -> Vec<String> {
    answer
        .get("error-codes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .take(8)
        .map(|code| code.chars().take(64).collect())
        .collect()
}
