//! Every request on gatehouse's own pages and APIs runs with its
//! [`RequestContext`]: the client's address (behind a trusted proxy, the
//! one it reports), its user agent and the request id, which the audit
//! trail writes into each event the request causes.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::USER_AGENT;
use axum::middleware::Next;
use axum::response::Response;

use super::client_ip::client_ip;
use crate::signin::audit::RequestContext;
use crate::web::AppState;

pub async fn with_context(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| client_ip(*peer, headers, &state.config.server.trusted_proxies));
    let header = |name| {
        headers
            .get(name)
            .map(|value: &axum::http::HeaderValue| value.as_bytes())
    };
    let context = RequestContext::new(address, header(USER_AGENT.as_str()), header("x-request-id"));
    context.scope(next.run(request)).await
}
