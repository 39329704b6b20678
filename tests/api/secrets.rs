//! Secrets out of the configuration file and out of sight: every secret
//! setting from a `<key>_file` (the real binary, as systemd's
//! `LoadCredential=` hands them over), `check-config` printing none,
//! `doctor` on loose secret files and on a world-readable config file that
//! holds secrets, and the supervised Hydra's command line (what `ps`
//! shows) and environment holding none of its secrets.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use axum::response::IntoResponse;

use crate::helpers::binary::{self, env_for};
use crate::helpers::{test_config, TestApp, WebhookSink};

/// Writes `value` and a newline (as `echo` or `systemd-creds` leave it)
/// to `dir/name` with `mode`; returns the path.
fn secret_file(dir: &Path, name: &str, value: &str, mode: u32) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("{value}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path.display().to_string()
}

/// The binary with `args`, the test instance's environment and `config`
/// as its config file: (exit code, stdout, stderr).
async fn run(args: &[&str], dir: &Path, config: &str) -> (Option<i32>, String, String) {
    let file = dir.join("config.toml");
    std::fs::write(&file, config).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let env = env_for(&test_config(dir.join("data")));
    let mut all = vec!["--config", file.to_str().unwrap()];
    all.extend_from_slice(args);
    let mut command = binary::command(&all, env, dir);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr),
    )
}

/// Every secret setting but the SQL directory's URL (`kind` is one of
/// them), each from a file in `dir`; `directory_url`: the user service.
fn all_from_files(dir: &Path, directory_url: &str) -> (String, Vec<&'static str>) {
    let secrets = [
        ("sms-bearer", "sms-bearer-SECRET-1"),
        ("sms-hmac", "sms-hmac-SECRET-2"),
        ("directory-auth", "Bearer directory-SECRET-3"),
        ("client-secret", "client-SECRET-4"),
        ("verifier", "verifier-SECRET-5"),
    ];
    let path: Vec<String> = secrets
        .iter()
        .map(|(name, value)| secret_file(dir, name, value, 0o600))
        .collect();
    let config = format!(
        r#"
        [sms]
        sender = "webhook"
        [sms.policy]
        allowed_countries = ["*"]
        [sms.webhook]
        url = "http://127.0.0.1:9/sms"
        bearer_token_file = "{}"
        hmac_secret_file = "{}"
        [users]
        signup = "closed"
        [directory]
        kind = "http"
        cache_ttl = "0s"
        [directory.http]
        base_url = "{directory_url}"
        auth_header = "Authorization"
        auth_value_file = "{}"
        [[headless.clients]]
        client_id = "app"
        client_secret_file = "{}"
        redirect_uri = "https://app.example/cb"
        scope = "openid"
        [headless.token_exchange]
        url = "http://127.0.0.1:9/verify"
        bearer_token_file = "{}"
        "#,
        path[0], path[1], path[2], path[3], path[4]
    );
    (config, secrets.iter().map(|(_, value)| *value).collect())
}

fn sql_from_file(dir: &Path, url: &str) -> String {
    let path = secret_file(dir, "database-url", url, 0o600);
    format!(
        "[users]\nsignup = \"closed\"\n[directory]\nkind = \"sql\"\n[directory.sql]\n\
         url_file = \"{path}\"\nby_phone = \"SELECT $1\"\nby_id = \"SELECT $1\"\n"
    )
}

