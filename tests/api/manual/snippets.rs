//! The manual's examples are valid: every TOML block is a configuration
//! `gatehouse check-config` accepts, every shell block is valid bash, and
//! each block marked `<!-- snippet: NAME -->` is run by the test named for
//! it (the proxies' configurations by tests/api/proxies, the command-line
//! examples here).

use std::path::Path;
use std::process::{Command, Output};

use super::{blocks, pages};
use crate::helpers::binary::BINARY;
use crate::helpers::test_ca::TestCa;

/// The snippet markers and the tests that run them.
const RUN_BY: &[(&str, &str)] = &[
    ("proxies/nginx", "proxies::nginx"),
    ("proxies/caddy", "proxies::caddy"),
    (
        "cli/users",
        "manual::snippets::the_marked_command_line_examples_run",
    ),
    (
        "cli/check-config",
        "manual::snippets::the_marked_command_line_examples_run",
    ),
];

/// A logo as `ui.logo` takes one.
const SVG: &str = r#"<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>"#;

/// A 1x1 PNG.
fn png() -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")
        .unwrap()
}

/// Files an example names, made real in `fixtures`: certificates and keys
/// (a matching pair for every certificate and key named), images and
/// stylesheets, secret files, directories. Each absolute path in the example that does not exist on
/// this machine is moved under `fixtures`, so `check-config` reads files of
/// the right kind where the example says.
fn with_fixtures(example: &str, fixtures: &Path, ca: &TestCa) -> String {
    let (cert, key) = ca.certificate_for(&["id.example.com"], false);
    let mut out = String::new();
    for line in example.lines() {
        let key_name = line.split(" = ").next().unwrap_or("").trim();
        let mut rewritten = String::new();
        let mut rest = line;
        while let Some(start) = rest
            .find("/etc/")
            .or_else(|| rest.find("/run/"))
            .or_else(|| rest.find("/var/"))
        {
            let before = rest[..start].chars().last();
            let len = rest[start..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || "/._-".contains(c)))
                .unwrap_or(rest.len() - start);
            let path = &rest[start..start + len];
            rewritten.push_str(&rest[..start]);
            if matches!(before, Some('"') | Some('=')) && !Path::new(path).exists() {
                let fixture = fixtures.join(path.trim_start_matches('/'));
                let name = fixture
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .to_lowercase();
                std::fs::create_dir_all(fixture.parent().unwrap()).unwrap();
                if key_name.ends_with("_dir") {
                    std::fs::create_dir_all(&fixture).unwrap();
                } else if name.ends_with(".key") || (name.ends_with(".pem") && name.contains("key"))
                {
                    std::fs::write(&fixture, &key).unwrap();
                } else if name.ends_with(".pem") && name.contains("ca") {
                    ca.file_at(&fixture);
                } else if name.ends_with(".pem") || name.ends_with(".crt") {
                    std::fs::write(&fixture, &cert).unwrap();
                } else if name.ends_with(".svg") {
                    std::fs::write(&fixture, SVG).unwrap();
                } else if name.ends_with(".png") {
                    std::fs::write(&fixture, png()).unwrap();
                } else if name.ends_with(".css") {
                    std::fs::write(&fixture, "header { border-bottom: 1px solid; }\n").unwrap();
                } else {
                    std::fs::write(&fixture, "a-placeholder-secret-0123456789abcdef\n").unwrap();
                }
                rewritten.push_str(&fixture.to_string_lossy());
            } else {
                rewritten.push_str(path);
            }
            rest = &rest[start + len..];
        }
        rewritten.push_str(rest);
        out.push_str(&rewritten);
        out.push('\n');
    }
    out
}

/// `gatehouse check-config` on `toml`, in `dir`, with no GATEHOUSE_* from
/// the test's own environment.
pub(super) fn check_config(toml: &str, dir: &Path) -> Output {
    let file = dir.join("example.toml");
    std::fs::write(&file, toml).unwrap();
    let mut command = Command::new(BINARY);
    command
        .args(["check-config", "--config"])
        .arg(&file)
        .current_dir(dir);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("GATEHOUSE_") {
            command.env_remove(name);
        }
    }
    command.output().expect("run gatehouse check-config")
}

#[test]
fn every_toml_example_is_a_configuration_gatehouse_accepts() {
    let ca = TestCa::new("manual examples CA");
    let mut checked = 0;
    let mut refused = Vec::new();
    for (page, text) in pages() {
        for block in blocks(&text)
            .into_iter()
            .filter(|b| b.info.starts_with("toml"))
        {
            let dir = tempfile::tempdir().unwrap();
            let toml = with_fixtures(&block.text, &dir.path().join("fixtures"), &ca);
            let output = check_config(&toml, dir.path());
            if !output.status.success() {
                let stderr = String::from_utf8_lossy(&output.stderr);
                refused.push(format!("{page}:{}: {}", block.line, stderr.trim()));
            }
            checked += 1;
        }
    }
    assert!(
        refused.is_empty(),
        "TOML examples check-config refuses:\n{}",
        refused.join("\n")
    );
    assert!(checked >= 10, "only {checked} TOML examples found");
}

#[test]
fn a_wrong_toml_example_would_be_caught() {
    let dir = tempfile::tempdir().unwrap();
    let output = check_config("[server]\nlisten = \"nowhere\"\n", dir.path());
    assert!(!output.status.success());
    let output = check_config("[servr]\nlisten = \"127.0.0.1:1\"\n", dir.path());
    assert!(!output.status.success());
}

#[test]
fn every_shell_example_is_valid_bash() {
    let mut wrong = Vec::new();
    for (page, text) in pages() {
        for block in blocks(&text) {
            if !["sh", "bash", "shell"].contains(&block.info.as_str()) {
                continue;
            }
            let output = Command::new("bash")
                .args(["-n", "-c", &block.text])
                .output()
                .expect("run bash");
            if !output.status.success() {
                let stderr = String::from_utf8_lossy(&output.stderr);
                wrong.push(format!("{page}:{}: {}", block.line, stderr.trim()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "shell examples bash cannot parse:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_snippet_marker_names_a_test_that_runs_it() {
    for (page, text) in pages() {
        for block in blocks(&text) {
            if let Some(marker) = block.marker {
                assert!(
                    RUN_BY.iter().any(|(name, _)| *name == marker),
                    "{page}:{}: no test runs the snippet `{marker}`",
                    block.line
                );
            }
        }
    }
}

/// Runs the command-line snippet `name` of `chapter` with `gatehouse` on
/// PATH, in a fresh directory holding the manual's example configuration.
fn run_snippet(chapter: &str, name: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let bin = Path::new(BINARY).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    std::fs::copy(
        super::root().join("config.toml.example"),
        dir.path().join("config.toml"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("users.csv"),
        "phone,given_name\n+12015550124,Grace\n",
    )
    .unwrap();
    Command::new("bash")
        .args(["-euo", "pipefail", "-c", &super::snippet(chapter, name)])
        .current_dir(dir.path())
        .env("PATH", path)
        .output()
        .expect("run bash")
}

#[test]
fn the_marked_command_line_examples_run() {
    for (chapter, name, expected) in [
        ("users.md", "cli/users", "Lovelace"),
        (
            "configuration/index.md",
            "cli/check-config",
            "configuration is valid",
        ),
    ] {
        let output = run_snippet(chapter, name);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "{name} failed:\n{all}");
        assert!(
            all.contains(expected),
            "{name} did not print {expected:?}:\n{all}"
        );
    }
}
