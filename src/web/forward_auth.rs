//! `GET /auth/verify`: the forward-auth endpoint for reverse proxies.

use std::borrow::Cow;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::api_error::error_response;
use crate::forward_auth::{Denied, Principal};
use crate::web::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct VerifyQuery {
    /// Scopes the proxy configuration requires, space- or comma-separated.
    scope: Option<String>,
}

pub async fn verify(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    query: Result<Query<VerifyQuery>, axum::extract::rejection::QueryRejection>,
    // The request itself, not its headers: those would be copied.
    request: Request,
) -> Response {
    let headers = request.headers();
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
    let target = original_target(&state, peer, headers);
    match state
        .forward_auth
        .check(token, target.as_deref(), &extra)
        .await
    {
        Ok(principal) => allowed(&state, &principal),
        Err(Denied::MissingToken | Denied::InvalidToken) => {
            challenge(StatusCode::UNAUTHORIZED, r#"Bearer error="invalid_token""#)
        }
        Err(Denied::InsufficientScope(scope)) => challenge(
            StatusCode::FORBIDDEN,
            &format!(r#"Bearer error="insufficient_scope", scope="{scope}""#),
        ),
        // Debug only: anyone can send these to the public port, and a log
        // line each would be theirs to flood.
        Err(error @ Denied::NoPath(_)) => {
            tracing::debug!(%peer, %error, "forward auth: no path to check");
            error_response(StatusCode::FORBIDDEN, "access_denied", &error.to_string())
        }
        Err(error @ Denied::BadPath(_)) => {
            tracing::debug!(%error, "forward auth: path refused");
            error_response(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &error.to_string(),
            )
        }
        Err(error @ (Denied::Unavailable(_) | Denied::KeysUnavailable(_))) => {
            tracing::error!(%error, "forward auth cannot check tokens");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// 200 with who the token is for, and the claims the configuration asks
/// for, as headers for the upstream.
fn allowed(state: &AppState, principal: &Principal) -> Response {
    let mut response = StatusCode::OK.into_response();
    let out = response.headers_mut();
    // Room for these and the headers every answer gets, at once.
    out.reserve(16);
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

fn challenge(status: StatusCode, www_authenticate: &str) -> Response {
    let mut response = status.into_response();
    if let Ok(value) = HeaderValue::from_str(www_authenticate) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The original request's target as the proxy reports it in
/// `forward_auth.uri_header`: believed only from `server.trusted_proxies`,
/// and only when sent once (a second copy may be the client's own).
/// Non-ASCII bytes survive as U+FFFD, which the path check refuses.
fn original_target<'h>(
    state: &AppState,
    peer: SocketAddr,
    headers: &'h HeaderMap,
) -> Option<Cow<'h, str>> {
    let trusted = &state.config.server.trusted_proxies;
    if !trusted.contains(&peer.ip().to_canonical()) {
        return None;
    }
    let mut values = headers
        .get_all(&state.config.forward_auth.uri_header)
        .iter();
    match (values.next(), values.next()) {
        (Some(value), None) => Some(String::from_utf8_lossy(value.as_bytes())),
        _ => None,
    }
}
