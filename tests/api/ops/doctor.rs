//! `gatehouse doctor`: a healthy setup passes, each problem is named with
//! its fix, a bad configuration exits 78.

use std::path::Path;
use std::time::Duration;

use axum::response::IntoResponse;

use super::{fresh_config, run, set_env, text, Served};
use crate::helpers::binary::env_for;
use crate::helpers::test_ca::TestCa;
use crate::helpers::WebhookSink;
use gatehouse::config::{Config, SmsSenderKind};

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
    crate::helpers::wait_ready(
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
        "ok: the running Hydra is v2.3.0, the pinned version",
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
    crate::helpers::wait_ready(
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
    let port = crate::helpers::free_port();
    set_env(&mut unreachable, "GATEHOUSE_SMS__SENDER", "webhook");
    set_env(
        &mut unreachable,
        "GATEHOUSE_SMS__WEBHOOK__URL",
        &format!("http://127.0.0.1:{port}/sms"),
    );
    set_env(
        &mut unreachable,
        "GATEHOUSE_SMS__POLICY__ALLOWED_COUNTRIES",
        "[\"*\"]",
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

    // Forward-auth rules without an audience: warned about, but maybe
    // meant (one API, one client), so the exit status stays 0.
    let mut open_rules = env.clone();
    set_env(
        &mut open_rules,
        "GATEHOUSE_FORWARD_AUTH__RULES",
        r#"[{prefix="/admin",scopes=["admin"]}]"#,
    );
    let (code, lines, all) = doctor(&open_rules).await;
    assert_eq!(code, Some(0), "{all}");
    assert!(problems(&lines).is_empty(), "{all}");
    let warned: Vec<_> = lines
        .iter()
        .filter(|l| l.starts_with("warning: "))
        .collect();
    assert_eq!(warned.len(), 1, "{all}");
    assert!(warned[0].contains("without forward_auth.audience"), "{all}");
    assert!(
        warned[0].contains("fix: set forward_auth.audience"),
        "{all}"
    );
    set_env(
        &mut open_rules,
        "GATEHOUSE_FORWARD_AUTH__AUDIENCE",
        "https://api.example",
    );
    let (_, lines, all) = doctor(&open_rules).await;
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ok: forward auth requires the audience")),
        "{all}"
    );

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

/// What doctor says of an https SMS gateway presenting `cert`, with
/// `ca_file` (None: the system's CAs only).
async fn doctor_on_tls_gateway(cert: (String, String), ca_file: Option<&Path>) -> String {
    let gateway = WebhookSink::start_tls(200, &cert.0, &cert.1).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = fresh_config(dir.path());
    config.sms.sender = SmsSenderKind::Webhook {
        url: gateway.url.parse().unwrap(),
    };
    let mut env = env_for(&config);
    if let Some(ca_file) = ca_file {
        set_env(
            &mut env,
            "GATEHOUSE_SMS__WEBHOOK__CA_FILE",
            ca_file.to_str().unwrap(),
        );
    }
    let (_, lines, all) = doctor(&env).await;
    assert!(gateway.received().is_empty(), "doctor sent an SMS");
    lines
        .into_iter()
        .find(|l| l.contains("SMS webhook"))
        .unwrap_or_else(|| panic!("no SMS webhook line in\n{all}"))
}

#[tokio::test]
async fn doctor_verifies_an_https_gateway_and_names_what_is_wrong() {
    let ca = TestCa::new("Doctor test CA");
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.file(&dir);

    let line = doctor_on_tls_gateway(ca.server_certificate(), Some(&ca_file)).await;
    assert!(
        line.starts_with("ok: SMS webhook") && line.contains("certificate verified"),
        "{line}"
    );
    let line = doctor_on_tls_gateway(ca.server_certificate(), None).await;
    assert!(
        line.starts_with("problem: SMS webhook") && line.contains("does not trust"),
        "unknown CA: {line}"
    );
    let line =
        doctor_on_tls_gateway(ca.certificate_for(&["127.0.0.1"], true), Some(&ca_file)).await;
    assert!(line.contains("has expired"), "expired: {line}");
    let line =
        doctor_on_tls_gateway(ca.certificate_for(&["localhost"], false), Some(&ca_file)).await;
    assert!(
        line.contains("not valid for 127.0.0.1"),
        "wrong name: {line}"
    );
}

#[tokio::test]
async fn doctor_reaches_an_external_hydra_over_https_with_its_ca_file() {
    let ca = TestCa::new("External Hydra CA");
    let (cert, key) = ca.server_certificate();
    // Stands in for Hydra's admin API: `/health/ready` answers 200, and
    // `/version` names an older Hydra than the pinned one.
    let hydra = WebhookSink::answering_tls("/", &cert, &key, |_, request| {
        std::future::ready(match request.uri.as_str() {
            "/version" => axum::Json(serde_json::json!({"version": "v2.2.0"})).into_response(),
            _ => axum::http::StatusCode::OK.into_response(),
        })
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.file(&dir);
    let mut env = env_for(&fresh_config(dir.path()));
    set_env(&mut env, "GATEHOUSE_HYDRA__MODE", "external");
    set_env(&mut env, "GATEHOUSE_HYDRA__ADMIN_URL", &hydra.url);
    set_env(&mut env, "GATEHOUSE_HYDRA__PUBLIC_URL", &hydra.url);
    let hydra_line = |lines: Vec<String>, all: String| {
        lines
            .into_iter()
            .find(|l| l.contains("Hydra at"))
            .unwrap_or_else(|| panic!("no Hydra line in\n{all}"))
    };

    let (_, lines, all) = doctor(&env).await;
    let line = hydra_line(lines, all);
    assert!(
        line.starts_with("problem: Hydra at"),
        "private CA not trusted: {line}"
    );

    set_env(
        &mut env,
        "GATEHOUSE_HYDRA__CA_FILE",
        ca_file.to_str().unwrap(),
    );
    let (code, lines, all) = doctor(&env).await;
    let version = lines
        .iter()
        .find(|l| l.contains("reports version"))
        .unwrap_or_else(|| panic!("no Hydra version line in\n{all}"))
        .clone();
    let line = hydra_line(lines, all.clone());
    assert!(line.starts_with("ok: Hydra at https://"), "{line}");
    assert_eq!(code, Some(1), "{all}");
    assert!(
        version.starts_with("problem: the Hydra at https://")
            && version.contains("reports version v2.2.0, gatehouse needs the pinned v2.3.0")
            && version.contains("fix: run Hydra v2.3.0 at `hydra.admin_url`"),
        "{version}"
    );
    assert!(
        hydra
            .received()
            .iter()
            .all(|r| r.uri == "/health/ready" || r.uri == "/version"),
        "doctor only asked for readiness and the version"
    );
}

/// doctor's line about `hydra.dsn`.
fn hydra_dsn_line(lines: &[String], all: &str) -> String {
    let found: Vec<&String> = lines.iter().filter(|l| l.contains("hydra.dsn")).collect();
    assert_eq!(found.len(), 1, "one line on hydra.dsn in\n{all}");
    found[0].clone()
}

#[tokio::test]
async fn doctor_checks_hydra_dsn_connection_version_and_migrations() {
    let server = crate::helpers::postgres::shared();
    let database = server.database().await;
    let dir = tempfile::tempdir().unwrap();
    let config = fresh_config(dir.path());
    let mut env = env_for(&config);
    set_env(&mut env, "GATEHOUSE_HYDRA__DSN", &database.url());

    // A fresh database: it answers, and Hydra's migrations are all pending.
    let (_, lines, all) = doctor(&env).await;
    let line = hydra_dsn_line(&lines, &all);
    assert!(
        line.starts_with("warning: hydra.dsn: PostgreSQL ") && line.contains(" 0 of Hydra's "),
        "{all}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("Hydra database")),
        "no SQLite file to check for Hydra: {all}"
    );

    // Migrated as gatehouse's start migrates it: current.
    let migrated = std::process::Command::new(&config.hydra.binary)
        .args(["migrate", "sql", "up", "--read-from-env", "--yes"])
        .env_clear()
        .env("DSN", format!("{}?sslmode=disable", database.url()))
        .output()
        .unwrap();
    assert!(migrated.status.success(), "{migrated:?}");
    // Hydra's own pool options are Hydra's: doctor connects without them.
    let with_pool = format!("{}?max_conns=8&max_idle_conns=8", database.url());
    set_env(&mut env, "GATEHOUSE_HYDRA__DSN", &with_pool);
    let (_, lines, all) = doctor(&env).await;
    let line = hydra_dsn_line(&lines, &all);
    assert!(
        line.starts_with("ok: hydra.dsn: PostgreSQL ") && line.contains("migrations are applied"),
        "{all}"
    );

    // A wrong password, and a port nothing listens on: problems naming the key.
    let wrong = database
        .url()
        .replace(&database.password, "not-the-password");
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = database
        .url()
        .replace(&format!(":{}/", database.port), &format!(":{free}/"));
    for dsn in [wrong, unreachable] {
        set_env(&mut env, "GATEHOUSE_HYDRA__DSN", &dsn);
        let (code, lines, all) = doctor(&env).await;
        assert_eq!(code, Some(1), "{all}");
        let line = hydra_dsn_line(&lines, &all);
        assert!(line.starts_with("problem: hydra.dsn: "), "{all}");
        let fix = line.split(" -- fix: ").nth(1).unwrap_or_default();
        assert!(fix.contains("hydra.dsn"), "{all}");
        assert!(
            !all.contains("not-the-password"),
            "the password is not shown: {all}"
        );
    }
}