#[tokio::test]
async fn every_secret_works_from_a_file_and_check_config_prints_none() {
    // The user service sees the auth value from its file (doctor's probe).
    let users = WebhookSink::answering("/api", |_, _| {
        std::future::ready(axum::http::StatusCode::NOT_FOUND.into_response())
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (config, values) = all_from_files(dir.path(), &users.url);
    let (code, stdout, stderr) = run(&["check-config"], dir.path(), &config).await;
    assert_eq!(code, Some(0), "{stderr}");
    for value in &values {
        assert!(!stdout.contains(value), "{value} printed:\n{stdout}");
        assert!(!stderr.contains(value), "{value} printed:\n{stderr}");
    }
    assert_eq!(
        stdout.matches("\"(redacted)\"").count(),
        values.len(),
        "{stdout}"
    );

    let (_, stdout, _) = run(&["doctor"], dir.path(), &config).await;
    assert!(
        stdout.contains("ok: the secret files are readable by their owner only"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok: the user directory answers"),
        "{stdout}"
    );
    let probe = users.received();
    assert_eq!(
        probe[0].headers["authorization"], "Bearer directory-SECRET-3",
        "the value from the file, its newline trimmed"
    );

    let url = "postgres://gatehouse_ro:pw-SECRET-6@db.internal/app?sslmode=verify-full";
    let (code, stdout, stderr) = run(
        &["check-config"],
        dir.path(),
        &sql_from_file(dir.path(), url),
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        !stdout.contains("SECRET") && !stderr.contains("SECRET"),
        "{stdout}{stderr}"
    );
    assert!(stdout.contains("url = \"(redacted)\""), "{stdout}");
}

#[tokio::test]
async fn a_secret_given_both_ways_or_from_a_bad_file_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = secret_file(dir.path(), "hmac", "mac-SECRET", 0o600);
    let twice =
        format!("[sms.webhook]\nhmac_secret = \"mac-SECRET\"\nhmac_secret_file = \"{path}\"\n");
    let empty = secret_file(dir.path(), "empty", "", 0o600);
    let bad_file = |path: &str| {
        format!("[[headless.clients]]\nclient_id = \"app\"\nclient_secret_file = \"{path}\"\nredirect_uri = \"https://a/cb\"\nscope = \"openid\"\n")
    };
    for (config, key, problem) in [
        (twice, "`sms.webhook.hmac_secret`", "is set twice"),
        (
            bad_file(&empty),
            "`headless.clients.0.client_secret_file`",
            "is empty",
        ),
        (
            bad_file("/nonexistent/secret"),
            "`headless.clients.0.client_secret_file`",
            "cannot read",
        ),
    ] {
        for command in ["check-config", "serve"] {
            let (code, stdout, stderr) = run(&[command], dir.path(), &config).await;
            assert_eq!(code, Some(78), "{command}: {stderr}");
            assert!(
                stderr.contains(key) && stderr.contains(problem),
                "{command}: {stderr}"
            );
            assert!(
                !format!("{stdout}{stderr}").contains("mac-SECRET"),
                "{stderr}"
            );
        }
    }
}

#[tokio::test]
async fn doctor_warns_on_a_shared_secret_file_and_refuses_a_world_readable_config_with_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let shared = secret_file(dir.path(), "hmac", "mac-SECRET", 0o640);
    let config =
        format!("[sms.webhook]\nhmac_secret_file = \"{shared}\"\nbearer_token = \"tok-SECRET\"\n");
    let (_, stdout, _) = run(&["doctor"], dir.path(), &config).await;
    let warning = format!(
        "warning: {shared} (sms.webhook.hmac_secret_file) has mode 0640: other users can read \
         the secret -- fix: chmod 600 {shared}"
    );
    assert!(stdout.contains(&warning), "{stdout}");
    assert!(!stdout.contains("holds secrets"), "0600 config: {stdout}");

    // The same, with the config file readable by everyone (run() writes
    // it 0600 first: loosen it through a second file).
    let file = dir.path().join("world.toml");
    std::fs::write(&file, &config).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let env = env_for(&test_config(dir.path().join("data")));
    let output = binary::command(
        &["--config", file.to_str().unwrap(), "doctor"],
        env,
        dir.path(),
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let problem = format!(
        "problem: {} holds secrets (sms.webhook.bearer_token) and every user on this host can \
         read it (mode 0644)",
        file.display()
    );
    assert!(stdout.contains(&problem), "{stdout}");
    assert_ne!(output.status.code(), Some(0), "{stdout}");
    assert!(!stdout.contains("SECRET"), "{stdout}");
}

/// The NUL-separated strings of a /proc file, joined by spaces.
fn proc_text(pid: u32, file: &str) -> String {
    let bytes = std::fs::read(format!("/proc/{pid}/{file}")).unwrap();
    String::from_utf8_lossy(&bytes).replace('\0', " ")
}

#[tokio::test]
async fn hydras_secrets_and_dsn_are_not_on_its_command_line_nor_in_its_environment() {
    let app = TestApp::spawn().await;
    let data_dir = app.data_dir.path();
    let hydra_config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data_dir.join("hydra/hydra.yaml")).unwrap())
            .unwrap();
    let mut secrets: Vec<String> = ["secrets/hydra-system.secret", "secrets/hydra-cookie.secret"]
        .iter()
        .map(|file| {
            std::fs::read_to_string(data_dir.join(file))
                .unwrap()
                .trim()
                .to_string()
        })
        .collect();
    secrets.push(hydra_config["dsn"].as_str().unwrap().to_string());
    for kind in ["system", "cookie"] {
        let written = hydra_config["secrets"][kind][0].as_str().unwrap();
        assert!(
            secrets.iter().any(|s| s == written),
            "{kind}: the file's secret"
        );
    }
    assert!(secrets
        .iter()
        .all(|s| s.len() >= 32 || s.starts_with("sqlite://")));

    let pid = app.hydra.pid().expect("hydra runs");
    let cmdline = proc_text(pid, "cmdline");
    assert!(cmdline.contains("serve all"), "{cmdline}");
    let environ = proc_text(pid, "environ");
    for secret in &secrets {
        assert!(
            !cmdline.contains(secret.as_str()),
            "on the command line: {cmdline}"
        );
        assert!(!environ.contains(secret.as_str()), "in the environment");
    }
    for name in ["DSN=", "SECRETS_"] {
        assert!(!environ.contains(name), "{name} in Hydra's environment");
    }
}
