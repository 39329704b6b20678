//! Direct HTTPS with a certificate made in the test; SIGHUP swaps it.
//!
//! The reload test sends SIGHUP to the whole test process, which is safe in
//! the shared binary: gatehouse listens for SIGHUP only with `server.tls`
//! set, and the only other test that sets it would just reload its own
//! unchanged files; the signal is sent only once this instance has served
//! requests (its listener is installed), and tokio's handler, once
//! installed, stays for the life of the process, so a SIGHUP never takes
//! the default action (ending the process).

use std::path::Path;
use std::time::Duration;
use tokio::process::Command;

use crate::helpers::oauth::register_client;
use crate::helpers::world::trusted;
use gatehouse::config::TlsConfig;
use rcgen::{CertificateParams, DnType, KeyPair};

/// A self-signed certificate for 127.0.0.1 named `name`: (cert PEM, key PEM).
fn certificate(name: &str) -> (String, String) {
    let mut params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// `curl` trusting only `ca`: (succeeded, body, verbose output). Async, so
/// the in-process server keeps running while curl waits for it.
async fn curl(url: &str, ca: &Path) -> (bool, String, String) {
    let output = Command::new("curl")
        .args(["-sS", "-v", "--max-time", "10", "--cacert"])
        .arg(ca)
        .arg(url)
        .output()
        .await
        .expect("curl is installed");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// An app serving HTTPS itself with `files`, and its https origin.
async fn https_app(files: TlsConfig) -> (crate::helpers::TestApp, String) {
    let app = crate::helpers::TestApp::spawn_with(|c| {
        let port = c.server.listen.port();
        c.server.public_url = format!("https://127.0.0.1:{port}").parse().unwrap();
        c.server.tls = Some(files);
        c.server.header_read_timeout = Duration::from_secs(2);
    })
    .await;
    let origin = format!("https://127.0.0.1:{}", app.config.server.listen.port());
    (app, origin)
}

#[tokio::test]
async fn serves_https_and_reloads_the_certificate_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let (first_cert, first_key) = certificate("gatehouse-test-one");
    std::fs::write(&cert_file, &first_cert).unwrap();
    std::fs::write(&key_file, &first_key).unwrap();
    let first_ca = dir.path().join("first-ca.pem");
    std::fs::write(&first_ca, &first_cert).unwrap();

    let files = TlsConfig {
        cert_file: cert_file.clone(),
        key_file: key_file.clone(),
    };
    let (app, origin) = https_app(files).await;
    let discovery = format!("{origin}/.well-known/openid-configuration");

    // Hydra behind gatehouse's TLS, with the https issuer and without --dev.
    let (ok, body, verbose) = curl(&discovery, &first_ca).await;
    assert!(ok, "{verbose}");
    assert!(body.contains(&format!(r#""issuer":"{origin}""#)), "{body}");
    assert!(verbose.contains("gatehouse-test-one"), "{verbose}");
    let (ok, _, verbose) = curl(&format!("{origin}/healthz"), &first_ca).await;
    assert!(ok, "{verbose}");

    // Renewal: new files, SIGHUP, and the new certificate is served.
    let (second_cert, second_key) = certificate("gatehouse-test-two");
    std::fs::write(&cert_file, &second_cert).unwrap();
    std::fs::write(&key_file, &second_key).unwrap();
    let second_ca = dir.path().join("second-ca.pem");
    std::fs::write(&second_ca, &second_cert).unwrap();
    // Our own process: gatehouse's handler catches SIGHUP.
    crate::helpers::process::send_signal(std::process::id(), rustix::process::Signal::HUP);
    let mut served_second = false;
    for _ in 0..50 {
        let (ok, _, verbose) = curl(&format!("{origin}/healthz"), &second_ca).await;
        if ok && verbose.contains("gatehouse-test-two") {
            served_second = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        served_second,
        "the renewed certificate is served after SIGHUP"
    );
    let (ok, _, _) = curl(&format!("{origin}/healthz"), &first_ca).await;
    assert!(!ok, "the old certificate is gone");

    // A broken file on reload keeps the working certificate.
    std::fs::write(&cert_file, "not a certificate").unwrap();
    crate::helpers::process::send_signal(std::process::id(), rustix::process::Signal::HUP);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (ok, _, verbose) = curl(&format!("{origin}/healthz"), &second_ca).await;
    assert!(ok, "still serving after a bad reload: {verbose}");
    app.stop().await;
}

#[tokio::test]
async fn on_https_every_answer_carries_hsts_and_the_csrf_cookie_is_host_prefixed() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate("gatehouse-test-hsts");
    let files = TlsConfig {
        cert_file: dir.path().join("cert.pem"),
        key_file: dir.path().join("key.pem"),
    };
    std::fs::write(&files.cert_file, &cert).unwrap();
    std::fs::write(&files.key_file, &key).unwrap();
    let callback = crate::helpers::WebhookSink::start(200).await;
    let (app, origin) = https_app(files).await;
    let client = register_client(&app, &callback, trusted()).await;
    let mut next = client
        .authorize(&app, "openid")
        .url
        .replace(&app.address, &origin);
    let browser = crate::helpers::app::client_builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.as_bytes()).unwrap())
        .cookie_store(true)
        .build()
        .unwrap();
    // Hydra's redirect, then gatehouse's login page: HSTS on both.
    let login = loop {
        let response = browser.get(&next).send().await.unwrap();
        let hsts = response.headers().get("strict-transport-security");
        assert_eq!(
            hsts.map(|v| v.to_str().unwrap()),
            Some("max-age=31536000"),
            "{next}"
        );
        match response.headers().get("location") {
            Some(to) => {
                next = url::Url::parse(&next)
                    .unwrap()
                    .join(to.to_str().unwrap())
                    .unwrap()
                    .to_string()
            }
            None => break response,
        }
    };
    assert_eq!(login.status(), 200, "{next}");
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("__Host-gatehouse_csrf="), "{cookie}");
    assert!(
        cookie.contains("; Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");
    app.stop().await;
}

#[tokio::test]
async fn over_tls_a_half_sent_header_is_closed_after_the_header_read_timeout() {
    use rustls::pki_types::pem::PemObject;
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate("gatehouse-test-slow");
    let files = TlsConfig {
        cert_file: dir.path().join("cert.pem"),
        key_file: dir.path().join("key.pem"),
    };
    std::fs::write(&files.cert_file, &cert).unwrap();
    std::fs::write(&files.key_file, &key).unwrap();
    let (app, _) = https_app(files).await;

    gatehouse::infra::http::install_crypto_provider();
    let mut roots = rustls::RootCertStore::empty();
    let der = rustls::pki_types::CertificateDer::from_pem_slice(cert.as_bytes()).unwrap();
    roots.add(der).unwrap();
    let client = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(client));
    let tcp = tokio::net::TcpStream::connect(app.config.server.listen)
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = connector.connect(name, tcp).await.expect("TLS handshake");
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
        .await
        .unwrap();
    tls.flush().await.unwrap();
    crate::edge::read_until_closed(&mut tls, Duration::from_secs(15)).await;
    app.stop().await;
}

#[test]
fn a_missing_certificate_stops_start_up_naming_the_keys() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::helpers::test_config(dir.path().join("data"));
    let port = config.server.listen.port();
    config.server.public_url = format!("https://127.0.0.1:{port}").parse().unwrap();
    config.server.tls = Some(TlsConfig {
        cert_file: dir.path().join("missing.pem"),
        key_file: dir.path().join("missing-key.pem"),
    });
    let error = runtime
        .block_on(gatehouse::Application::build(config))
        .err()
        .expect("start-up fails")
        .to_string();
    assert!(error.contains("server.tls.cert_file"), "{error}");
    assert!(error.contains("missing.pem"), "{error}");
}
