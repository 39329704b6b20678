//! Hydra's token hook (`oauth2.token_hook`): at every token Hydra issues (a
//! code exchanged, a token refreshed) it asks gatehouse first. A person the
//! user directory no longer has, or has disabled, gets no more tokens
//! (403), and everyone else's claims are read again from the directory
//! (honouring `directory.cache_ttl`), so a profile change shows at the next
//! refresh.
//!
//! It listens on its own loopback port, never on the public one, and Hydra
//! authenticates with a key generated at each start.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::hydra::config_file::{TokenHook, TOKEN_HOOK_HEADER};
use crate::infra::random::random_hex;
use crate::signin::accept::Acceptor;

const PATH: &str = "/token-hook";

/// The hook's listener, bound before Hydra starts (Hydra's configuration
/// names its port), and the key Hydra sends.
pub struct TokenHookListener {
    listener: TcpListener,
    hook: TokenHook,
}

impl TokenHookListener {
    /// Binds a free port on 127.0.0.1 and makes a new key.
    pub async fn bind() -> std::io::Result<TokenHookListener> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let url = format!("http://{}{PATH}", listener.local_addr()?);
        let hook = TokenHook {
            url: url.parse().map_err(std::io::Error::other)?,
            secret: random_hex(32),
        };
        Ok(TokenHookListener { listener, hook })
    }

    /// What Hydra's configuration needs.
    pub fn hook(&self) -> &TokenHook {
        &self.hook
    }

    /// Serves the hook until the task is aborted.
    pub fn spawn(self, accept: Acceptor) -> JoinHandle<std::io::Result<()>> {
        let state = HookState {
            accept,
            secret: self.hook.secret.into(),
        };
        let router = Router::new()
            .route(PATH, post(token_hook))
            .with_state(state);
        tokio::spawn(async move { axum::serve(self.listener, router).await })
    }
}

#[derive(Clone)]
struct HookState {
    accept: Acceptor,
    secret: Arc<str>,
}

/// What gatehouse reads of Hydra's hook request.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HookRequest {
    session: HookSession,
    request: HookGrant,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HookSession {
    id_token: HookIdToken,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HookIdToken {
    /// The login subject; empty for a client's own tokens (client credentials).
    subject: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HookGrant {
    client_id: String,
    granted_scopes: Vec<String>,
}

async fn token_hook(
    State(state): State<HookState>,
    headers: HeaderMap,
    body: Result<Json<HookRequest>, JsonRejection>,
) -> Response {
    let key = headers
        .get(TOKEN_HOOK_HEADER)
        .map(|value| value.as_bytes())
        .unwrap_or_default();
    if !bool::from(key.ct_eq(state.secret.as_bytes())) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Ok(Json(hook)) = body else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let subject = hook.session.id_token.subject;
    if subject.is_empty() {
        // A client's own token: no person to check.
        return StatusCode::NO_CONTENT.into_response();
    }
    let client_id = hook.request.client_id;
    match state
        .accept
        .current_claims(&subject, &hook.request.granted_scopes)
        .await
    {
        Ok(Some(session)) => Json(json!({ "session": session })).into_response(),
        Ok(None) => {
            tracing::info!(%client_id, subject = ?subject.chars().take(64).collect::<String>(),
                "no token: the person is disabled or gone from the user directory");
            StatusCode::FORBIDDEN.into_response()
        }
        // Fail closed: Hydra answers the client with a server error, and
        // the token can be asked for again once the directory is back.
        Err(error) => {
            tracing::error!(%error, %client_id, "token hook: the user directory failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
