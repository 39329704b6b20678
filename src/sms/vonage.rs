//! Vonage's SMS API: `POST /sms/json` with form fields `api_key`,
//! `api_secret`, `from`, `to` (E.164 without the `+`) and `text` (plus
//! `type=unicode` for text beyond ASCII). Vonage answers HTTP 200 whatever
//! happened; each message's `status` says: "0" sent (with its
//! `message-id`), else an error with its `error-text`.

use std::time::Duration;

use url::Url;

use super::answer::{self, short};
use super::{SmsError, SmsMessage};
use crate::config::{Secret, VonageConfig};
use crate::infra::http::{self, Peer};

#[derive(Clone)]
pub struct Vonage {
    http: reqwest::Client,
    api_key: String,
    api_secret: Secret,
    from: String,
    base: String,
    timeout: Duration,
}

impl Vonage {
    pub fn new(config: &VonageConfig) -> Vonage {
        Vonage {
            http: http::client(Peer::Service {
                timeout: Some(config.timeout),
                ca_file: None,
            }),
            api_key: config.api_key.clone(),
            api_secret: config.api_secret.clone(),
            from: config.from.clone(),
            base: base(&config.base_url),
            timeout: config.timeout,
        }
    }

    /// Sends the message; its `message-id`.
    pub async fn send(&self, message: &SmsMessage<'_>) -> Result<Option<String>, SmsError> {
        let to = message.phone.as_str().trim_start_matches('+');
        let mut form = vec![
            ("api_key", self.api_key.as_str()),
            ("api_secret", self.api_secret.expose()),
            ("from", &self.from),
            ("to", to),
            ("text", &message.text),
        ];
        if !message.text.is_ascii() {
            form.push(("type", "unicode"));
        }
        let request = self
            .http
            .post(format!("{}/sms/json", self.base))
            .form(&form);
        let answer = answer::send(request, self.timeout).await?;
        if answer.is_busy() {
            return Err(answer.unavailable("Vonage is busy or down"));
        }
        if !answer.status.is_success() {
            return Err(SmsError::Rejected(format!("HTTP {}", answer.status)));
        }
        let body = answer.json();
        let first = &body["messages"][0];
        let status = first["status"].as_str().unwrap_or("(none)");
        let detail = format!(
            "Vonage status {status}: {}",
            short(first["error-text"].as_str().unwrap_or_default())
        );
        match status {
            "0" => Ok(first["message-id"].as_str().map(str::to_string)),
            // Throttled; internal error; too many binds: try again later.
            "1" | "5" | "10" => Err(SmsError::Unavailable {
                reason: detail,
                retry_after: None,
            }),
            // Invalid message (an unknown number prefix); number barred.
            "6" | "7" => Err(SmsError::InvalidNumber(detail)),
            // Invalid parameters: final when it is the `to` number.
            "3" if names_the_recipient(first["error-text"].as_str().unwrap_or_default()) => {
                Err(SmsError::InvalidNumber(detail))
            }
            _ => Err(SmsError::Rejected(detail)),
        }
    }

    /// The account balance (`GET /account/get-balance`): proves the
    /// credentials and sends nothing.
    pub async fn check(&self) -> Result<String, String> {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("api_key", &self.api_key)
            .append_pair("api_secret", self.api_secret.expose())
            .finish();
        let request = self
            .http
            .get(format!("{}/account/get-balance?{query}", self.base));
        let answer = answer::send(request, self.timeout)
            .await
            .map_err(|e| e.to_string())?;
        if answer.status.is_success() {
            return Ok(format!("account {} answers its balance", self.api_key));
        }
        Err(format!("HTTP {}: {}", answer.status, short(&answer.text())))
    }
}

/// The base URL without its trailing slash.
pub(super) fn base(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_string()
}

/// "Invalid to address", "Missing to param": the word `to` in Vonage's
/// error text.
fn names_the_recipient(error_text: &str) -> bool {
    error_text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| word.eq_ignore_ascii_case("to"))
}

#[cfg(test)]
mod tests {
    use super::names_the_recipient;

    #[test]
    fn only_errors_about_the_to_number_are_about_the_recipient() {
        assert!(names_the_recipient("Invalid to address"));
        assert!(names_the_recipient("Missing to param"));
        assert!(!names_the_recipient("Invalid from address"));
        assert!(!names_the_recipient("Invalid Parameters"));
        assert!(!names_the_recipient("Bad tonality"));
    }
}
