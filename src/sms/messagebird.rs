//! Bird's (MessageBird's) REST messages API: `POST /messages` with
//! `Authorization: AccessKey <key>` and the JSON `{"recipients": [<msisdn>],
//! "originator": ..., "body": ...}`; 201 with the message's `id`. Errors
//! come back as `{"errors": [{"code": 9, "description": "no (correct)
//! recipients found", "parameter": "recipients"}]}`.

use std::time::Duration;

use serde_json::json;

use super::answer::{self, short};
use super::vonage::base;
use super::{SmsError, SmsMessage};
use crate::config::{MessageBirdConfig, Secret};
use crate::infra::http::{self, Peer};

#[derive(Clone)]
pub struct MessageBird {
    http: reqwest::Client,
    access_key: Secret,
    originator: String,
    base: String,
    timeout: Duration,
}

impl MessageBird {
    pub fn new(config: &MessageBirdConfig) -> MessageBird {
        MessageBird {
            http: http::client(Peer::Service {
                timeout: Some(config.timeout),
                ca_file: None,
            }),
            access_key: config.access_key.clone(),
            originator: config.originator.clone(),
            base: base(&config.base_url),
            timeout: config.timeout,
        }
    }

    fn authorization(&self) -> String {
        format!("AccessKey {}", self.access_key.expose())
    }

    /// Creates the message; its `id`.
    pub async fn send(&self, message: &SmsMessage<'_>) -> Result<Option<String>, SmsError> {
        // An MSISDN: the E.164 digits, as a number.
        let msisdn: u64 = message.phone.as_str()[1..]
            .parse()
            .map_err(|_| SmsError::InvalidNumber("not an MSISDN".into()))?;
        let mut body = json!({
            "recipients": [msisdn],
            "originator": self.originator,
            "body": message.text,
        });
        if !message.text.is_ascii() {
            body["datacoding"] = json!("auto");
        }
        let request = self
            .http
            .post(format!("{}/messages", self.base))
            .header(reqwest::header::AUTHORIZATION, self.authorization())
            .json(&body);
        let answer = answer::send(request, self.timeout).await?;
        let body = answer.json();
        if answer.status.is_success() {
            return Ok(body["id"].as_str().map(str::to_string));
        }
        let error = &body["errors"][0];
        let code = error["code"].as_u64().unwrap_or_default();
        let parameter = error["parameter"].as_str().unwrap_or_default();
        let detail = format!(
            "Bird error {code}: {}",
            short(error["description"].as_str().unwrap_or_default())
        );
        Err(answer.refusal(detail, false, parameter.starts_with("recipient")))
    }

    /// The balance (`GET /balance`): proves the access key, sends nothing.
    pub async fn check(&self) -> Result<String, String> {
        let request = self
            .http
            .get(format!("{}/balance", self.base))
            .header(reqwest::header::AUTHORIZATION, self.authorization());
        let answer = answer::send(request, self.timeout)
            .await
            .map_err(|e| e.to_string())?;
        if answer.status.is_success() {
            return Ok("the access key reads the balance".into());
        }
        let body = answer.json();
        let description = body["errors"][0]["description"]
            .as_str()
            .unwrap_or_default();
        Err(format!("HTTP {}: {}", answer.status, short(description)))
    }
}
