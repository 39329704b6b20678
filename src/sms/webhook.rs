//! Production sender: POST the message as JSON to the operator's SMS gateway.
//!
//! Transient failures (connection errors, 5xx, 429) are retried with backoff
//! until `max_attempts` or the overall `timeout`, whichever comes first.
//! The code is never logged here.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::time::Instant;
use url::Url;

use super::{SmsError, SmsMessage};
use crate::config::{Secret, WebhookConfig};
use crate::infra::clock::Clock;
use crate::infra::http::{self, Peer};

pub const SIGNATURE_HEADER: &str = "X-Gatehouse-Signature";

#[derive(Clone)]
pub struct WebhookSender {
    http: reqwest::Client,
    url: Url,
    timeout: Duration,
    max_attempts: u32,
    bearer_token: Option<Secret>,
    hmac_secret: Option<Secret>,
}

#[derive(serde::Serialize)]
struct Payload<'a> {
    phone: &'a str,
    code: &'a str,
    message: &'a str,
}

enum Attempt {
    Retry(String),
    Fatal(SmsError),
}

impl WebhookSender {
    /// `url`: `sms.webhook.url`, which the webhook sender carries.
    pub fn new(url: &Url, config: &WebhookConfig) -> WebhookSender {
        let http = http::client(Peer::Service {
            timeout: None,
            ca_file: config.ca_file.as_ref(),
        });
        WebhookSender {
            http,
            url: url.clone(),
            timeout: config.timeout,
            max_attempts: config.max_attempts,
            bearer_token: config.bearer_token.clone(),
            hmac_secret: config.hmac_secret.clone(),
        }
    }

    pub async fn send(&self, message: &SmsMessage<'_>) -> Result<(), SmsError> {
        let body = serde_json::to_vec(&Payload {
            phone: message.phone.as_str(),
            code: message.code.digits(),
            message: &message.text,
        })
        .expect("payload serializes");
        let deadline = Instant::now() + self.timeout;
        let mut backoff = Duration::from_millis(200);
        let mut last = String::new();
        for attempt in 1..=self.max_attempts {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(SmsError::Timeout(self.timeout));
            }
            match self.attempt(&body, remaining).await {
                Ok(()) => {
                    tracing::info!(phone = %message.phone.masked(), attempt, "SMS handed to the webhook");
                    return Ok(());
                }
                Err(Attempt::Fatal(error)) => {
                    tracing::warn!(phone = %message.phone.masked(), %error, "SMS webhook refused the message");
                    return Err(error);
                }
                Err(Attempt::Retry(reason)) => {
                    tracing::warn!(phone = %message.phone.masked(), attempt, %reason, "SMS webhook attempt failed");
                    last = reason;
                }
            }
            if attempt < self.max_attempts {
                if Instant::now() + backoff >= deadline {
                    return Err(SmsError::Timeout(self.timeout));
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
        Err(SmsError::GaveUp {
            attempts: self.max_attempts,
            last,
        })
    }

    async fn attempt(&self, body: &[u8], limit: Duration) -> Result<(), Attempt> {
        let mut request = self
            .http
            .post(self.url.clone())
            .timeout(limit)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        if let Some(token) = &self.bearer_token {
            request = request.bearer_auth(token.expose());
        }
        // Signed at each attempt, so that a retry carries its own time.
        if let Some(secret) = &self.hmac_secret {
            request = request.header(SIGNATURE_HEADER, sign(secret, Clock::system().now(), body));
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                if status.is_success() {
                    Ok(())
                } else if status.is_server_error()
                    || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                {
                    Err(Attempt::Retry(format!("HTTP {status}")))
                } else {
                    Err(Attempt::Fatal(SmsError::Rejected(status)))
                }
            }
            Err(e) if e.is_timeout() => Err(Attempt::Fatal(SmsError::Timeout(self.timeout))),
            // Connection refused/reset: the gateway may be restarting.
            Err(e) => Err(Attempt::Retry(error_chain(&e))),
        }
    }
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, the
/// scheme Stripe and others use: the time is signed with the body, so a
/// gateway that refuses a `t` more than 5 minutes off cannot be replayed a
/// captured request later.
pub fn sign(secret: &Secret, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// reqwest's top-level message hides the cause ("error sending request").
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
