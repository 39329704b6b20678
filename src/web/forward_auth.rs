//! `GET /auth/verify`: the forward-auth endpoint for reverse proxies.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::forward_auth::Denied;
use crate::web::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct VerifyQuery {
    /// Scopes the proxy configuration requires, space- or comma-separated.
    scope: Option<String>,
}

pub async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<VerifyQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let extra: Vec<String> = query
        .ok()
        .and_then(|Query(q)| q.scope)
        .unwrap_or_default()
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let path = original_path(&headers);
    match state.forward_auth.check(token, &path, &extra).await {
        Ok(principal) => {
            let mut response = StatusCode::OK.into_response();
            let out = response.headers_mut();
            for (name, value) in [
                ("x-auth-subject", principal.subject.as_str()),
                ("x-auth-client-id", principal.client_id.as_str()),
                ("x-auth-scope", &principal.scopes.join(" ")),
            ] {
                if let Ok(value) = HeaderValue::from_str(value) {
                    out.insert(HeaderName::from_static(name), value);
                }
            }
            for (claim, name) in &state.config.forward_auth.claim_headers {
                let value = match principal.claims.get(claim) {
                    Some(serde_json::Value::String(text)) => text.clone(),
                    Some(serde_json::Value::Null) | None => continue,
                    Some(other) => other.to_string(),
                };
                if let Ok(value) = HeaderValue::from_str(&value) {
                    out.insert(name.clone(), value);
                }
            }
            response
        }
        Err(Denied::MissingToken | Denied::InvalidToken) => {
            challenge(StatusCode::UNAUTHORIZED, r#"Bearer error="invalid_token""#)
        }
        Err(Denied::InsufficientScope(scope)) => challenge(
            StatusCode::FORBIDDEN,
            &format!(r#"Bearer error="insufficient_scope", scope="{scope}""#),
        ),
        Err(error @ (Denied::Unavailable(_) | Denied::KeysUnavailable(_))) => {
            tracing::error!(%error, "forward auth cannot check tokens");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

fn challenge(status: StatusCode, www_authenticate: &str) -> Response {
    let mut response = status.into_response();
    if let Ok(value) = HeaderValue::from_str(www_authenticate) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The path of the request the proxy is asking about: nginx sends
/// X-Original-URI, Traefik and Caddy X-Forwarded-Uri.
fn original_path(headers: &HeaderMap) -> String {
    let uri = ["x-original-uri", "x-forwarded-uri"]
        .iter()
        .find_map(|name| headers.get(*name).and_then(|v| v.to_str().ok()))
        .unwrap_or("/");
    uri.split('?').next().unwrap_or("/").to_string()
}
