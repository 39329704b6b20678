//! Running gatehouse in production: the systemd unit and sd_notify, the data
//! dir lock, bounded graceful shutdown, backup and restore, and `doctor`.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::oauth::{register_client, Browser, Client, Hop};
use common::{TestApp, WebhookSink};
use gatehouse::config::{Config, SmsSenderKind};
use serde_json::{json, Value};

const BINARY: &str = env!("CARGO_BIN_EXE_gatehouse");
const UNIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/gatehouse.service");

// --- systemd unit ------------------------------------------------------------

/// `[Service]` and `[Unit]` keys of the shipped unit, as (section.key -> values).
fn unit_directives() -> HashMap<String, Vec<String>> {
    let text = std::fs::read_to_string(UNIT).unwrap();
    let mut section = String::new();
    let mut directives: HashMap<String, Vec<String>> = HashMap::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        let (key, value) = line.split_once('=').expect("key=value line");
        directives
            .entry(format!("{section}.{}", key.trim()))
            .or_default()
            .push(value.trim().to_string());
    }
    directives
}

#[test]
fn systemd_unit_has_the_required_directives() {
    let unit = unit_directives();
    let expected = [
        ("Type", "notify"),
        ("NotifyAccess", "main"),
        ("User", "gatehouse"),
        ("Group", "gatehouse"),
        (
            "ExecStart",
            "/usr/local/bin/gatehouse --config /etc/gatehouse/config.toml serve",
        ),
        ("StateDirectory", "gatehouse"),
        ("StateDirectoryMode", "0700"),
        ("ConfigurationDirectory", "gatehouse"),
        ("Restart", "on-failure"),
        ("RestartPreventExitStatus", "78"),
        ("KillMode", "mixed"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
        ("CapabilityBoundingSet", ""),
        ("AmbientCapabilities", ""),
        ("SystemCallFilter", "@system-service"),
        ("MemoryDenyWriteExecute", "yes"),
        ("LockPersonality", "yes"),
        ("RestrictNamespaces", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectKernelLogs", "yes"),
        ("ProtectControlGroups", "yes"),
        ("RestrictRealtime", "yes"),
        ("RestrictSUIDSGID", "yes"),
        ("UMask", "0077"),
    ];
    let mut wrong = Vec::new();
    for (key, value) in expected {
        let found = unit.get(&format!("Service.{key}"));
        if found != Some(&vec![value.to_string()]) {
            wrong.push(format!("{key}: expected {value:?}, found {found:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "systemd/gatehouse.service:\n{}",
        wrong.join("\n")
    );
    // The stop timeout must cover server.shutdown_timeout (10s) + Hydra's 10s.
    let stop: u64 = unit["Service.TimeoutStopSec"][0].parse().unwrap();
    assert!(stop > 20, "TimeoutStopSec={stop}");
    assert!(
        !unit.contains_key("Service.Environment"),
        "settings belong in /etc/gatehouse/config.toml, where the CLI sees them too"
    );
}

/// Fails (rather than passing quietly) when systemd-analyze is missing:
/// scripts/test installs it.
#[test]
fn systemd_unit_passes_systemd_analyze_verify() {
    let Ok(version) = Command::new("systemd-analyze").arg("--version").output() else {
        panic!(
            "systemd-analyze is not installed, so the unit was NOT verified: \
             install Debian's `systemd` package (scripts/test does)"
        );
    };
    assert!(version.status.success());
    // verify checks that ExecStart's program exists: point it at the binary
    // under test, which is the only change to the shipped unit.
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(UNIT)
        .unwrap()
        .replace("/usr/local/bin/gatehouse", BINARY);
    let path = dir.path().join("gatehouse.service");
    std::fs::write(&path, unit).unwrap();
    let output = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    // Unknown or misspelt directives are only warnings: none allowed.
    assert!(stderr.trim().is_empty(), "systemd-analyze warns:\n{stderr}");
}

// --- the real binary ---------------------------------------------------------

/// Environment that points the binary at `config` (data dir, ports, Hydra).
fn env_for(config: &Config) -> Vec<(String, String)> {
    let mut env = vec![
        ("GATEHOUSE_DATA_DIR", config.data_dir.display().to_string()),
        ("GATEHOUSE_SERVER__LISTEN", config.server.listen.to_string()),
        (
            "GATEHOUSE_SERVER__PUBLIC_URL",
            config.server.public_url.to_string(),
        ),
        (
            "GATEHOUSE_HYDRA__BINARY",
            config.hydra.binary.display().to_string(),
        ),
        (
            "GATEHOUSE_HYDRA__PUBLIC_PORT",
            config.hydra.public_port.to_string(),
        ),
        (
            "GATEHOUSE_HYDRA__ADMIN_PORT",
            config.hydra.admin_port.to_string(),
        ),
        ("GATEHOUSE_LOG__LEVEL", "warn".to_string()),
    ];
    if let SmsSenderKind::Webhook { url } = &config.sms.sender {
        env.push(("GATEHOUSE_SMS__SENDER", "webhook".into()));
        env.push(("GATEHOUSE_SMS__WEBHOOK__URL", url.to_string()));
    }
    env.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn command(args: &[&str], env: &[(String, String)]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null());
    command
}

/// Runs a CLI command to completion off the async executor.
async fn run(args: &[&str], env: &[(String, String)]) -> Output {
    let mut command = command(args, env);
    tokio::task::spawn_blocking(move || command.output().expect("run gatehouse"))
        .await
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `gatehouse serve` as a child process; SIGKILLed if the test fails.
struct Served(Child);

impl Served {
    fn start(env: &[(String, String)], extra: &[(&str, &str)]) -> Served {
        let child = command(&["serve"], env)
            .envs(extra.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start gatehouse serve");
        Served(child)
    }

    fn sigterm(&self) {
        // SAFETY: kill(2) on the pid of the child this test started.
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
    }

    /// Waits for exit, at most `limit` (a "does not hang" bound).
    async fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "gatehouse did not exit within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The next sd_notify datagram, within a generous bound.
async fn receive(socket: &tokio::net::UnixDatagram) -> String {
    let mut buffer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(90), socket.recv(&mut buffer))
        .await
        .expect("a notification within 90s")
        .unwrap();
    String::from_utf8(buffer[..n].to_vec()).unwrap()
}

fn fresh_config(dir: &Path) -> Config {
    common::test_config(dir.join("data"))
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
    let http = common::http_client();

    let mut messages = Vec::new();
    loop {
        let message = receive(&socket).await;
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
    let stopping = receive(&socket).await;
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
    common::wait_ready(
        &format!("http://{}", config.server.listen),
        Duration::from_secs(60),
    )
    .await;

    // Other ports, same data dir: the lock, not a port, must stop it.
    let other = common::test_config(config.data_dir.clone());
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

// --- graceful shutdown -------------------------------------------------------

/// An app whose SMS webhook never answers, and a login page to post to.
async fn app_with_hanging_webhook(
    webhook_timeout: Duration,
    shutdown_timeout: Duration,
) -> (TestApp, WebhookSink, Browser, Hop) {
    let sms = WebhookSink::hanging().await;
    let callback = WebhookSink::start(200).await;
    let url = sms.url.clone();
    let app = TestApp::spawn_with(|config| {
        config.sms.sender = SmsSenderKind::Webhook {
            url: url.parse().unwrap(),
        };
        config.sms.webhook.timeout = webhook_timeout;
        config.sms.webhook.max_attempts = 1;
        config.server.shutdown_timeout = shutdown_timeout;
    })
    .await;
    let client = register_client(&app, &callback, json!({"skip_consent": true})).await;
    let browser = Browser::new();
    let auth = client.authorize(&app, "openid");
    let login = browser.follow(&auth.url, &callback.url).await;
    assert_eq!(login.status, 200, "{}", login.body);
    (app, sms, browser, login)
}

/// Starts "send me a code" and returns once gatehouse is waiting on the
/// webhook, i.e. the request is in flight.
async fn request_in_flight(
    app: &TestApp,
    sms: &WebhookSink,
    browser: Browser,
    login: Hop,
) -> tokio::task::JoinHandle<Result<u16, String>> {
    let url = app.url("/login");
    let mut form: Vec<(String, String)> = common::oauth::hidden_inputs(&login.body)
        .into_iter()
        .collect();
    form.push(("action".into(), "send".into()));
    form.push(("phone".into(), "+12015550170".into()));
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
    let sms = sms.clone();
    common::eventually(
        Duration::from_secs(30),
        "the code request reached the webhook",
        || !sms.received().is_empty(),
    )
    .await;
    request
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_request_finish() {
    let (app, sms, browser, login) =
        app_with_hanging_webhook(Duration::from_secs(2), Duration::from_secs(30)).await;
    let request = request_in_flight(&app, &sms, browser, login).await;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(60), app.stop())
        .await
        .expect("shutdown finished");
    // The webhook gives up after 2s; gatehouse's page saying the code could
    // not be sent (502) is still delivered.
    let status = request.await.unwrap().expect("a response, not a reset");
    assert_eq!(status, 502);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "shutdown did not wait for the request"
    );
}

#[tokio::test]
async fn shutdown_does_not_wait_longer_than_shutdown_timeout() {
    // The request would take 60s (webhook timeout); shutdown allows 1s.
    let (app, sms, browser, login) =
        app_with_hanging_webhook(Duration::from_secs(60), Duration::from_secs(1)).await;
    let _request = request_in_flight(&app, &sms, browser, login).await;
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

// --- backup and restore ------------------------------------------------------

struct SignIns {
    app: TestApp,
    sms: WebhookSink,
    callback: WebhookSink,
    client: Client,
}

impl SignIns {
    /// The code flow for `phone` up to the token response.
    async fn sign_in(&self, phone: &str) -> Value {
        let browser = Browser::new();
        let auth = self.client.authorize(&self.app, "openid offline_access");
        let login = browser.follow(&auth.url, &self.callback.url).await;
        assert_eq!(login.status, 200, "{}", login.body);
        let code_page = browser
            .submit(
                &self.app,
                &login,
                "/login",
                &[("action", "send"), ("phone", phone)],
            )
            .await;
        assert_eq!(code_page.status, 200, "{}", code_page.body);
        let code = self.sms.last_code_for(phone).expect("an SMS was sent");
        let accepted = browser
            .submit(
                &self.app,
                &code_page,
                "/login",
                &[("action", "verify"), ("code", code.as_str())],
            )
            .await;
        let next = accepted.location.clone().expect("redirect after the code");
        let callback = browser.follow(&next, &self.callback.url).await;
        let code = callback.location_param("code").expect("code in callback");
        let (status, tokens) = self.client.exchange(&self.app, &code, &auth.verifier).await;
        assert_eq!(status, 200, "{tokens}");
        tokens
    }
}

fn phone(n: usize) -> String {
    format!("+1201555{:04}", 100 + n)
}

fn integrity(path: &Path) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap()
}

#[tokio::test]
async fn backup_during_sign_ins_restores_users_and_refresh_tokens() {
    let sms = WebhookSink::start(200).await;
    let callback = WebhookSink::start(200).await;
    let url = sms.url.clone();
    let app = TestApp::spawn_with(|config| {
        config.sms.sender = SmsSenderKind::Webhook {
            url: url.parse().unwrap(),
        };
        config.otp.max_per_ip_per_hour = 1000;
    })
    .await;
    let client = register_client(&app, &callback, json!({"skip_consent": true})).await;
    let world = Arc::new(SignIns {
        app,
        sms,
        callback,
        client,
    });
    let before = world.sign_in(&phone(0)).await;
    let refresh_token = before["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_string();

    // A stream of sign-ins, each a new user, while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let stream = tokio::spawn({
        let (world, stop, done) = (world.clone(), stop.clone(), done.clone());
        async move {
            let mut n = 1;
            while !stop.load(Ordering::SeqCst) && n < 90 {
                world.sign_in(&phone(n)).await;
                done.fetch_add(1, Ordering::SeqCst);
                n += 1;
            }
        }
    });
    let counter = done.clone();
    common::eventually(Duration::from_secs(60), "sign-ins are flowing", || {
        counter.load(Ordering::SeqCst) >= 2
    })
    .await;

    let out = tempfile::tempdir().unwrap();
    let backup_dir = out.path().join("backup");
    let env = env_for(&world.app.config);
    let started = Instant::now();
    let output = run(&["backup", backup_dir.to_str().unwrap()], &env).await;
    let backup_time = started.elapsed();
    assert!(output.status.success(), "{}", text(&output));
    let during = done.load(Ordering::SeqCst);
    common::eventually(
        Duration::from_secs(60),
        "sign-ins went on after the backup",
        || counter.load(Ordering::SeqCst) > during,
    )
    .await;
    stop.store(true, Ordering::SeqCst);
    stream.await.expect("sign-in stream");
    eprintln!(
        "backup took {backup_time:?} while signing in: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );

    // Files are private; the manifest names versions and checksums.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&backup_dir), 0o700);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(backup_dir.join("manifest.json")).unwrap()).unwrap();
    let files: Vec<&str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for expected in [
        "gatehouse.sqlite",
        "hydra/hydra.sqlite",
        "secrets/hydra-system.secret",
        "secrets/otp.secret",
    ] {
        assert!(
            files.contains(&expected),
            "{expected} missing from {files:?}"
        );
    }
    for file in files.iter().chain(["manifest.json"].iter()) {
        assert_eq!(mode(&backup_dir.join(file)), 0o600, "{file}");
    }
    assert_eq!(manifest["gatehouse_version"], env!("CARGO_PKG_VERSION"));
    assert!(manifest["schema_version"].as_i64().unwrap() >= 1);
    assert!(manifest["created_at"].is_string());

    // Restoring onto the running gatehouse's data dir is refused.
    let output = run(&["restore", "--force", backup_dir.to_str().unwrap()], &env).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("in use by a running gatehouse"),
        "{}",
        text(&output)
    );

    // A tampered copy is refused, naming the file.
    let tampered = out.path().join("tampered");
    copy_dir(&backup_dir, &tampered);
    let secret = tampered.join("secrets/otp.secret");
    let mut bytes = std::fs::read(&secret).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&secret, bytes).unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let mut fresh_env = env.clone();
    set_env(
        &mut fresh_env,
        "GATEHOUSE_DATA_DIR",
        fresh.path().to_str().unwrap(),
    );
    let output = run(&["restore", tampered.to_str().unwrap()], &fresh_env).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("secrets/otp.secret"), "{stderr}");
    assert!(stderr.contains("checksum"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    // Restore into a fresh data dir and start there with the same issuer.
    let output = run(&["restore", backup_dir.to_str().unwrap()], &fresh_env).await;
    assert!(output.status.success(), "{}", text(&output));
    for db in ["gatehouse.sqlite", "hydra/hydra.sqlite"] {
        assert_eq!(integrity(&fresh.path().join(db)), "ok", "{db}");
        assert_eq!(mode(&fresh.path().join(db)), 0o600, "{db}");
    }
    // The restored data dir refuses another restore unless forced.
    let output = run(&["restore", backup_dir.to_str().unwrap()], &fresh_env).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--force"));

    let world = Arc::try_unwrap(world).ok().expect("no other owner");
    let SignIns {
        app, client, sms, ..
    } = world;
    let mut config = app.config.clone();
    app.stop().await;
    config.data_dir = fresh.path().to_path_buf();
    let restored = TestApp::start(config, fresh).await;

    let store =
        gatehouse::store::Store::open(&restored.config.data_dir.join("gatehouse.sqlite")).unwrap();
    let users = store
        .run(|conn| gatehouse::store::users::list(conn))
        .await
        .unwrap();
    let phones: Vec<String> = users.iter().map(|u| u.phone.clone()).collect();
    for n in 0..during.min(2) {
        assert!(
            phones.contains(&phone(n)),
            "{} missing from {phones:?}",
            phone(n)
        );
    }
    assert!(users.len() > during.min(2), "{phones:?}");

    let (status, refreshed) = client.refresh(&restored, &refresh_token).await;
    assert_eq!(
        status, 200,
        "refresh token from before the backup: {refreshed}"
    );
    assert!(refreshed["access_token"].is_string());
    drop(sms);
    restored.stop().await;
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn set_env(env: &mut Vec<(String, String)>, key: &str, value: &str) {
    env.retain(|(k, _)| k != key);
    env.push((key.to_string(), value.to_string()));
}

// --- doctor ------------------------------------------------------------------

async fn doctor(env: &[(String, String)]) -> (Option<i32>, Vec<String>, String) {
    let output = run(&["doctor"], env).await;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let lines = stdout.lines().map(str::to_string).collect();
    (output.status.code(), lines, text(&output))
}

fn problems(lines: &[String]) -> Vec<&String> {
    lines
        .iter()
        .filter(|l| l.starts_with("problem: "))
        .collect()
}

#[tokio::test]
async fn doctor_passes_on_a_healthy_running_setup() {
    let sms = WebhookSink::start(200).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = fresh_config(dir.path());
    config.sms.sender = SmsSenderKind::Webhook {
        url: sms.url.parse().unwrap(),
    };
    let env = env_for(&config);
    let _served = Served::start(&env, &[]);
    common::wait_ready(
        &format!("http://{}", config.server.listen),
        Duration::from_secs(60),
    )
    .await;

    let (code, lines, all) = doctor(&env).await;
    assert_eq!(code, Some(0), "{all}");
    assert!(problems(&lines).is_empty(), "{all}");
    for expected in [
        "ok: configuration is valid",
        "ok: data dir",
        "ok: Hydra binary",
        "ok: gatehouse is running on this data dir",
        "ok: server.listen",
        "ok: hydra.admin_port",
        "ok: Hydra at",
        "ok: SMS webhook",
        "ok: users live in gatehouse's own table",
        "skip: legacy-session verifier",
        "ok: gatehouse database",
        "ok: Hydra database",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(expected)),
            "no `{expected}` in\n{all}"
        );
    }
    assert!(sms.received().is_empty(), "doctor sent an SMS");
}

/// A stopped setup with its data dir, databases and secrets in place.
async fn stopped_setup(dir: &Path) -> Config {
    let config = fresh_config(dir);
    let env = env_for(&config);
    let mut served = Served::start(&env, &[]);
    common::wait_ready(
        &format!("http://{}", config.server.listen),
        Duration::from_secs(60),
    )
    .await;
    served.sigterm();
    let status = served.wait(Duration::from_secs(60)).await;
    assert!(status.success());
    config
}

#[tokio::test]
async fn doctor_names_the_fix_for_each_problem() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let config = stopped_setup(dir.path()).await;
    let env = env_for(&config);
    let (code, lines, all) = doctor(&env).await;
    assert_eq!(code, Some(0), "a stopped, healthy setup: {all}");
    assert!(
        lines.iter().any(|l| l.starts_with("skip: Hydra readiness")),
        "{all}"
    );

    // Loose permissions on a secret file.
    let secret = config.data_dir.join("secrets/otp.secret");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, lines, all) = doctor(&env).await;
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(code, Some(1), "{all}");
    let found = problems(&lines);
    assert_eq!(found.len(), 1, "{all}");
    assert!(found[0].contains("otp.secret has mode 0644"), "{all}");
    assert!(
        found[0].contains(&format!("fix: chmod 600 {}", secret.display())),
        "{all}"
    );

    // A database sidecar left behind by another user (root, say).
    let wal = config.data_dir.join("gatehouse.sqlite-wal");
    std::fs::write(&wal, b"").unwrap();
    std::os::unix::fs::chown(&wal, Some(65534), Some(65534)).unwrap();
    let (code, lines, all) = doctor(&env).await;
    std::fs::remove_file(&wal).unwrap();
    assert_eq!(code, Some(1), "{all}");
    let found = problems(&lines);
    assert_eq!(found.len(), 1, "{all}");
    assert!(
        found[0].contains("gatehouse.sqlite-wal belongs to uid 65534"),
        "{all}"
    );
    assert!(found[0].contains("fix: chown -R"), "{all}");

    // A missing Hydra binary.
    let mut missing = env.clone();
    set_env(
        &mut missing,
        "GATEHOUSE_HYDRA__BINARY",
        "/nonexistent/hydra",
    );
    let (code, lines, all) = doctor(&missing).await;
    assert_eq!(code, Some(1), "{all}");
    let found = problems(&lines);
    assert_eq!(found.len(), 1, "{all}");
    assert!(found[0].contains("/nonexistent/hydra is missing"), "{all}");
    assert!(found[0].contains("fix: install Hydra v2.3.0"), "{all}");
    assert!(found[0].contains("`hydra.binary`"), "{all}");

    // An SMS webhook nobody listens on.
    let mut unreachable = env.clone();
    let port = common::free_port();
    set_env(&mut unreachable, "GATEHOUSE_SMS__SENDER", "webhook");
    set_env(
        &mut unreachable,
        "GATEHOUSE_SMS__WEBHOOK__URL",
        &format!("http://127.0.0.1:{port}/sms"),
    );
    let (code, lines, all) = doctor(&unreachable).await;
    assert_eq!(code, Some(1), "{all}");
    let found = problems(&lines);
    assert_eq!(found.len(), 1, "{all}");
    assert!(
        found[0].contains(&format!("SMS webhook 127.0.0.1:{port} is unreachable")),
        "{all}"
    );
    assert!(found[0].contains("fix: check `sms.webhook.url`"), "{all}");

    // A port taken by another program.
    let taken = std::net::TcpListener::bind(config.server.listen).unwrap();
    let (code, lines, all) = doctor(&env).await;
    drop(taken);
    assert_eq!(code, Some(1), "{all}");
    let found = problems(&lines);
    assert!(found[0].contains("server.listen"), "{all}");
    assert!(found[0].contains("in use by another program"), "{all}");
}

#[tokio::test]
async fn doctor_reports_a_bad_configuration_with_exit_78() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = env_for(&fresh_config(dir.path()));
    set_env(&mut env, "GATEHOUSE_SERVER__SHUTDOWN_TIMEOUT", "forever");
    let (code, lines, all) = doctor(&env).await;
    assert_eq!(code, Some(78), "{all}");
    assert_eq!(lines.len(), 1, "{all}");
    assert!(
        lines[0].starts_with("problem: configuration key `server.shutdown_timeout`"),
        "{all}"
    );
    assert!(lines[0].contains("fix:"), "{all}");
}
