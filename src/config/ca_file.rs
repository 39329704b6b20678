//! `ca_file` settings: a PEM file of certificate authorities that an
//! outbound HTTPS connection trusts besides the system's (a private CA),
//! read and checked when the configuration is read. Certificates and host
//! names are always verified; there is no setting to turn that off.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde::{Serialize, Serializer};

use super::ConfigError;

/// A checked PEM bundle of one or more CA certificates, and where it came from.
#[derive(Clone)]
pub struct CaFile {
    path: PathBuf,
    pem: Arc<[u8]>,
}

impl CaFile {
    /// Reads `path` for the setting `key`; it must hold at least one PEM
    /// certificate.
    pub fn load(key: &str, path: PathBuf) -> Result<CaFile, ConfigError> {
        let pem = std::fs::read(&path)
            .map_err(|e| ConfigError::key(key, format!("cannot read {}: {e}", path.display())))?;
        match reqwest::Certificate::from_pem_bundle(&pem) {
            Ok(certificates) if !certificates.is_empty() => Ok(CaFile {
                path,
                pem: pem.into(),
            }),
            Ok(_) => Err(ConfigError::key(
                key,
                format!("{} holds no PEM certificate", path.display()),
            )),
            Err(e) => Err(ConfigError::key(
                key,
                format!("{} is not a PEM certificate bundle: {e}", path.display()),
            )),
        }
    }

    /// [`CaFile::load`] for a setting that may be absent.
    pub fn load_optional(key: &str, path: Option<PathBuf>) -> Result<Option<CaFile>, ConfigError> {
        path.map(|path| CaFile::load(key, path)).transpose()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The PEM bundle as read (for clients that parse it themselves: gRPC).
    pub fn pem(&self) -> &[u8] {
        &self.pem
    }

    /// The certificates in DER, as rustls takes them. They parsed when the
    /// configuration was read; one that fails now is left out, and a
    /// connection relying on it fails verification (closed, not open).
    pub fn der_certificates(&self) -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_slice_iter(&self.pem)
            .filter_map(Result::ok)
            .collect()
    }
}

/// Two settings are the same when they name the same file.
impl PartialEq for CaFile {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
    }
}

impl Eq for CaFile {}

impl fmt::Debug for CaFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.path, f)
    }
}

/// Printed (check-config) as the path it was read from.
impl Serialize for CaFile {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.path.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_must_hold_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let error = CaFile::load("sms.webhook.ca_file", missing).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("`sms.webhook.ca_file`: cannot read"),
            "{error}"
        );

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        let error = CaFile::load("sms.webhook.ca_file", empty).unwrap_err();
        assert!(
            error.to_string().contains("holds no PEM certificate"),
            "{error}"
        );

        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["ca.test".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let good = dir.path().join("ca.pem");
        std::fs::write(&good, cert.pem()).unwrap();
        let ca = CaFile::load("sms.webhook.ca_file", good.clone()).unwrap();
        assert_eq!(ca.path(), good);
        assert_eq!(ca.der_certificates().len(), 1);
    }
}
