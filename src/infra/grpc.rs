//! Outbound gRPC: the code generated from `proto/` and the one channel
//! builder, verified like outbound HTTPS (the system's CAs plus a target's
//! `ca_file`, host names checked, no setting to turn that off), with an
//! optional client certificate and a deadline on every call.

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use url::Url;

use crate::config::GrpcSettings;

/// `gatehouse.directory.v1` (proto/gatehouse/directory/v1/directory.proto):
/// the clients gatehouse uses and the servers the tests implement.
pub mod proto {
    #![allow(clippy::all, clippy::pedantic)]
    tonic::include_proto!("gatehouse.directory.v1");
}

/// A channel to `url`, connected on first use: an unreachable service must
/// not stop gatehouse from starting. Every call through it ends after
/// `settings.timeout`. Needs a tokio runtime.
pub fn channel(url: &Url, settings: &GrpcSettings) -> Result<Channel, String> {
    Ok(endpoint(url, settings)?.connect_lazy())
}

/// Connects to `url` now (TCP, TLS with the client certificate, HTTP/2)
/// and calls nothing: `doctor`'s check.
pub async fn connect(url: &Url, settings: &GrpcSettings) -> Result<(), String> {
    let endpoint = endpoint(url, settings)?;
    match endpoint.connect().await {
        Ok(_) => Ok(()),
        Err(e) => Err(causes(&e)),
    }
}

fn endpoint(url: &Url, settings: &GrpcSettings) -> Result<Endpoint, String> {
    super::http::install_crypto_provider();
    let mut endpoint = Endpoint::from_shared(url.as_str().trim_end_matches('/').to_string())
        .map_err(|e| format!("{url} is not a gRPC URL: {e}"))?
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout);
    if url.scheme() == "https" {
        let mut tls = ClientTlsConfig::new().with_native_roots();
        if let Some(ca) = &settings.ca_file {
            tls = tls.ca_certificate(Certificate::from_pem(ca.pem()));
        }
        if let Some(identity) = &settings.client_identity {
            tls = tls.identity(Identity::from_pem(identity.cert_pem(), identity.key_pem()));
        }
        endpoint = endpoint
            .tls_config(tls)
            .map_err(|e| format!("TLS to {url}: {e}"))?;
    }
    Ok(endpoint)
}

/// `message` as a request whose deadline the service is told
/// (`grpc-timeout`), so it can give up when gatehouse has.
pub fn request<T>(message: T, settings: &GrpcSettings) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(settings.timeout);
    request
}

/// A failed call in words for the log: a service's status by its code
/// only (its message may repeat the phone number it was asked about); a
/// failure on gatehouse's side (connecting, TLS) with its cause.
pub fn failure(status: &tonic::Status) -> String {
    let timed_out = status.code() == tonic::Code::DeadlineExceeded
        || (status.code() == tonic::Code::Cancelled && status.message().contains("Timeout"));
    if timed_out {
        return "timed out (deadline exceeded)".to_string();
    }
    match std::error::Error::source(status) {
        Some(cause) => format!("could not connect: {}", causes(cause)),
        None => format!("answered the gRPC status {:?}", status.code()),
    }
}

/// An error and its sources, "a: b: c".
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    super::http::error_chain(error)
}
