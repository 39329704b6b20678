//! Native apps and the headless API (`/api/headless/...`) of a [`World`].

use gatehouse::config::{HeadlessClient, Secret};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::answer::Answer;
use super::world::World;
use super::TestApp;

/// The legacy-session exchange endpoint.
pub const EXCHANGE: &str = "/api/headless/token-exchange";

/// Never visited: Hydra only puts the code in it.
pub const NATIVE_REDIRECT_URI: &str = "http://127.0.0.1:9/native-callback";

/// A native app of the headless API: its entry under `[headless]` and its
/// registration in Hydra.
pub struct NativeApp {
    pub id: &'static str,
    pub secret: &'static str,
    pub scope: &'static str,
}

impl NativeApp {
    /// Its entry in `headless.clients`; `token_exchange` lets it exchange
    /// legacy sessions.
    pub fn listed(&self, token_exchange: bool) -> HeadlessClient {
        HeadlessClient {
            client_id: self.id.into(),
            client_secret: Secret::new(self.secret),
            redirect_uri: NATIVE_REDIRECT_URI.into(),
            scope: self.scope.into(),
            token_exchange,
        }
    }

    /// Registers it in Hydra, authenticating at the token endpoint with
    /// `auth_method` (Hydra's default is `client_secret_basic`).
    pub async fn register(&self, app: &TestApp, auth_method: &str) {
        app.create_client(json!({
            "client_id": self.id,
            "client_secret": self.secret,
            "redirect_uris": [NATIVE_REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "scope": self.scope,
            "token_endpoint_auth_method": auth_method,
        }))
        .await;
    }
}

impl World {
    /// POSTs `body` as JSON to `path` on the public port.
    pub async fn post_json(&self, path: &str, body: &Value) -> Answer {
        self.post_body(path, "application/json", body.to_string().into_bytes())
            .await
    }

    /// POSTs `body`, sent as `content_type`, to `path` on the public port.
    pub async fn post_body(&self, path: &str, content_type: &str, body: Vec<u8>) -> Answer {
        let response = self
            .app
            .http
            .post(self.app.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("gatehouse answers");
        Answer::read(response).await
    }

    pub async fn request_otp(&self, phone: &str, client_id: &str, scope: Option<&str>) -> Answer {
        let mut body = json!({"phone": phone, "client_id": client_id});
        if let Some(scope) = scope {
            body["scope"] = json!(scope);
        }
        self.post_json("/api/headless/request-otp", &body).await
    }

    pub async fn verify_otp(&self, session_id: &str, otp: &str) -> Answer {
        let body = json!({"session_id": session_id, "otp": otp});
        self.post_json("/api/headless/verify-otp", &body).await
    }

    /// request-otp that must succeed; returns the session id and the code sent.
    pub async fn start_headless(
        &self,
        phone: &str,
        client_id: &str,
        scope: Option<&str>,
    ) -> (String, String) {
        let answer = self.request_otp(phone, client_id, scope).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let session_id = answer.body["session_id"].as_str().expect("session_id");
        let code = self.sms.code_for(phone).await;
        (session_id.to_string(), code)
    }

    /// `POST /api/headless/token-exchange` of `legacy_token` for `client_id`.
    pub async fn exchange(
        &self,
        legacy_token: &str,
        client_id: &str,
        scope: Option<&str>,
    ) -> Answer {
        let mut body = json!({"legacy_token": legacy_token, "client_id": client_id});
        if let Some(scope) = scope {
            body["scope"] = json!(scope);
        }
        self.post_json(EXCHANGE, &body).await
    }
}
