//! Production sender: POST the message as JSON to the operator's SMS gateway.
//!
//! One call is one attempt, bounded by `timeout`; connection errors, 5xx
//! and 429 come back as transient (with the gateway's `Retry-After`), and
//! the outbox worker decides when to try again. The code is never logged here.

use std::time::{Duration, SystemTime};

use hmac::{Hmac, Mac};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use sha2::Sha256;
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

    pub async fn send(&self, message: &SmsMessage<'_>) -> Result<(), SmsError> {
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
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        if let Some(token) = &self.bearer_token {
            request = request.bearer_auth(token.expose());
        }
        // Signed at each attempt, so that a retry carries its own time.
        if let Some(secret) = &self.hmac_secret {
            request = request.header(SIGNATURE_HEADER, sign(secret, Clock::system().now(), &body));
        }
        match request.body(body).send().await {
            Ok(response) => {
                let status = response.status();
                if status.is_success() {
                    Ok(())
                } else if status.is_server_error()
                    || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                {
                    Err(SmsError::Unavailable {
                        reason: format!("HTTP {status}"),
                        retry_after: retry_after(response.headers(), SystemTime::now()),
                    })
                } else {
                    Err(SmsError::Rejected(status))
                }
            }
            Err(e) if e.is_timeout() => Err(SmsError::Timeout(self.timeout)),
            // Connection refused/reset: the gateway may be restarting.
            Err(e) => Err(SmsError::Unavailable {
                reason: error_chain(&e),
                retry_after: None,
            }),
        }
    }
}

/// `Retry-After` as RFC 9110 defines it: delay-seconds or an HTTP date.
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
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

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn with_retry_after(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(
            retry_after(&with_retry_after("120"), now),
            Some(Duration::from_secs(120))
        );
        // RFC 9110's example date is 5 minutes after `now`.
        assert_eq!(
            retry_after(&with_retry_after("Wed, 21 Oct 2015 07:33:00 GMT"), now),
            Some(Duration::from_secs(300))
        );
        // A date in the past means now; garbage means the gateway said nothing.
        assert_eq!(
            retry_after(&with_retry_after("Wed, 21 Oct 2015 07:00:00 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&with_retry_after("soon"), now), None);
        assert_eq!(retry_after(&with_retry_after("-5"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }
}
