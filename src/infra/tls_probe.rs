//! A TLS handshake with an outbound HTTPS target, verified exactly as the
//! HTTP clients verify it (the system's CAs plus a `ca_file`, host name
//! checked), for `gatehouse doctor`: it proves the certificate without
//! sending a request.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::CertificateError;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::config::CaFile;

/// Why a handshake failed, in the words an operator acts on.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("its certificate is signed by a CA this host does not trust (a private CA? set the target's ca_file)")]
    UnknownCa,
    #[error("its certificate has expired")]
    Expired,
    #[error("its certificate is not valid for {0}")]
    WrongName(String),
    #[error("the TLS handshake failed: {0}")]
    Other(String),
    #[error("did not complete a TLS handshake within {0:?}")]
    Timeout(Duration),
}

/// Connects to `host:port` and completes a TLS handshake, verifying the
/// certificate against the system's CAs and `ca_file`'s; sends nothing.
pub async fn handshake(
    host: &str,
    port: u16,
    ca_file: Option<&CaFile>,
    timeout: Duration,
) -> Result<(), HandshakeError> {
    let config = super::http::tls_config(ca_file).map_err(HandshakeError::Other)?;
    let connector = TlsConnector::from(Arc::new(config));
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| HandshakeError::Other(format!("{host} is no server name: {e}")))?;
    let attempt = async {
        let tcp = TcpStream::connect((host, port)).await?;
        connector.connect(name, tcp).await.map(|_| ())
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(explain(host, error)),
        Err(_) => Err(HandshakeError::Timeout(timeout)),
    }
}

/// The certificate problem inside an I/O error from the handshake.
fn explain(host: &str, error: std::io::Error) -> HandshakeError {
    let tls = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match tls {
        Some(rustls::Error::InvalidCertificate(problem)) => match problem {
            CertificateError::UnknownIssuer => HandshakeError::UnknownCa,
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                HandshakeError::Expired
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                HandshakeError::WrongName(host.to_string())
            }
            other => HandshakeError::Other(format!("{other:?}")),
        },
        _ => HandshakeError::Other(error.to_string()),
    }
}
