//! Test harness: a real gatehouse with a real supervised Hydra on free ports in
//! a temp dir, plus an HTTP sink that captures webhook calls, and a headless
//! Chromium over WebDriver (`browser.rs`).
#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod api;
pub mod browser;
pub mod oauth;
pub mod postgres;
pub mod world;

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gatehouse::config::Config;
use gatehouse::hydra::supervisor::HydraStatus;
use gatehouse::Application;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The Hydra binary the tests run: `HYDRA_BINARY`, else `./bin/hydra`.
pub fn hydra_binary() -> PathBuf {
    let path = std::env::var_os("HYDRA_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bin/hydra"));
    assert!(
        path.is_file(),
        "Hydra is not installed at {}: run scripts/install-hydra first",
        path.display()
    );
    path
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

/// A configuration for a test instance: temp data dir, free ports, plain-http
/// public URL on 127.0.0.1.
pub fn test_config(data_dir: PathBuf) -> Config {
    let mut config = Config::default();
    let port = free_port();
    config.data_dir = data_dir;
    config.server.listen = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    config.server.public_url = format!("http://127.0.0.1:{port}").parse().unwrap();
    config.hydra.binary = hydra_binary();
    config.hydra.public_port = free_port();
    config.hydra.admin_port = free_port();
    config.log.level = "warn".parse().unwrap();
    config
}

pub struct TestApp {
    /// `http://127.0.0.1:PORT`, the one public port.
    pub address: String,
    /// Hydra's admin API (loopback only).
    pub admin_url: String,
    pub config: Config,
    pub hydra: HydraStatus,
    /// The app's OTP service, for tests that issue codes without the pages.
    pub otp: gatehouse::signin::otp::OtpService,
    /// Everything the handlers share (services, config), for white-box checks.
    pub state: gatehouse::AppState,
    /// A client that does not follow redirects, like a careful OAuth client.
    pub http: reqwest::Client,
    pub data_dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns with a configuration adjusted by `customize`.
    pub async fn spawn_with(customize: impl FnOnce(&mut Config)) -> TestApp {
        init_test_logging();
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = test_config(data_dir.path().to_path_buf());
        customize(&mut config);
        Self::start(config, data_dir).await
    }

