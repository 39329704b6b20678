//! The foundation against a real supervised Hydra: one public origin, the
//! proxy, the admin API kept private, and the supervisor's promises.

use crate::helpers::process::send_signal;
use rustix::process::Signal;
use std::process::Stdio;
use std::time::Duration;

use crate::helpers::binary::{self, env_for};
use crate::helpers::{children_of, eventually, process_is_gone, TestApp};
use serde_json::{json, Value};

#[tokio::test]
async fn discovery_document_lives_on_the_public_origin() {
    let app = TestApp::spawn().await;
    let discovery: Value = app.get_json("/.well-known/openid-configuration").await;
    assert_eq!(discovery["issuer"], app.address.as_str());
    for endpoint in [
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "userinfo_endpoint",
        "end_session_endpoint",
        "revocation_endpoint",
    ] {
        let url = discovery[endpoint].as_str().unwrap_or_default();
        assert!(
            url.starts_with(&format!("{}/", app.address)),
            "{endpoint} = {url:?} is not on {}",
            app.address
        );
    }
}

#[tokio::test]
async fn jwks_serves_a_signing_key() {
    let app = TestApp::spawn().await;
    let jwks: Value = app.get_json("/.well-known/jwks.json").await;
    let keys = jwks["keys"].as_array().expect("keys array");
    assert!(!keys.is_empty(), "no keys in {jwks}");
    for key in keys {
        assert!(key["kid"].is_string(), "key without kid: {key}");
        assert!(key["kty"].is_string(), "key without kty: {key}");
        assert!(
            key.get("d").is_none(),
            "private key material published: {key}"
        );
    }
}

#[tokio::test]
async fn client_credentials_token_through_the_public_port_is_active() {
    let app = TestApp::spawn().await;
    let client = app
        .create_client(json!({
            "client_name": "machine",
            "grant_types": ["client_credentials"],
            "scope": "read write",
            "token_endpoint_auth_method": "client_secret_basic",
        }))
        .await;
    let client_id = client["client_id"].as_str().unwrap();
    let client_secret = client["client_secret"].as_str().unwrap();

    let response = app
        .client_credentials(client_id, client_secret, "read")
        .await;
    assert_eq!(response.status(), 200);
    let token: Value = response.json().await.unwrap();
    let access_token = token["access_token"].as_str().expect("access_token");

    let introspection = app.introspect(access_token).await;
    assert_eq!(introspection["active"], true, "{introspection}");
    assert_eq!(introspection["client_id"], client_id);
    assert_eq!(introspection["scope"], "read");

    // A wrong secret is refused by Hydra, through the proxy, as JSON.
    let refused = app
        .http
        .post(app.url("/oauth2/token"))
        .basic_auth(client_id, Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["error"], "invalid_client");
}

#[tokio::test]
async fn admin_api_is_not_reachable_through_the_public_port() {
    let app = TestApp::spawn().await;
    // The same requests succeed on the admin port itself.
    let direct = app
        .http
        .get(app.admin("/admin/clients"))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), 200);

    for (method, path) in [
        ("GET", "/admin/clients"),
        ("POST", "/admin/clients"),
        ("POST", "/admin/oauth2/introspect"),
        ("GET", "/admin/oauth2/auth/requests/login?login_challenge=x"),
        ("DELETE", "/admin/oauth2/auth/sessions/login?subject=x"),
        ("GET", "/oauth2/../admin/clients"),
        ("GET", "/clients"),
        ("GET", "/keys/hydra.openid.id-token"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = app
            .http
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{method} {path} reached something");
    }
}

#[tokio::test]
async fn health_and_readiness_answer_json() {
    let app = TestApp::spawn().await;
    let health: Value = app.get("/healthz").await.json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.headers()["x-frame-options"],
        "DENY",
        "own responses carry security headers"
    );
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["checks"]["database"], "ok");
    assert_eq!(ready["checks"]["hydra"], "ok");
}

#[tokio::test]
async fn a_killed_hydra_is_restarted_and_readiness_recovers() {
    let app = TestApp::spawn().await;
    let first = app.hydra.pid().expect("hydra running");
    send_signal(first, Signal::KILL);
    let hydra = app.hydra.clone();
    eventually(Duration::from_secs(60), "hydra was not restarted", || {
        hydra.pid().is_some_and(|pid| pid != first) && hydra.restarts() == 1
    })
    .await;
    app.wait_ready(Duration::from_secs(60)).await;
    // Tokens still work after the restart: same database, same secrets.
    let discovery = app.get("/.well-known/openid-configuration").await;
    assert_eq!(discovery.status(), 200);
    assert!(process_is_gone(first));
}

