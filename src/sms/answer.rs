//! What the senders share: reading an answer (bounded), `Retry-After`,
//! and sorting a failed request into [`SmsError`]s.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;

use super::SmsError;
use crate::infra::http::error_chain;

/// A provider's answer is small; anything longer is cut here.
const MAX_ANSWER: usize = 64 * 1024;

/// One answer, read.
pub(super) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// 5xx and 429: the provider is busy or down, worth trying later.
    pub fn is_busy(&self) -> bool {
        self.status.is_server_error() || self.status == StatusCode::TOO_MANY_REQUESTS
    }

    /// [`SmsError::Unavailable`] with `detail` and the answer's `Retry-After`.
    pub fn unavailable(&self, detail: &str) -> SmsError {
        SmsError::Unavailable {
            reason: format!("HTTP {}: {detail}", self.status),
            retry_after: retry_after(&self.headers, SystemTime::now()),
        }
    }

    /// A provider's error answer, told apart the one way every provider
    /// is: busy (the answer's 5xx or 429, or the provider's own `busy`
    /// code) is worth a retry or another gateway, an invalid number is
    /// final, anything else is refused.
    pub fn refusal(&self, detail: String, busy: bool, invalid_number: bool) -> SmsError {
        if busy || self.is_busy() {
            self.unavailable(&detail)
        } else if invalid_number {
            SmsError::InvalidNumber(detail)
        } else {
            SmsError::Rejected(format!("HTTP {}: {detail}", self.status))
        }
    }
}

/// Sends `request` (bounded by `timeout`) and reads the whole answer; a
/// connection error or a timeout is transient.
pub(super) async fn send(
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<Answer, SmsError> {
    let transport = |e: reqwest::Error| {
        if e.is_timeout() {
            SmsError::Timeout(timeout)
        } else {
            // Connection refused/reset: the gateway may be restarting.
            SmsError::Unavailable {
                reason: error_chain(&e),
                retry_after: None,
            }
        }
    };
    let mut response = request.timeout(timeout).send().await.map_err(transport)?;
    let status = response.status();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        let room = MAX_ANSWER.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// `Retry-After` as RFC 9110 defines it: delay-seconds or an HTTP date.
pub(super) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A provider's words, cut to a length fit for a log line.
pub(super) fn short(text: &str) -> String {
    text.chars().take(200).collect()
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
