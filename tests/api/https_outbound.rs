//! Outbound HTTPS (issue 17, point 1): the SMS webhook over TLS, verified
//! against the system's CAs plus `sms.webhook.ca_file`, and refused when
//! the gateway's certificate is signed by nobody gatehouse trusts.

use std::path::PathBuf;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

use crate::helpers::capture_logs;
use crate::helpers::http_browser::HttpBrowser;
use crate::helpers::sink::WebhookSink;
use crate::helpers::world::{trusted, World};
use gatehouse::config::CaFile;

/// A test certificate authority: its certificate (PEM) and what it signs with.
struct TestCa {
    pem: String,
    params: CertificateParams,
    key: KeyPair,
}

impl TestCa {
    fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        TestCa { pem, params, key }
    }

    /// A server certificate for 127.0.0.1 signed by this CA: (cert, key) PEM.
    fn server_certificate(&self) -> (String, String) {
        let params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
        let key = KeyPair::generate().unwrap();
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// The CA's certificate written to a file in `dir`, as `ca_file` names it.
    fn file(&self, dir: &tempfile::TempDir) -> PathBuf {
        let path = dir.path().join("gateway-ca.pem");
        std::fs::write(&path, &self.pem).unwrap();
        path
    }
}

/// Asks for a code to `phone` on a fresh login page; the answer's status.
async fn ask_for_a_code(world: &World, phone: &str) -> u16 {
    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();
    let login = world
        .open(&browser, &client.authorize(&world.app, "openid"))
        .await;
    world.send_code(&browser, &login, phone).await.status
}

#[tokio::test]
async fn the_sms_reaches_an_https_gateway_whose_ca_is_in_ca_file() {
    let ca = TestCa::new("Gateway test CA");
    let (cert, key) = ca.server_certificate();
    let gateway = WebhookSink::start_tls(200, &cert, &key).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = CaFile::load("sms.webhook.ca_file", ca.file(&dir)).unwrap();
    let world = World::with_sms(gateway.clone(), |config| {
        config.sms.webhook.ca_file = Some(ca_file);
    })
    .await;

    assert_eq!(ask_for_a_code(&world, "+12015550181").await, 200);
    assert!(gateway.url.starts_with("https://"), "{}", gateway.url);
    assert!(
        gateway.last_code_for("+12015550181").is_some(),
        "the gateway got the code over HTTPS"
    );
}

#[tokio::test]
async fn a_gateway_certificate_from_an_unknown_ca_is_refused_and_logged() {
    let (logs, _guard) = capture_logs();
    let trusted_ca = TestCa::new("Trusted test CA");
    let impostor_ca = TestCa::new("Impostor CA");
    // The gateway presents a certificate the configured CA did not sign.
    let (cert, key) = impostor_ca.server_certificate();
    let gateway = WebhookSink::start_tls(200, &cert, &key).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = CaFile::load("sms.webhook.ca_file", trusted_ca.file(&dir)).unwrap();
    let world = World::with_sms(gateway.clone(), |config| {
        config.sms.webhook.ca_file = Some(ca_file);
        config.sms.webhook.max_attempts = 1;
    })
    .await;

    assert_eq!(
        ask_for_a_code(&world, "+12015550182").await,
        502,
        "nothing was sent: the person is told so"
    );
    assert!(
        gateway.received().is_empty(),
        "no request got past the TLS handshake"
    );
    let logs = String::from_utf8_lossy(&logs.lock().unwrap()).to_lowercase();
    assert!(
        logs.contains("certificate") && logs.contains("unknownissuer"),
        "the log says why: {logs}"
    );
}

#[tokio::test]
async fn without_ca_file_a_private_ca_is_not_trusted() {
    let ca = TestCa::new("Private CA nobody configured");
    let (cert, key) = ca.server_certificate();
    let gateway = WebhookSink::start_tls(200, &cert, &key).await;
    let world = World::with_sms(gateway.clone(), |config| {
        config.sms.webhook.max_attempts = 1;
    })
    .await;

    assert_eq!(ask_for_a_code(&world, "+12015550183").await, 502);
    assert!(gateway.received().is_empty());
}
