//! Outbound HTTPS (issue 17, point 1): the SMS webhook, the user directory,
//! the legacy-session verifier and the HTTP code delegate over TLS, verified against the system's
//! CAs plus each one's `ca_file`, and refused when the certificate is signed
//! by nobody gatehouse trusts.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use gatehouse::config::{CaFile, Config, DirectoryKind, HttpService, Signup};

use crate::helpers::capture_logs;
use crate::helpers::headless::NativeApp;
use crate::helpers::http_browser::HttpBrowser;
use crate::helpers::sink::WebhookSink;
use crate::helpers::test_ca::TestCa;
use crate::helpers::world::{trusted, World};

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
    let code = gateway.code_for("+12015550181").await;
    assert_eq!(code.len(), 6, "the gateway got the code over HTTPS");
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

    // The answer does not depend on delivery (issue 17, point 3).
    assert_eq!(ask_for_a_code(&world, "+12015550182").await, 200);
    world.app.outbox_drained().await;
    assert!(
        gateway.received().is_empty(),
        "no request got past the TLS handshake"
    );
    assert_eq!(
        ask_for_a_code(&world, "+12015550182").await,
        200,
        "the undelivered code was withdrawn and its send refunded: no cooldown"
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

    assert_eq!(ask_for_a_code(&world, "+12015550183").await, 200);
    world.app.outbox_drained().await;
    assert!(gateway.received().is_empty());
}

/// A private-CA HTTPS service answering every request with `status`, and
/// that CA's file, checked as `key` would be.
async fn private_service(status: u16, key: &str) -> (WebhookSink, CaFile, tempfile::TempDir) {
    let ca = TestCa::new("Private service CA");
    let (cert, cert_key) = ca.server_certificate();
    let service = WebhookSink::answering_tls("/", &cert, &cert_key, move |_, _| {
        std::future::ready(StatusCode::from_u16(status).unwrap().into_response())
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = CaFile::load(key, ca.file(&dir)).unwrap();
    (service, ca_file, dir)
}

#[tokio::test]
async fn the_user_directory_is_reached_over_https_with_its_ca_file_only() {
    let directory = |service: &WebhookSink, ca_file: Option<CaFile>| {
        let base_url = service.url.parse().unwrap();
        move |config: &mut Config| {
            config.users.signup = Signup::Closed;
            config.directory.kind = DirectoryKind::Http(HttpService {
                base_url,
                auth: None,
            });
            config.directory.http.ca_file = ca_file;
        }
    };
    // 404 is "no such user": the same answer as for a member, no text.
    let (service, ca_file, _dir) = private_service(404, "directory.http.ca_file").await;
    let world = World::with(directory(&service, Some(ca_file))).await;
    assert_eq!(ask_for_a_code(&world, "+12015550184").await, 200);
    assert_eq!(service.received().len(), 1, "the lookup went over HTTPS");

    let (untrusted, _, _dir) = private_service(404, "directory.http.ca_file").await;
    let world = World::with(directory(&untrusted, None)).await;
    assert_eq!(
        ask_for_a_code(&world, "+12015550185").await,
        503,
        "an unverifiable directory is an outage"
    );
    assert!(untrusted.received().is_empty());
}

#[tokio::test]
async fn the_legacy_session_verifier_is_reached_over_https_with_its_ca_file_only() {
    let app = NativeApp {
        id: "https-exchange-app",
        secret: "https-exchange-secret",
        scope: "openid",
    };
    let exchange = |service: &WebhookSink, ca_file: Option<CaFile>| {
        let url = service.url.parse().unwrap();
        let client = app.listed(true);
        move |config: &mut Config| {
            config.headless.clients = vec![client];
            config.headless.token_exchange.url = Some(url);
            config.headless.token_exchange.ca_file = ca_file;
        }
    };
    // The verifier refuses the token: it was reached.
    let (verifier, ca_file, _dir) = private_service(401, "headless.token_exchange.ca_file").await;
    let world = World::with(exchange(&verifier, Some(ca_file))).await;
    world
        .exchange("some-legacy-token", app.id, None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    assert_eq!(verifier.received().len(), 1);

    let (untrusted, _, _dir) = private_service(401, "headless.token_exchange.ca_file").await;
    let world = World::with(exchange(&untrusted, None)).await;
    world
        .exchange("some-legacy-token", app.id, None)
        .await
        .assert_error(StatusCode::BAD_GATEWAY, "verifier_unavailable");
    assert!(untrusted.received().is_empty());
}

#[tokio::test]
async fn the_http_code_delegate_is_reached_over_https_with_its_ca_file_only() {
    use gatehouse::config::{CodeIssuer, Secret};
    let delegate = |service: &WebhookSink, ca_file: Option<CaFile>| {
        let url = service.url.parse().unwrap();
        move |config: &mut Config| {
            config.otp.issuer = CodeIssuer::Http;
            config.otp.http.url = Some(url);
            config.otp.http.auth_token = Some(Secret::new("delegate-token"));
            config.otp.http.ca_file = ca_file;
        }
    };
    // Trusted through ca_file: the delegate is asked to send, with its token.
    let (service, ca_file, _dir) = private_service(202, "otp.http.ca_file").await;
    let world = World::with(delegate(&service, Some(ca_file))).await;
    assert_eq!(ask_for_a_code(&world, "+12015550187").await, 200);
    let asked = service.received();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].uri, "/verifications");
    assert_eq!(
        asked[0].header("authorization"),
        Some("Bearer delegate-token")
    );

    // A certificate signed by a CA gatehouse was not given: the TLS
    // handshake fails, nothing reaches the service, the person is told to
    // try again (503).
    let (untrusted, _, _dir) = private_service(202, "otp.http.ca_file").await;
    let world = World::with(delegate(&untrusted, None)).await;
    assert_eq!(ask_for_a_code(&world, "+12015550188").await, 503);
    assert!(untrusted.received().is_empty());
}

#[tokio::test]
async fn the_proxy_to_hydras_public_port_verifies_https_against_its_ca_file() {
    use gatehouse::infra::http::pass_through;
    let ca = TestCa::new("Hydra's private CA");
    let dir = tempfile::tempdir().unwrap();
    let ca_file = CaFile::load("hydra.ca_file", ca.file(&dir)).unwrap();
    let hydra = |(cert, key): (String, String)| async move {
        WebhookSink::answering_tls("/", &cert, &key, |_, _| {
            std::future::ready(StatusCode::OK.into_response())
        })
        .await
    };
    let get = |url: &str| axum::http::Request::get(url).body(axum::body::Body::empty());

    let trusted = hydra(ca.server_certificate()).await;
    let client = pass_through(Some(&ca_file));
    let answer = client.request(get(&trusted.url).unwrap()).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(trusted.received().len(), 1);

    let refused = pass_through(None).request(get(&trusted.url).unwrap()).await;
    assert!(
        refused.unwrap_err().is_connect(),
        "a private CA, no ca_file"
    );
    let another_name = ca.certificate_for(&["hydra.example"], false);
    let expired = ca.certificate_for(&["127.0.0.1"], true);
    for (certificate, what) in [(another_name, "another name"), (expired, "expired")] {
        let hydra = hydra(certificate).await;
        let refused = client.request(get(&hydra.url).unwrap()).await;
        assert!(refused.unwrap_err().is_connect(), "{what}");
        assert!(hydra.received().is_empty(), "{what}");
    }
    assert_eq!(trusted.received().len(), 1);
}
