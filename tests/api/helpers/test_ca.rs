//! A test certificate authority (rcgen) for the HTTPS tests: its
//! certificate as a `ca_file` and server certificates it signs.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

/// A test certificate authority: its certificate (PEM) and what it signs with.
pub struct TestCa {
    pem: String,
    params: CertificateParams,
    key: KeyPair,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        TestCa { pem, params, key }
    }

    /// A server certificate for 127.0.0.1 signed by this CA: (cert, key) PEM.
    pub fn server_certificate(&self) -> (String, String) {
        self.certificate_for(&["127.0.0.1"], false)
    }

    /// A server certificate for `names`, signed by this CA; `expired`: its
    /// validity ended in 2021. (cert, key) PEM.
    pub fn certificate_for(&self, names: &[&str], expired: bool) -> (String, String) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// The CA's certificate written to a file in `dir`, as `ca_file` names it.
    pub fn file(&self, dir: &tempfile::TempDir) -> PathBuf {
        let path = dir.path().join("gateway-ca.pem");
        self.file_at(&path);
        path
    }

    /// The CA's certificate written to `path`.
    pub fn file_at(&self, path: &Path) {
        std::fs::write(path, &self.pem).unwrap();
    }
}
