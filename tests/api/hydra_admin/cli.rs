//! `gatehouse clients ...`, the real binary, against a running gatehouse
//! and without one.

use std::process::Output;

use crate::helpers::binary::run_with_config_file;
use crate::helpers::{test_config, TestApp};
use gatehouse::config::Config;
use serde_json::{json, Value};

/// The result of running the `gatehouse` binary.
struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts a failure reported as exactly one `gatehouse: ...` line.
    fn one_error_line(&self) -> &str {
        assert!(!self.success, "expected failure: {}", self.stdout);
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{:?}", self.stderr);
        assert!(lines[0].starts_with("gatehouse: "), "{}", lines[0]);
        lines[0]
    }

    /// The value of a `key: value` line on stdout.
    fn field(&self, key: &str) -> Option<String> {
        self.stdout.lines().find_map(|line| {
            line.strip_prefix(key)
                .and_then(|rest| rest.strip_prefix(": "))
                .map(str::to_owned)
        })
    }
}

/// Runs the binary with a config file for `config`'s data dir and ports.
async fn gatehouse(config: &Config, args: &[&str]) -> Run {
    run_with_config_file(config, args).await.into()
}

#[tokio::test]
async fn cli_manages_the_clients_of_a_running_gatehouse() {
    let app = TestApp::spawn().await;
    let config = &app.config;

    let created = gatehouse(
        config,
        &[
            "clients",
            "create",
            "--name",
            "Batch job",
            "--grant-type",
            "client_credentials",
            "--scope",
            "read",
        ],
    )
    .await;
    assert!(created.success, "{}", created.stderr);
    let id = created.field("client_id").expect("client_id printed");
    let secret = created.field("client_secret").expect("secret printed");
    // The printed secret is the real one: it gets a token.
    let token = app.client_credentials(&id, &secret, "read").await;
    assert_eq!(token.status(), 200);

    let web = gatehouse(
        config,
        &[
            "clients",
            "create",
            "--name",
            "Web shop",
            "--id",
            "web-shop",
            "--redirect-uri",
            "https://shop.example/cb",
            "--redirect-uri",
            "https://shop.example/cb2",
            "--public",
            "--skip-consent",
            "--post-logout-redirect-uri",
            "https://shop.example/bye",
        ],
    )
    .await;
    assert!(web.success, "{}", web.stderr);
    assert_eq!(web.field("client_id").as_deref(), Some("web-shop"));
    assert_eq!(web.field("client_secret"), None, "public: no secret");

    let list = gatehouse(config, &["clients", "list"]).await;
    assert!(list.success, "{}", list.stderr);
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", list.stdout);
    assert!(lines[0].starts_with("ID "), "{}", lines[0]);
    assert!(lines
        .iter()
        .any(|l| l.starts_with(&id) && l.contains("Batch job")));
    assert!(lines.iter().any(|l| l.starts_with("web-shop")
        && l.contains("Web shop")
        && l.contains("https://shop.example/cb, https://shop.example/cb2")));

    let show = gatehouse(config, &["clients", "show", "web-shop"]).await;
    assert!(show.success, "{}", show.stderr);
    let shown: Value = serde_json::from_str(&show.stdout).expect("JSON");
    assert_eq!(shown["client_id"], "web-shop");
    assert_eq!(shown["token_endpoint_auth_method"], "none");
    assert_eq!(shown["skip_consent"], true);
    assert_eq!(shown["scope"], "openid offline_access profile email phone");
    assert_eq!(
        shown["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(
        shown["post_logout_redirect_uris"],
        json!(["https://shop.example/bye"])
    );
    let shown_batch = gatehouse(config, &["clients", "show", &id]).await;
    let shown_batch: Value = serde_json::from_str(&shown_batch.stdout).expect("JSON");
    assert_eq!(shown_batch["client_name"], "Batch job");
    assert!(shown_batch.get("client_secret").is_none(), "{shown_batch}");
    assert!(!shown_batch.to_string().contains(&secret));

    let duplicate = gatehouse(
        config,
        &[
            "clients",
            "create",
            "--name",
            "Again",
            "--id",
            "web-shop",
            "--redirect-uri",
            "https://shop.example/cb",
        ],
    )
    .await;
    assert_eq!(
        duplicate.one_error_line(),
        "gatehouse: Hydra refused the client: a client with id web-shop already exists"
    );

    let invalid = gatehouse(
        config,
        &[
            "clients",
            "create",
            "--name",
            "Bad",
            "--redirect-uri",
            "https://shop.example/cb#fragment",
        ],
    )
    .await;
    let line = invalid.one_error_line();
    assert!(
        line.starts_with("gatehouse: Hydra refused the client: ")
            && line.ends_with("(invalid_redirect_uri)"),
        "{line}"
    );

    let deleted = gatehouse(config, &["clients", "delete", "web-shop"]).await;
    assert!(deleted.success, "{}", deleted.stderr);
    for args in [
        ["clients", "show", "web-shop"],
        ["clients", "delete", "web-shop"],
    ] {
        let missing = gatehouse(config, &args).await;
        assert_eq!(
            missing.one_error_line(),
            "gatehouse: no client with id web-shop"
        );
    }
    let list = gatehouse(config, &["clients", "list"]).await;
    assert!(!list.stdout.contains("web-shop"), "{}", list.stdout);
}

#[tokio::test]
async fn cli_names_the_admin_url_when_hydra_is_not_running() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path().to_path_buf());
    let admin_port = config.hydra.admin_port;
    for args in [
        &["clients", "list"][..],
        &["clients", "show", "x"],
        &["clients", "delete", "x"],
        &[
            "clients",
            "create",
            "--name",
            "x",
            "--redirect-uri",
            "https://a.example/cb",
        ],
    ] {
        let run = gatehouse(&config, args).await;
        assert_eq!(
            run.one_error_line(),
            format!(
                "gatehouse: cannot reach Hydra's admin API at http://127.0.0.1:{admin_port}/: \
                 is gatehouse running?"
            ),
            "{args:?}"
        );
    }
}
