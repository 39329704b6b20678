//! Production sender: POST the message as JSON to the operator's SMS gateway.
//!
//! One call is one attempt, bounded by `timeout`; connection errors, 5xx
//! and 429 come back as transient (with the gateway's `Retry-After`), and
//! the outbox worker decides when to try again. The code is never logged here.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use url::Url;

use super::{answer, SmsError, SmsMessage};
use crate::config::{Secret, WebhookConfig};
use crate::infra::clock::Clock;
use crate::infra::http::{self, Peer};

pub const SIGNATURE_HEADER: &str = "X-Gatehouse-Signature";
/// The header with [`SmsMessage::idempotency_key`].
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

#[derive(Clone)]
pub struct WebhookSender {
    http: reqwest::Client,
    url: Url,
    timeout: Duration,
    bearer_token: Option<Secret>,
    hmac_secret: Option<Secret>,
}

#[derive(serde::Serialize)]
struct Payload<'a> {
    phone: &'a str,
    code: &'a str,
    message: &'a str,
}

impl WebhookSender {
    /// `url`: `sms.webhook.url`, which the webhook sender carries.
    pub fn new(url: &Url, config: &WebhookConfig) -> WebhookSender {
        let http = http::client(Peer::Service {
            timeout: Some(config.timeout),
            ca_file: config.ca_file.as_ref(),
        });
        WebhookSender {
            http,
            url: url.clone(),
            timeout: config.timeout,
            bearer_token: config.bearer_token.clone(),
            hmac_secret: config.hmac_secret.clone(),
        }
    }

    /// One attempt; the webhook gives no message id.
    pub async fn send(&self, message: &SmsMessage<'_>) -> Result<Option<String>, SmsError> {
        let body = serde_json::to_vec(&Payload {
            phone: message.phone.as_str(),
            code: message.code.digits(),
            message: &message.text,
        })
        .expect("payload serializes");
        let mut request = self
            .http
            .post(self.url.clone())
            .timeout(self.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(IDEMPOTENCY_HEADER, message.idempotency_key);
        if let Some(token) = &self.bearer_token {
            request = request.bearer_auth(token.expose());
        }
        // Signed at each attempt, so that a retry carries its own time.
        if let Some(secret) = &self.hmac_secret {
            request = request.header(SIGNATURE_HEADER, sign(secret, Clock::system().now(), &body));
        }
        let answer = answer::send(request.body(body), self.timeout).await?;
        if answer.status.is_success() {
            Ok(None)
        } else if answer.is_busy() {
            Err(answer.unavailable("the webhook is busy or down"))
        } else {
            Err(SmsError::Rejected(format!("HTTP {}", answer.status)))
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
