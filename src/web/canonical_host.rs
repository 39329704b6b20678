//! Browser pages only work on the public origin: Hydra's CSRF and session
//! cookies belong to one host name, and a sign-in started on another name
//! (an IP address, an old alias) fails with a cryptic CSRF error. So a
//! browser that arrives under another name is sent to the public origin.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::web::AppState;

/// Paths a person's browser opens; APIs and health checks are left alone.
const BROWSER_PATHS: &[&str] = &[
    "/login",
    "/consent",
    "/logout",
    "/logged-out",
    "/error",
    "/oauth2/auth",
    "/oauth2/sessions/logout",
    "/account",
    "/account/signin",
    "/account/callback",
];

pub async fn redirect_other_hosts(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::GET || !BROWSER_PATHS.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let trusted_proxy = state
        .config
        .server
        .trusted_proxies
        .contains(&peer.ip().to_canonical());
    // Behind a proxy the Host header is the proxy's business; only the
    // X-Forwarded-Host it reports (if any) says what the browser used.
    let seen = if trusted_proxy {
        headers.get("x-forwarded-host")
    } else {
        headers.get(header::HOST)
    };
    let Some(seen) = seen.and_then(|v| v.to_str().ok()) else {
        return next.run(request).await;
    };
    if seen.eq_ignore_ascii_case(&public_host(&state)) {
        return next.run(request).await;
    }
    let target = format!(
        "{}{}",
        state.config.public_origin(),
        request
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str())
            .unwrap_or("/")
    );
    Redirect::permanent(&target).into_response()
}

/// `host[:port]` of the public URL, as a browser's Host header carries it.
fn public_host(state: &AppState) -> String {
    let url = &state.config.server.public_url;
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}
