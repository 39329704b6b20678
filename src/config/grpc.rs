//! How gatehouse reaches a gRPC service (`[directory.grpc]`): a deadline
//! per call, TLS verified against the system's CAs plus a `ca_file`, and an
//! optional client certificate for services that want mutual TLS.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use url::Url;

use super::checks::required_http_url;
use super::{CaFile, ConfigError};

/// Everything about a gRPC service but its URL.
#[derive(Debug, Clone)]
pub struct GrpcSettings {
    /// The deadline of one call (sent to the service as `grpc-timeout`),
    /// and of connecting.
    pub timeout: Duration,
    /// CA certificates (PEM) trusted for an https URL besides the system's.
    pub ca_file: Option<CaFile>,
    /// Presented when the service asks for a client certificate.
    pub client_identity: Option<ClientIdentity>,
}

/// A client certificate chain and its private key (PEM), read and checked
/// with the configuration.
#[derive(Clone)]
pub struct ClientIdentity {
    cert_path: PathBuf,
    key_path: PathBuf,
    cert_pem: Arc<[u8]>,
    key_pem: Arc<[u8]>,
}

impl ClientIdentity {
    /// `section.client_cert` and `section.client_key`.
    fn load(section: &str, cert_path: PathBuf, key_path: PathBuf) -> Result<Self, ConfigError> {
        let read = |key: String, path: &Path| {
            std::fs::read(path)
                .map_err(|e| ConfigError::key(&key, format!("cannot read {}: {e}", path.display())))
        };
        let cert_key = format!("{section}.client_cert");
        let cert_pem = read(cert_key.clone(), &cert_path)?;
        if !CertificateDer::pem_slice_iter(&cert_pem).any(|cert| cert.is_ok()) {
            return Err(ConfigError::key(
                &cert_key,
                format!("{} holds no PEM certificate", cert_path.display()),
            ));
        }
        let key_key = format!("{section}.client_key");
        let key_pem = read(key_key.clone(), &key_path)?;
        if PrivateKeyDer::from_pem_slice(&key_pem).is_err() {
            return Err(ConfigError::key(
                &key_key,
                format!("{} holds no PEM private key", key_path.display()),
            ));
        }
        Ok(ClientIdentity {
            cert_path,
            key_path,
            cert_pem: cert_pem.into(),
            key_pem: key_pem.into(),
        })
    }

    pub fn cert_pem(&self) -> &[u8] {
        &self.cert_pem
    }

    pub fn key_pem(&self) -> &[u8] {
        &self.key_pem
    }
}

/// Printed as the two paths, never the key.
impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("cert", &self.cert_path)
            .field("key", &self.key_path)
            .finish()
    }
}

/// A gRPC section as written in the file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GrpcFile {
    /// `https://host:port` (or `http://` for plaintext).
    pub(super) url: Option<Url>,
    #[serde(with = "humantime_serde")]
    timeout: Duration,
    ca_file: Option<PathBuf>,
    client_cert: Option<PathBuf>,
    client_key: Option<PathBuf>,
}

impl GrpcFile {
    pub(super) fn new(url: Option<Url>, settings: GrpcSettings) -> GrpcFile {
        let (client_cert, client_key) = match settings.client_identity {
            Some(identity) => (Some(identity.cert_path), Some(identity.key_path)),
            None => (None, None),
        };
        GrpcFile {
            url,
            timeout: settings.timeout,
            ca_file: settings.ca_file.map(|ca| ca.path().to_path_buf()),
            client_cert,
            client_key,
        }
    }

    /// The settings of `section` (e.g. "directory.grpc").
    pub(super) fn settings(&self, section: &str) -> Result<GrpcSettings, ConfigError> {
        if self.timeout.is_zero() {
            return Err(ConfigError::key(
                &format!("{section}.timeout"),
                "must be more than 0",
            ));
        }
        let client_identity = match (self.client_cert.clone(), self.client_key.clone()) {
            (Some(cert), Some(key)) => Some(ClientIdentity::load(section, cert, key)?),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::key(
                    &format!("{section}.client_key"),
                    format!("required when {section}.client_cert is set"),
                ))
            }
            (None, Some(_)) => {
                return Err(ConfigError::key(
                    &format!("{section}.client_cert"),
                    format!("required when {section}.client_key is set"),
                ))
            }
        };
        Ok(GrpcSettings {
            timeout: self.timeout,
            ca_file: CaFile::load_optional(&format!("{section}.ca_file"), self.ca_file.clone())?,
            client_identity,
        })
    }

    /// `section.url`, which `required_when` makes mandatory.
    pub(super) fn required_url(
        &self,
        section: &str,
        required_when: &str,
    ) -> Result<Url, ConfigError> {
        required_http_url(&format!("{section}.url"), self.url.clone(), required_when)
    }
}

impl GrpcSettings {
    /// Two seconds, no private CA, no client certificate.
    pub(super) fn default_settings() -> GrpcSettings {
        GrpcSettings {
            timeout: Duration::from_secs(2),
            ca_file: None,
            client_identity: None,
        }
    }
}
