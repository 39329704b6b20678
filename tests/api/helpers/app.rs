//! A real gatehouse, in this process, with a real supervised Hydra on free
//! ports in a temp dir.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use gatehouse::config::{Config, Countries};
use gatehouse::domain::PhoneNumber;
use gatehouse::hydra::supervisor::HydraStatus;
use gatehouse::infra::clock::Clock;
use gatehouse::store::users::{self, Profile, User};
use gatehouse::store::Store;
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

/// A port free on 127.0.0.1 for a child process (Hydra, the binary, nginx)
/// to listen on, and given to no other test of this run. It is taken below
/// the kernel's ephemeral range (Linux: from 32768), where port-0 listeners
/// (the sinks) and outgoing connections get theirs: between this answer and
/// the child's bind, the kernel never hands the port to anyone else.
pub fn free_port() -> u16 {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000;
    // Runs that overlap (two clones on one machine) start apart.
    let offset = std::process::id() % COUNT;
    for _ in 0..COUNT {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let port = (FIRST + (offset + n) % COUNT) as u16;
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
    panic!("no free port between {FIRST} and {}", FIRST + COUNT);
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
    // Many tests ask for more codes from 127.0.0.1 than the default free
    // ones; the bot challenge's own tests (bot_challenge/) turn it on.
    config.bot_challenge.kind = gatehouse::config::BotChallengeKind::Off;
    // Codes go to a test sink in most tests, to any of the test numbers;
    // many are never verified. The policy's own tests set it up themselves.
    config.sms.policy.allowed_countries = Some(Countries::All);
    config.sms.policy.adaptive_floor = 10_000;
    // Most tests drive the SMS sign-in alone, straight back to Hydra; the
    // methods' own tests (signin/methods/) offer the others.
    config.login.methods = vec![gatehouse::config::LoginMethod::Sms];
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
        Self::spawn_with_clock(Clock::system(), customize).await
    }

    /// [`TestApp::spawn_with`] on `clock` (a manual one the test moves).
    pub async fn spawn_with_clock(clock: Clock, customize: impl FnOnce(&mut Config)) -> TestApp {
        super::init_logging();
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = test_config(data_dir.path().to_path_buf());
        customize(&mut config);
        on_test_database_engine(&mut config).await;
        Self::start_with_clock(config, data_dir, clock).await
    }

    /// Starts gatehouse with exactly `config` on `data_dir` (e.g. a restored one).
    pub async fn start(config: Config, data_dir: tempfile::TempDir) -> TestApp {
        Self::start_with_clock(config, data_dir, Clock::system()).await
    }

    async fn start_with_clock(
        config: Config,
        data_dir: tempfile::TempDir,
        clock: Clock,
    ) -> TestApp {
        let app = Application::build_with_clock(config.clone(), clock)
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
        super::binary::run_with_config_file(&self.config, args).await
    }

    /// GETs `path` on the public port (no redirects followed).
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("gatehouse answers")
    }

    /// GETs `path` on the public port, expects 200 and parses the JSON body
    /// (the body is in the panic message when it does not parse).
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let response = self.get(path).await;
        let status = response.status();
        let body = response.text().await.expect("response body");
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    /// `GET /userinfo` with `access_token`, as JSON.
    pub async fn userinfo(&self, access_token: &str) -> Value {
        self.http
            .get(self.url("/userinfo"))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("userinfo answers")
            .json()
            .await
            .expect("userinfo is JSON")
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

    /// A new handle on this instance's database (its own connection).
    pub fn store(&self) -> Store {
        Store::open_configured(&self.config).expect("open the store")
    }

    /// Waits until gatehouse's SMS outbox is empty (see [`outbox_drained`]).
    pub async fn outbox_drained(&self) {
        outbox_drained(&self.store()).await;
    }

    /// A connection of the test's own to the database, for white-box reads
    /// of rows the store has no operation for.
    pub fn database(&self) -> rusqlite::Connection {
        database(&self.config.data_dir)
    }

    /// Adds an enabled user with a verified `phone` and `profile`.
    pub async fn add_user(&self, phone: &str, profile: Profile) -> User {
        let phone = PhoneNumber::parse(phone, None).unwrap();
        self.store()
            .run(move |conn| users::insert(conn, &phone, &profile, true, 1))
            .await
            .unwrap()
    }

    /// A `client_credentials` token request for `scope` on the public port,
    /// the client authenticating with HTTP Basic.
    pub async fn client_credentials(
        &self,
        client_id: &str,
        secret: &str,
        scope: &str,
    ) -> reqwest::Response {
        self.http
            .post(self.url("/oauth2/token"))
            .basic_auth(client_id, Some(secret))
            .form(&[("grant_type", "client_credentials"), ("scope", scope)])
            .send()
            .await
            .expect("the token endpoint answers")
    }

    /// Gatehouse's typed client of this instance's Hydra admin API.
    pub fn hydra_client(&self) -> gatehouse::hydra::HydraClient {
        gatehouse::hydra::HydraClient::new(self.config.hydra_admin_url(), None)
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

/// A client that does not follow redirects, like a careful OAuth client.
pub fn http_client() -> reqwest::Client {
    client_builder().build().expect("reqwest client")
}

/// The tests' HTTP client settings: no proxy, no redirects, a 30 s limit.
pub fn client_builder() -> reqwest::ClientBuilder {
    gatehouse::infra::http::install_crypto_provider();
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
}

/// Which engine the suite's instances keep their state on: SQLite in the
/// data dir, or with `TEST_STORE_ENGINE=postgres` (scripts/test's
/// second pass) a fresh database of its own on the tests' PostgreSQL.
/// (Not `GATEHOUSE_*`: the binary the CLI tests run reads those as settings.)
pub const TEST_DATABASE_VAR: &str = "TEST_STORE_ENGINE";

/// Puts an instance's state on the engine [`TEST_DATABASE_VAR`] names,
/// unless the test chose a database itself.
pub async fn on_test_database_engine(config: &mut Config) {
    match std::env::var(TEST_DATABASE_VAR).as_deref() {
        Ok("postgres") if config.database.url.is_none() => {
            let database = super::postgres::shared().database().await;
            config.database.url = Some(gatehouse::config::Secret::new(database.url()));
            config.database.pool_size = 2;
        }
        Ok("postgres") | Ok("sqlite") | Err(_) => {}
        Ok(other) => panic!("{TEST_DATABASE_VAR}={other}: sqlite or postgres"),
    }
}

/// A connection to the database in `data_dir`, for white-box reads.
pub fn database(data_dir: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(data_dir.join("gatehouse.sqlite")).expect("open the database")
}

/// Waits until the SMS outbox in `store` is empty: every queued message was
/// delivered or given up. Then "no message was sent" means it.
pub async fn outbox_drained(store: &Store) {
    let started = std::time::Instant::now();
    loop {
        let pending = store
            .run(|db| gatehouse::store::outbox::pending(db))
            .await
            .expect("read the outbox");
        if pending == 0 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{pending} messages still queued after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
