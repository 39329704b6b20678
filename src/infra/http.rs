//! Outbound HTTP: the one place clients are built, and reading the JSON
//! object a service answers with (the user directory, the legacy-session
//! verifier) without buffering a runaway body.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::config::CaFile;

/// Whom a client talks to, which decides its proxy and timeouts.
#[derive(Debug, Clone, Copy)]
pub enum Peer<'a> {
    /// Hydra, on a URL from gatehouse's own configuration (loopback in
    /// supervised mode): never through a proxy from the environment, and a
    /// short connect timeout so that an outage is told quickly; `ca_file`
    /// for an external Hydra's https URLs behind a private CA.
    Hydra {
        timeout: Duration,
        ca_file: Option<&'a CaFile>,
    },
    /// A service the operator named (SMS gateway, user directory, verifier):
    /// the environment's proxy settings apply; `timeout` is for the whole
    /// request (None: each request sets its own); `ca_file` adds private
    /// certificate authorities to the system's.
    Service {
        timeout: Option<Duration>,
        ca_file: Option<&'a CaFile>,
    },
}

/// Makes ring the process's TLS crypto provider. reqwest is built without
/// one of its own (it would bring a second crypto library): every client in
/// the process, gatehouse's or a program's using this library (the
/// benchmark, the tests), needs this before it is built. Idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Trusts `ca_file`'s authorities besides the system's.
fn with_ca_file(
    builder: reqwest::ClientBuilder,
    ca_file: Option<&CaFile>,
) -> reqwest::ClientBuilder {
    match ca_file {
        Some(ca_file) => builder.tls_certs_merge(ca_file.certificates()),
        None => builder,
    }
}

/// Connecting to Hydra takes well under this when it is up.
const HYDRA_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A client for `peer`. Redirects are never followed: a redirect would
/// carry credentials (auth headers, cookies, codes) somewhere unplanned,
/// and the flows that expect one follow it by hand. HTTPS is verified
/// against the system's certificate authorities (and a `ca_file`'s), with
/// rustls; nothing turns verification off.
pub fn client(peer: Peer<'_>) -> reqwest::Client {
    install_crypto_provider();
    match builder(peer).build() {
        Ok(client) => client,
        // The one way building fails: no CA certificate on this host (no
        // ca-certificates package, no ca_file). Plain http still works,
        // and https fails verification with a clear error at each call.
        Err(error) => {
            tracing::warn!(
                %error,
                "no CA certificates found on this host (install ca-certificates, or set the \
                 target's ca_file): https connections will fail"
            );
            // The ca_file's roots (if any) are in the builder already.
            builder(peer)
                .tls_certs_only(std::iter::empty())
                .build()
                .expect("an HTTP client that trusts only the given roots")
        }
    }
}

/// The client settings for `peer` (see [`client`]).
fn builder(peer: Peer<'_>) -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    match peer {
        Peer::Hydra { timeout, ca_file } => with_ca_file(
            builder
                .no_proxy()
                .connect_timeout(HYDRA_CONNECT_TIMEOUT.min(timeout))
                .timeout(timeout),
            ca_file,
        ),
        Peer::Service { timeout, ca_file } => {
            let builder = match timeout {
                Some(timeout) => builder.connect_timeout(timeout).timeout(timeout),
                None => builder,
            };
            with_ca_file(builder, ca_file)
        }
    }
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