    /// Starts gatehouse with exactly `config` on `data_dir` (e.g. a restored one).
    pub async fn start(config: Config, data_dir: tempfile::TempDir) -> TestApp {
        let app = Application::build(config.clone())
            .await
            .expect("gatehouse starts");
        let address = format!("http://{}", app.local_addr());
        let hydra = app.hydra_status().expect("supervised mode");
        let otp = app.state().otp.clone();
        let state = app.state().clone();
        let (tx, rx) = oneshot::channel();
        let server = tokio::spawn(app.run_until_stopped(async {
            let _ = rx.await;
        }));
        TestApp {
            address,
            admin_url: config
                .hydra_admin_url()
                .as_str()
                .trim_end_matches('/')
                .to_string(),
            config,
            hydra,
            otp,
            state,
            http: http_client(),
            data_dir,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    /// Stops gatehouse and starts it again on the same data dir and public
    /// port. Hydra gets fresh ports: while it was down, any outgoing
    /// connection of a parallel test may have taken its old one as its
    /// source port, and Hydra then fails with "address already in use".
    pub async fn restart(mut self) -> TestApp {
        self.shutdown_and_wait().await;
        let TestApp {
            mut config,
            data_dir,
            ..
        } = self;
        config.hydra.public_port = free_port();
        config.hydra.admin_port = free_port();
        Self::start(config, data_dir).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn admin(&self, path: &str) -> String {
        format!("{}{}", self.admin_url, path)
    }

    /// Stops gatehouse the way SIGTERM does: HTTP first, then Hydra.
    pub async fn stop(mut self) {
        self.shutdown_and_wait().await;
    }

    async fn shutdown_and_wait(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server result");
        }
    }

    /// Runs the `gatehouse` binary with a config file for this instance
    /// (its data dir and ports), as an operator on the same machine would.
    pub async fn cli(&self, args: &[&str]) -> std::process::Output {
        let listen = self.config.server.listen;
        let config = format!(
            "data_dir = {:?}\n[server]\nlisten = \"{listen}\"\npublic_url = \"{}\"\n\
             [hydra]\npublic_port = {}\nadmin_port = {}\n",
            self.config.data_dir.display().to_string(),
            self.config.server.public_url,
            self.config.hydra.public_port,
            self.config.hydra.admin_port,
        );
        let path = self.config.data_dir.join("cli-config.toml");
        std::fs::write(&path, config).unwrap();
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        command
            .arg("--config")
            .arg(&path)
            .args(args)
            .kill_on_drop(true);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("GATEHOUSE_") {
                command.env_remove(key);
            }
        }
        command.output().await.expect("run gatehouse")
    }

    /// GETs `path` on the public port, expects 200 and parses the JSON body
    /// (the body is in the panic message when it does not parse).
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let response = self.http.get(self.url(path)).send().await.expect("GET");
        let status = response.status();
        let body = response.text().await.expect("response body");
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    /// Hydra's introspection of `token`, as JSON (expects 200).
    pub async fn introspect(&self, token: &str) -> Value {
        let response = self
            .http
            .post(self.admin("/admin/oauth2/introspect"))
            .form(&[("token", token)])
            .send()
            .await
            .expect("Hydra's admin API answers");
        assert_eq!(response.status(), 200, "introspection");
        response.json().await.expect("introspection is JSON")
    }

    /// Gatehouse's typed client of this instance's Hydra admin API.
    pub fn hydra_client(&self) -> gatehouse::hydra::HydraClient {
        gatehouse::hydra::HydraClient::new(self.config.hydra_admin_url())
    }

    /// Polls `/readyz` until it answers 200, or panics after `limit`.
    pub async fn wait_ready(&self, limit: Duration) {
        wait_ready(&self.address, limit).await;
    }

    /// Registers an OAuth2 client through Hydra's admin API.
    pub async fn create_client(&self, body: Value) -> Value {
        let response = self
            .http
            .post(self.admin("/admin/clients"))
            .json(&body)
            .send()
            .await
            .expect("admin API reachable");
        assert_eq!(response.status(), 201, "client creation failed");
        response.json().await.expect("client JSON")
    }
}

/// Polls `{address}/readyz` until it answers 200, or panics after `limit`.
pub async fn wait_ready(address: &str, limit: Duration) {
    let http = http_client();
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(r) = http.get(format!("{address}/readyz")).send().await {
            if r.status() == 200 {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{address}/readyz not 200 within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("reqwest client")
}

fn init_test_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

/// An HTTP server that records every request body it receives, to stand in
/// for an SMS provider's webhook endpoint.
#[derive(Clone)]
pub struct WebhookSink {
    pub url: String,
    received: Arc<Mutex<Vec<ReceivedRequest>>>,
}

#[derive(Clone, Debug)]
pub struct ReceivedRequest {
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
    /// Path and query, e.g. `/sms?code=...` when used as an OAuth callback.
    pub uri: String,
}

impl ReceivedRequest {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("webhook body is JSON")
    }
}

impl WebhookSink {
    /// A sink answering every request with `status`.
    pub async fn start(status: u16) -> WebhookSink {
        Self::scripted(vec![status]).await
    }

    /// A sink answering the n-th request with `statuses[n]` (the last one repeats).
    pub async fn scripted(statuses: Vec<u16>) -> WebhookSink {
        Self::serve(Some(statuses)).await
    }

    /// A sink that accepts requests and never answers.
    pub async fn hanging() -> WebhookSink {
        Self::serve(None).await
    }

    async fn serve(statuses: Option<Vec<u16>>) -> WebhookSink {
        let received: Arc<Mutex<Vec<ReceivedRequest>>> = Arc::default();
        let log = received.clone();
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let log = log.clone();
                let statuses = statuses.clone();
                async move {
                    let n = {
                        let mut log = log.lock().unwrap();
                        log.push(ReceivedRequest {
                            uri: uri.to_string(),
                            headers,
                            body: body.to_vec(),
                        });
                        log.len() - 1
                    };
                    let Some(statuses) = statuses else {
                        return std::future::pending().await;
                    };
                    let status = statuses[n.min(statuses.len() - 1)];
                    axum::http::StatusCode::from_u16(status).unwrap()
                }
            },
        );
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind sink");
        let url = format!("http://{}/sms", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        WebhookSink { url, received }
    }

    pub fn received(&self) -> Vec<ReceivedRequest> {
        self.received.lock().unwrap().clone()
    }

    /// The code in the last message sent to `phone`, if any.
    pub fn last_code_for(&self, phone: &str) -> Option<String> {
        self.received()
            .iter()
            .rev()
            .map(ReceivedRequest::json)
            .find(|m| m["phone"] == phone)
            .and_then(|m| m["code"].as_str().map(str::to_string))
    }
}

/// Is a process gone (or a zombie nobody has reaped yet)?
pub fn process_is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // Field 3, after the parenthesised command name, is the state.
        Ok(stat) => stat
            .rsplit_once(") ")
            .map(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X'))
            .unwrap_or(false),
    }
}

/// Child processes of `parent`, from /proc.
pub fn children_of(parent: u32) -> Vec<u32> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let ppid = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) {
            children.push(pid);
        }
    }
    children
}

/// Polls `check` every 100 ms until it holds, or panics with `what` after `limit`.
pub async fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "{what} (waited {limit:?})");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Captures every log line (all levels) written on this thread: the test's
/// own runtime, on which gatehouse and its Hydra supervisor run.
pub fn capture_logs() -> (Arc<Mutex<Vec<u8>>>, tracing::subscriber::DefaultGuard) {
    #[derive(Clone)]
    struct Writer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Writer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let writer = Writer(buffer.clone());
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .without_time()
        .with_writer(move || writer.clone())
        .finish();
    (buffer, tracing::subscriber::set_default(subscriber))
}
