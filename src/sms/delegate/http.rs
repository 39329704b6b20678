//! `otp.issuer = "http"`: JSON over HTTPS (manual: docs/integrations/code-delegates.md, "Codes from your own
//! system"). `POST {url}/verifications` with `{"phone", "flow_id"}`: any
//! 2xx means sent. `POST {url}/verifications/check` with `{"flow_id",
//! "phone", "code"}`: 200 with `{"approved": true|false}`. Anything else
//! is an outage.

use serde_json::json;
use url::Url;

use super::Verification;
use crate::config::{HttpIssuerConfig, Secret};
use crate::infra::http::{self, Peer};
use crate::sms::answer;

#[derive(Clone)]
pub struct HttpDelegate {
    client: reqwest::Client,
    base: String,
    token: Option<Secret>,
    timeout: std::time::Duration,
}

impl HttpDelegate {
    pub fn new(url: &Url, config: &HttpIssuerConfig) -> HttpDelegate {
        HttpDelegate {
            client: http::client(Peer::Service {
                timeout: Some(config.timeout),
                ca_file: config.ca_file.as_ref(),
            }),
            base: url.as_str().trim_end_matches('/').to_string(),
            token: config.auth_token.clone(),
            timeout: config.timeout,
        }
    }

    pub async fn start(&self, verification: Verification<'_>) -> Result<(), String> {
        let body = json!({"phone": verification.phone.as_str(), "flow_id": verification.flow_id});
        let answer = self.post("verifications", &body).await?;
        if answer.status.is_success() {
            Ok(())
        } else {
            Err(format!("the code service answered HTTP {}", answer.status))
        }
    }

    pub async fn check(&self, verification: Verification<'_>, code: &str) -> Result<bool, String> {
        let body = json!({
            "flow_id": verification.flow_id,
            "phone": verification.phone.as_str(),
            "code": code,
        });
        let answer = self.post("verifications/check", &body).await?;
        if answer.status != reqwest::StatusCode::OK {
            return Err(format!("the code service answered HTTP {}", answer.status));
        }
        answer.json()["approved"]
            .as_bool()
            .ok_or_else(|| "the code service's answer has no boolean \"approved\"".to_string())
    }

    async fn post(&self, path: &str, body: &serde_json::Value) -> Result<answer::Answer, String> {
        let mut request = self.client.post(format!("{}/{path}", self.base)).json(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        answer::send(request, self.timeout)
            .await
            .map_err(|e| e.to_string())
    }
}
