//! A typed client for the parts of Hydra's admin API gatehouse uses.

use std::time::Duration;

use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum HydraError {
    #[error("Hydra is not reachable at {url}: {source}")]
    Unreachable { url: String, source: reqwest::Error },
    #[error("Hydra answered {status} to {url}: {body}")]
    Status {
        url: String,
        status: reqwest::StatusCode,
        body: String,
    },
}

#[derive(Clone)]
pub struct HydraClient {
    http: reqwest::Client,
    admin_url: Url,
}

impl HydraClient {
    pub fn new(admin_url: Url) -> HydraClient {
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(15))
            .build()
            .expect("reqwest client with static settings");
        HydraClient { http, admin_url }
    }

    pub fn admin_url(&self) -> &Url {
        &self.admin_url
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.admin_url.as_str().trim_end_matches('/'), path)
    }

    /// `GET /health/ready` on the admin port, with a short timeout.
    pub async fn ready(&self) -> Result<(), HydraError> {
        let url = self.endpoint("/health/ready");
        let response = self
            .http
            .get(&url)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .map_err(|source| HydraError::Unreachable {
                url: url.clone(),
                source,
            })?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            let body = response.text().await.unwrap_or_default();
            Err(HydraError::Status { url, status, body })
        }
    }
}
