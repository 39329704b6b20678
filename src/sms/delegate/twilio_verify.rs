//! `otp.issuer = "twilio_verify"`: Twilio Verify v2, form fields and HTTP
//! basic auth (account SID, auth token).
//!
//! `POST {base}/v2/Services/{ServiceSid}/Verifications` (`To`,
//! `Channel=sms`) answers 201 with the Verification (`status: pending`).
//! `POST {base}/v2/Services/{ServiceSid}/VerificationCheck` (`To`, `Code`)
//! answers 200 with `status`: `approved` for the right code, `pending` for
//! a wrong one; 404 (error 20404) when Twilio no longer has the
//! verification (expired, approved, or its own tries used up): not
//! approved. Any other answer (401, 429, 5xx, a timeout) is an outage.
//! Twilio keeps one verification per number, so the flow is bound by
//! gatehouse (it only checks a code in the flow it sent one for).

use std::time::Duration;

use super::Verification;
use crate::config::{Secret, TwilioVerifyConfig};
use crate::infra::http::{self, Peer};
use crate::sms::answer;

#[derive(Clone)]
pub struct TwilioVerify {
    client: reqwest::Client,
    account_sid: String,
    auth_token: Secret,
    /// `{base_url}/v2/Services/{ServiceSid}`.
    service_url: String,
    timeout: Duration,
}

impl TwilioVerify {
    /// None when a credential is missing (the configuration checks refuse that).
    pub fn new(config: &TwilioVerifyConfig) -> Option<TwilioVerify> {
        let base = config.base_url.as_str().trim_end_matches('/');
        let service_sid = config.service_sid.as_ref()?;
        Some(TwilioVerify {
            client: http::client(Peer::Service {
                timeout: Some(config.timeout),
                ca_file: config.ca_file.as_ref(),
            }),
            account_sid: config.account_sid.clone()?,
            auth_token: config.auth_token.clone()?,
            service_url: format!("{base}/v2/Services/{service_sid}"),
            timeout: config.timeout,
        })
    }

    /// Fetches the Verify Service (`GET {base}/v2/Services/{ServiceSid}`):
    /// proves the credentials and the service SID, sends nothing.
    pub async fn probe(&self) -> Result<String, String> {
        let request = self
            .client
            .get(&self.service_url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose()));
        let answer = answer::send(request, self.timeout)
            .await
            .map_err(|e| e.to_string())?;
        if !answer.status.is_success() {
            return Err(twilio_error(&answer));
        }
        let body = answer.json();
        let length = body["code_length"].as_u64().unwrap_or_default();
        Ok(format!(
            "Twilio Verify service {} accepted the credentials; its codes have {length} digits \
             (nothing sent)",
            body["sid"].as_str().unwrap_or_default()
        ))
    }

    pub async fn start(&self, verification: Verification<'_>) -> Result<(), String> {
        let form = [("To", verification.phone.as_str()), ("Channel", "sms")];
        let answer = self.post("Verifications", &form).await?;
        if answer.status.is_success() {
            return Ok(());
        }
        Err(twilio_error(&answer))
    }

    pub async fn check(&self, verification: Verification<'_>, code: &str) -> Result<bool, String> {
        let form = [("To", verification.phone.as_str()), ("Code", code)];
        let answer = self.post("VerificationCheck", &form).await?;
        if answer.status == reqwest::StatusCode::NOT_FOUND {
            return Ok(false);
        }
        if !answer.status.is_success() {
            return Err(twilio_error(&answer));
        }
        match answer.json()["status"].as_str() {
            Some("approved") => Ok(true),
            Some(_) => Ok(false),
            None => Err("Twilio Verify answered without a status".to_string()),
        }
    }

    async fn post(&self, resource: &str, form: &[(&str, &str)]) -> Result<answer::Answer, String> {
        let request = self
            .client
            .post(format!("{}/{resource}", self.service_url))
            .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
            .form(form);
        answer::send(request, self.timeout)
            .await
            .map_err(|e| e.to_string())
    }
}

/// Twilio's error body: `{"code": 60203, "message": "...", "more_info":
/// "...", "status": 429}`; the code and HTTP status only (the message may
/// repeat the number).
fn twilio_error(answer: &answer::Answer) -> String {
    let code = answer.json()["code"].as_u64().unwrap_or_default();
    format!(
        "Twilio Verify answered HTTP {} (error {code})",
        answer.status
    )
}
