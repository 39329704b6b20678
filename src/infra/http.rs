//! Outbound HTTP: the one place clients are built, and reading the JSON
//! object a service answers with (the user directory, the legacy-session
//! verifier) without buffering a runaway body.

use std::time::Duration;

use serde_json::{Map, Value};

/// Whom a client talks to, which decides its proxy and timeouts.
#[derive(Debug, Clone, Copy)]
pub enum Peer {
    /// Hydra, on a URL from gatehouse's own configuration (loopback in
    /// supervised mode): never through a proxy from the environment, and a
    /// short connect timeout so that an outage is told quickly.
    Hydra { timeout: Duration },
    /// A service the operator named (SMS gateway, user directory, verifier):
    /// the environment's proxy settings apply; `timeout` is for the whole
    /// request (None: each request sets its own).
    Service { timeout: Option<Duration> },
}

/// Connecting to Hydra takes well under this when it is up.
const HYDRA_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A client for `peer`. Redirects are never followed: a redirect would
/// carry credentials (auth headers, cookies, codes) somewhere unplanned,
/// and the flows that expect one follow it by hand.
pub fn client(peer: Peer) -> reqwest::Client {
    let builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    let builder = match peer {
        Peer::Hydra { timeout } => builder
            .no_proxy()
            .connect_timeout(HYDRA_CONNECT_TIMEOUT.min(timeout))
            .timeout(timeout),
        Peer::Service {
            timeout: Some(timeout),
        } => builder.connect_timeout(timeout).timeout(timeout),
        Peer::Service { timeout: None } => builder,
    };
    // Only a TLS back end that cannot start makes this fail, and none is
    // configured yet: the settings above are static.
    builder
        .build()
        .expect("an HTTP client with static settings")
}

#[derive(Debug)]
pub enum AnswerError {
    /// The body stopped arriving (timeout, reset, ...).
    Transport(reqwest::Error),
    /// The body is longer than the limit given.
    TooLarge { limit: usize },
    /// The body is not one JSON object.
    NotAnObject,
}

/// The response body as a JSON object, refused past `limit` bytes.
pub async fn json_object(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Map<String, Value>, AnswerError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(AnswerError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(AnswerError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    match serde_json::from_slice(&body) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(AnswerError::NotAnObject),
    }
}
