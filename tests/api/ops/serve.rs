//! `gatehouse serve`: sd_notify, the data dir lock, and graceful shutdown
//! bounded by `server.shutdown_timeout`.

use std::time::{Duration, Instant};

use super::{fresh_config, run, text, Served};
use crate::helpers::binary::env_for;
use crate::helpers::http_browser::{form, Hop, HttpBrowser};
use crate::helpers::world::World;
use crate::helpers::{TestApp, WebhookSink};
use gatehouse::config::{DirectoryKind, HttpService, Signup};

/// The next sd_notify datagram, within a generous bound; when none comes,
/// the failure shows what gatehouse printed.
async fn receive(socket: &tokio::net::UnixDatagram, served: &Served) -> String {
    let mut buffer = vec![0u8; 4096];
    let Ok(received) =
        tokio::time::timeout(Duration::from_secs(90), socket.recv(&mut buffer)).await
    else {
        panic!(
            "no notification within 90s; gatehouse printed:\n{}",
            served.output()
        );
    };
    let n = received.unwrap();
    String::from_utf8(buffer[..n].to_vec()).unwrap()
}

#[tokio::test]
async fn notify_ready_only_once_ready_and_stopping_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let config = fresh_config(dir.path());
    let socket_path = dir.path().join("notify.sock");
    let socket = tokio::net::UnixDatagram::bind(&socket_path).unwrap();
    let env = env_for(&config);
    let mut served = Served::start(&env, &[("NOTIFY_SOCKET", socket_path.to_str().unwrap())]);
    let address = format!("http://{}", config.server.listen);
    let http = crate::helpers::http_client();

    let mut messages = Vec::new();
    loop {
        let message = receive(&socket, &served).await;
        messages.push(message.clone());
        if message.lines().any(|l| l == "READY=1") {
            break;
        }
    }
    // At the moment READY=1 arrives, readiness already holds.
    let ready = http.get(format!("{address}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200, "READY=1 before /readyz is 200");
    assert!(
        messages[0].starts_with("STATUS=starting"),
        "a status line first: {messages:?}"
    );
    let ready_message = messages.last().unwrap();
    assert!(
        ready_message.contains("STATUS=serving on"),
        "{ready_message}"
    );

    served.sigterm();
    let stopping = receive(&socket, &served).await;
    assert!(
        stopping.lines().any(|l| l == "STOPPING=1"),
        "expected STOPPING=1, got {stopping:?}"
    );
    let status = served.wait(Duration::from_secs(60)).await;
    assert_eq!(status.code(), Some(0), "{status}");
}

#[tokio::test]
async fn a_second_serve_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = fresh_config(dir.path());
    let _served = Served::start(&env_for(&config), &[]);
    crate::helpers::wait_ready(
        &format!("http://{}", config.server.listen),
        Duration::from_secs(60),
    )
    .await;

    // Other ports, same data dir: the lock, not a port, must stop it.
    let other = crate::helpers::test_config(config.data_dir.clone());
    let output = run(&["serve"], &env_for(&other)).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("in use by a running gatehouse"),
        "{}",
        text(&output)
    );
    assert!(stderr.contains("pid "), "{}", text(&output));
}

/// An app whose user directory never answers, and a login page to post to.
async fn app_with_hanging_directory(
    directory_timeout: Duration,
    shutdown_timeout: Duration,
) -> (TestApp, WebhookSink, HttpBrowser, Hop) {
    let directory = WebhookSink::hanging().await;
    let world = World::with(|config| {
        config.users.signup = Signup::Closed;
        config.directory.kind = DirectoryKind::Http(HttpService {
            base_url: directory.url.parse().unwrap(),
            auth: None,
        });
        config.directory.http.timeout = directory_timeout;
        config.server.shutdown_timeout = shutdown_timeout;
    })
    .await;
    let (browser, login) = world.on_login_page().await;
    (world.app, directory, browser, login)
}

/// Starts "send me a code" and returns once gatehouse is waiting on the
/// directory, i.e. the request is in flight.
async fn request_in_flight(
    app: &TestApp,
    directory: &WebhookSink,
    browser: HttpBrowser,
    login: Hop,
) -> tokio::task::JoinHandle<Result<u16, String>> {
    let url = app.url("/login");
    let form = form(&login, &[("action", "send"), ("phone", "+12015550170")]);
    let request = tokio::spawn(async move {
        browser
            .http
            .post(url)
            .form(&form)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .map_err(|e| e.to_string())
    });
    let directory = directory.clone();
    crate::helpers::eventually(
        Duration::from_secs(30),
        "the code request reached the directory",
        || !directory.received().is_empty(),
    )
    .await;
    request
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_request_finish() {
    let (app, directory, browser, login) =
        app_with_hanging_directory(Duration::from_secs(2), Duration::from_secs(30)).await;
    let request = request_in_flight(&app, &directory, browser, login).await;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(60), app.stop())
        .await
        .expect("shutdown finished");
    // The directory lookup gives up after 2s; gatehouse's page saying the
    // account cannot be checked (503) is still delivered.
    let status = request.await.unwrap().expect("a response, not a reset");
    assert_eq!(status, 503);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "shutdown did not wait for the request"
    );
}

#[tokio::test]
async fn shutdown_does_not_wait_longer_than_shutdown_timeout() {
    // The request would take 60s (directory timeout); shutdown allows 1s.
    let (app, directory, browser, login) =
        app_with_hanging_directory(Duration::from_secs(60), Duration::from_secs(1)).await;
    let _request = request_in_flight(&app, &directory, browser, login).await;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(30), app.stop())
        .await
        .expect("shutdown is bounded by server.shutdown_timeout (+ Hydra's stop)");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_host_without_ca_certificates_still_serves() {
    // No system CA store (a minimal container without ca-certificates):
    // plain-http Hydra and the pages must work; only https would fail.
    let dir = tempfile::tempdir().unwrap();
    let config = fresh_config(dir.path());
    let env = env_for(&config);
    let missing = dir.path().join("no-such-ca");
    let missing = missing.to_str().unwrap();
    let mut served = Served::start(
        &env,
        &[("SSL_CERT_FILE", missing), ("SSL_CERT_DIR", missing)],
    );
    crate::helpers::wait_ready(
        &format!("http://{}", config.server.listen),
        Duration::from_secs(60),
    )
    .await;
    served.sigterm();
    let status = served.wait(Duration::from_secs(60)).await;
    assert!(status.success(), "{status:?}");
}
