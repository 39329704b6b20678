//! The shipped systemd unit: its directives, and `systemd-analyze verify`.

use std::collections::HashMap;
use std::process::Command;

use crate::helpers::binary::BINARY;

const UNIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/gatehouse.service");

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
        ("LimitNOFILE", "65536"),
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