#[tokio::test]
async fn readiness_fails_while_hydra_is_down() {
    let app = TestApp::spawn_with(|_| {}).await;
    // Stop (SIGSTOP) rather than kill Hydra, so it cannot answer but is not
    // restarted; readiness must say so.
    let pid = app.hydra.pid().unwrap();
    send_signal(pid, Signal::STOP);
    let response = app.get("/readyz").await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    send_signal(pid, Signal::CONT);
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["checks"]["database"], "ok");
    assert_eq!(body["checks"]["hydra"], "failing", "{body}");
    // Why is for the log: no internal address or error text on the public port.
    let text = body.to_string();
    let admin_port = app.config.hydra.admin_port.to_string();
    for internal in [admin_port.as_str(), "127.0.0.1", "error", "timed out"] {
        assert!(!text.contains(internal), "`{internal}` in {text}");
    }
    app.wait_ready(Duration::from_secs(30)).await;
}

#[tokio::test]
async fn secrets_are_private_and_reused_across_restarts() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn().await;
    let data_dir = app.data_dir.path().to_path_buf();
    let secret_file = data_dir.join("secrets/hydra-system.secret");
    let first = std::fs::read_to_string(&secret_file).unwrap();
    for file in [
        "secrets/hydra-system.secret",
        "secrets/hydra-cookie.secret",
        "hydra/hydra.yaml",
    ] {
        let mode = std::fs::metadata(data_dir.join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file} has mode {:o}", mode & 0o777);
    }
    let client = app
        .create_client(json!({
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_post",
        }))
        .await;

    let app = app.restart().await;
    assert_eq!(std::fs::read_to_string(&secret_file).unwrap(), first);
    // The client registered before the restart can still get a token.
    let token = app
        .http
        .post(app.url("/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client["client_id"].as_str().unwrap()),
            ("client_secret", client["client_secret"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn https_public_url_runs_hydra_without_dev_mode_behind_a_proxy() {
    // gatehouse behind a TLS-terminating proxy: public URL is https, gatehouse
    // itself listens on plain http and tells Hydra the original scheme.
    let app = TestApp::spawn_with(|config| {
        let port = config.server.listen.port();
        config.server.public_url = format!("https://localhost:{port}").parse().unwrap();
    })
    .await;
    let discovery: Value = app
        .http
        .get(app.url("/.well-known/openid-configuration"))
        .header("x-forwarded-proto", "http") // a client's claim must not matter
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let port = app.config.server.listen.port();
    assert_eq!(discovery["issuer"], format!("https://localhost:{port}"));
    let pid = app.hydra.pid().unwrap();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    assert!(!args.iter().any(|a| a == "--dev"), "{args:?}");
}

/// Starts the real `gatehouse serve` binary on a fresh data dir.
fn spawn_binary(data_dir: &std::path::Path) -> (std::process::Child, String) {
    let config = crate::helpers::test_config(data_dir.to_path_buf());
    let address = format!("http://{}", config.server.listen);
    let child = binary::command(&["serve"], env_for(&config), data_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start gatehouse serve");
    (child, address)
}

async fn ready_hydra_child(gatehouse: &std::process::Child, address: &str) -> u32 {
    crate::helpers::wait_ready(address, Duration::from_secs(60)).await;
    let children = children_of(gatehouse.id());
    assert_eq!(
        children.len(),
        1,
        "expected one Hydra child, got {children:?}"
    );
    children[0]
}

#[tokio::test]
async fn sigterm_stops_hydra_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let (mut gatehouse, address) = spawn_binary(dir.path());
    let hydra = ready_hydra_child(&gatehouse, &address).await;
    send_signal(gatehouse.id(), Signal::TERM);
    let status = tokio::task::spawn_blocking(move || gatehouse.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0), "gatehouse exited with {status}");
    assert!(process_is_gone(hydra), "Hydra {hydra} outlived gatehouse");
}

#[tokio::test]
async fn sigkill_of_gatehouse_takes_hydra_down_too() {
    let dir = tempfile::tempdir().unwrap();
    let (mut gatehouse, address) = spawn_binary(dir.path());
    let hydra = ready_hydra_child(&gatehouse, &address).await;
    gatehouse.kill().unwrap();
    gatehouse.wait().unwrap();
    eventually(
        Duration::from_secs(10),
        "Hydra outlived a SIGKILLed gatehouse",
        || process_is_gone(hydra),
    )
    .await;
}

/// Runs the binary with arguments and environment, returning (code, stdout, stderr).
fn run_cli(args: &[&str], env: &[(&str, &str)], dir: &std::path::Path) -> (i32, String, String) {
    let output = binary::command(args, env.iter().copied(), dir)
        .output()
        .expect("run gatehouse");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_bad_config_key_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gatehouse.toml");
    std::fs::write(&file, "[hydra]\nbinnary = \"/usr/bin/hydra\"\n").unwrap();
    let file = file.to_str().unwrap();
    for command in ["serve", "check-config"] {
        let (code, _, stderr) = run_cli(&["--config", file, command], &[], dir.path());
        assert_eq!(code, 78, "{command}: {stderr}");
        assert!(stderr.contains("`hydra.binnary`"), "{command}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
    }

    let (code, _, stderr) = run_cli(
        &["check-config"],
        &[("GATEHOUSE_SERVER__LISTEN", "not-an-address")],
        dir.path(),
    );
    assert_eq!(code, 78);
    assert!(stderr.contains("`server.listen`"), "{stderr}");

    let (code, _, stderr) = run_cli(
        &["check-config"],
        &[("GATEHOUSE_HYDRA__MODE", "sideways")],
        dir.path(),
    );
    assert_eq!(code, 78);
    assert!(stderr.contains("`hydra.mode`"), "{stderr}");

    let (code, _, stderr) = run_cli(&["--config", "/nonexistent.toml", "serve"], &[], dir.path());
    assert_eq!(code, 78);
    assert!(stderr.contains("/nonexistent.toml"), "{stderr}");
}

#[test]
fn setups_unsafe_in_production_stop_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let remote_http = ("GATEHOUSE_SERVER__PUBLIC_URL", "http://id.example.com");
    let remote_https = ("GATEHOUSE_SERVER__PUBLIC_URL", "https://id.example.com");
    for (env, key) in [
        (vec![remote_http], "`server.public_url`"),
        // stdout is the default sender.
        (vec![remote_https], "`sms.sender`"),
        (vec![("GATEHOUSE_OTP__LENGTH", "4")], "`otp.length`"),
    ] {
        for command in ["serve", "check-config"] {
            let (code, _, stderr) = run_cli(&[command], &env, dir.path());
            assert_eq!(code, 78, "{command} {env:?}: {stderr}");
            assert!(stderr.contains(key), "{command} {env:?}: {stderr}");
            assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
        }
        // The one escape hatch, named for what it is.
        let mut env = env.clone();
        env.push(("GATEHOUSE_UNSAFE_DEVELOPMENT_MODE", "true"));
        let (code, _, stderr) = run_cli(&["check-config"], &env, dir.path());
        assert_eq!(code, 0, "{env:?}: {stderr}");
    }
}

#[test]
fn check_config_prints_the_effective_configuration() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[hydra]\naccess_token_ttl = \"15m\"\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run_cli(
        &["check-config"],
        &[("GATEHOUSE_SERVER__LISTEN", "127.0.0.1:9999")],
        dir.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    let printed: toml::Value = toml::from_str(&stdout).expect("printed config is TOML");
    assert_eq!(printed["server"]["listen"].as_str(), Some("127.0.0.1:9999"));
    assert_eq!(printed["hydra"]["access_token_ttl"].as_str(), Some("15m"));
    assert_eq!(printed["hydra"]["mode"].as_str(), Some("supervised"));
}

#[test]
fn a_port_in_use_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let listen = format!("127.0.0.1:{port}");
    let hydra = crate::helpers::hydra_binary();
    let (code, _, stderr) = run_cli(
        &["serve"],
        &[
            ("GATEHOUSE_SERVER__LISTEN", &listen),
            ("GATEHOUSE_DATA_DIR", dir.path().to_str().unwrap()),
            ("GATEHOUSE_HYDRA__BINARY", hydra.to_str().unwrap()),
        ],
        dir.path(),
    );
    assert_ne!(code, 0);
    assert!(stderr.contains("`server.listen`"), "{stderr}");

    let free = crate::helpers::free_port().to_string();
    let listen = format!("127.0.0.1:{free}");
    let (code, _, stderr) = run_cli(
        &["serve"],
        &[
            ("GATEHOUSE_SERVER__LISTEN", &listen),
            ("GATEHOUSE_DATA_DIR", dir.path().to_str().unwrap()),
            ("GATEHOUSE_HYDRA__BINARY", hydra.to_str().unwrap()),
            ("GATEHOUSE_HYDRA__ADMIN_PORT", &port),
        ],
        dir.path(),
    );
    assert_ne!(code, 0);
    assert!(stderr.contains("`hydra.admin_port`"), "{stderr}");
}

#[test]
fn a_missing_hydra_binary_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", crate::helpers::free_port());
    let (code, _, stderr) = run_cli(
        &["serve"],
        &[
            ("GATEHOUSE_SERVER__LISTEN", &listen),
            ("GATEHOUSE_DATA_DIR", dir.path().to_str().unwrap()),
            ("GATEHOUSE_HYDRA__BINARY", "/nonexistent/hydra"),
        ],
        dir.path(),
    );
    assert_ne!(code, 0);
    assert!(stderr.contains("`hydra.binary`"), "{stderr}");
    assert!(stderr.contains("scripts/install-hydra"), "{stderr}");
}
