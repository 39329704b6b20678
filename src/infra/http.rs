//! Outbound HTTP: the one place clients are built, and reading the JSON
//! object a service answers with (the user directory, the legacy-session
//! verifier) without buffering a runaway body.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::ClientConfig;
use rustls_platform_verifier::Verifier;
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

/// Connecting to Hydra takes well under this when it is up.
const HYDRA_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A client for `peer`. Redirects are never followed: a redirect would
/// carry credentials (auth headers, cookies, codes) somewhere unplanned,
/// and the flows that expect one follow it by hand. HTTPS is verified
/// against the system's certificate authorities (and a `ca_file`'s), with
/// rustls; nothing turns verification off.
pub fn client(peer: Peer<'_>) -> reqwest::Client {
    install_crypto_provider();
    let (ca_file, setting) = match peer {
        Peer::Hydra { ca_file, .. } => (ca_file, "hydra.ca_file"),
        Peer::Service { ca_file, .. } => (ca_file, "the target's ca_file"),
    };
    let mut tls = verified_tls(ca_file, setting);
    // reqwest's own TLS settings are replaced whole: HTTP/1.1, as it offers.
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    builder(peer)
        .tls_backend_preconfigured(tls)
        .build()
        .expect("an HTTP client on a rustls configuration")
}

/// The client settings for `peer` (see [`client`]).
fn builder(peer: Peer<'_>) -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    match peer {
        Peer::Hydra { timeout, .. } => builder
            .no_proxy()
            .connect_timeout(HYDRA_CONNECT_TIMEOUT.min(timeout))
            .timeout(timeout),
        Peer::Service { timeout, .. } => match timeout {
            Some(timeout) => builder.connect_timeout(timeout).timeout(timeout),
            None => builder,
        },
    }
}

/// The client of the proxy to Hydra's public port: hyper's own, which
/// hands requests and answers on as they are. reqwest parses each URL again
/// in its redirect layer (the request's and the redirect's, on every
/// answer: Hydra 2's verifier URLs are long), which the proxy, following no
/// redirect, does not need. Never through a proxy from the environment;
/// HTTPS verified as [`client`] verifies it.
pub type PassThrough =
    hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, axum::body::Body>;

/// A [`PassThrough`] client; `ca_file` for an external Hydra's https URL
/// behind a private CA.
pub fn pass_through(ca_file: Option<&CaFile>) -> PassThrough {
    install_crypto_provider();
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(HYDRA_CONNECT_TIMEOUT));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(verified_tls(ca_file, "hydra.ca_file"))
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .build(connector)
}

/// [`tls_config`]; on a host without a certificate store, `ca_file`'s
/// authorities alone, with a warning naming `setting`: plain http still
/// works, and https to anyone else fails verification at each call.
fn verified_tls(ca_file: Option<&CaFile>, setting: &str) -> ClientConfig {
    tls_config(ca_file).unwrap_or_else(|error| {
        tracing::warn!(
            %error,
            "no CA certificates found on this host (install ca-certificates, or set \
             {setting}): https trusts only {setting}"
        );
        roots_only(ca_file)
    })
}

/// TLS as the HTTP clients verify it: the system's CAs plus `ca_file`'s,
/// the host name checked, ring's crypto.
pub fn tls_config(ca_file: Option<&CaFile>) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = match ca_file {
        None => system_verifier()?,
        Some(ca_file) => Arc::new(
            Verifier::new_with_extra_roots(ca_file.der_certificates(), provider.clone())
                .map_err(|e| format!("no certificate store: {e}"))?,
        ),
    };
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// The verifier of the system's CAs, built once: building one reads and
/// parses every file of the certificate store (a few hundred in
/// /etc/ssl/certs), and the process builds a client per service.
fn system_verifier() -> Result<Arc<Verifier>, String> {
    static SYSTEM: OnceLock<Result<Arc<Verifier>, String>> = OnceLock::new();
    SYSTEM
        .get_or_init(|| {
            Verifier::new(Arc::new(rustls::crypto::ring::default_provider()))
                .map(Arc::new)
                .map_err(|e| format!("no certificate store: {e}"))
        })
        .clone()
}

/// TLS trusting `ca_file`'s authorities alone: what is left on a host
/// without a certificate store.
fn roots_only(ca_file: Option<&CaFile>) -> ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in ca_file.map(CaFile::der_certificates).unwrap_or_default() {
        let _ = roots.add(certificate);
    }
    ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// An error with its causes: an HTTP client's top-level message hides the
/// cause ("error sending request", "client error (Connect)").
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_systems_certificate_store_is_read_once_for_every_client() {
        match (system_verifier(), system_verifier()) {
            (Ok(first), Ok(second)) => assert!(Arc::ptr_eq(&first, &second)),
            (first, second) => {
                panic!("a certificate store on the test host: {first:?}, {second:?}")
            }
        }
    }
}
