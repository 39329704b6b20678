//! The benchmark program still builds and works: `gatehouse-bench --smoke`
//! (2 s per scenario, concurrency 2) against a real gatehouse and Hydra, and
//! the JSON it writes has every scenario with flows and without errors, and
//! the proof of work's costs; the same on PostgreSQL with two instances.

use serde_json::Value;

const SCENARIOS: [&str; 5] = ["browser", "headless", "bare-hydra", "refresh", "otp"];

/// Runs gatehouse-bench with `args` on the tests' Hydra; its JSON report
/// and what it printed. It must succeed.
fn run_bench(args: &[&str]) -> (Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("bench.json");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse-bench"))
        .args(args)
        .arg("--output")
        .arg(&output)
        .arg("--hydra")
        .arg(crate::helpers::hydra_binary())
        .output()
        .expect("run gatehouse-bench");
    let stdout = String::from_utf8_lossy(&run.stdout).to_string();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "gatehouse-bench failed ({}):\n{stdout}\n{stderr}",
        run.status
    );
    let report = std::fs::read_to_string(&output).expect("the JSON file");
    (serde_json::from_str(&report).unwrap(), stdout)
}

#[test]
fn smoke_run_completes_every_scenario_without_errors() {
    let (report, stdout) = run_bench(&["--smoke"]);
    for name in SCENARIOS {
        let scenario = report["scenarios"]
            .as_array()
            .expect("a list of scenarios")
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("scenario {name} missing:\n{stdout}"));
        assert!(
            scenario["flows"].as_u64().unwrap_or(0) > 0,
            "{name}: no flow completed:\n{stdout}"
        );
        assert_eq!(
            scenario["errors"].as_u64(),
            Some(0),
            "{name}: errors {}:\n{stdout}",
            scenario["error_samples"]
        );
    }
    for ratio in ["browser_over_bare_hydra", "headless_over_bare_hydra"] {
        assert!(
            report["ratios"][ratio].as_f64().is_some(),
            "{ratio} missing"
        );
    }
    assert!(stdout.contains("targets (issues 7 and 25):"), "{stdout}");
    let proofs = &report["proofs"];
    for measured in ["check_us", "check_and_spend_us", "native_solve_ms"] {
        assert!(
            proofs[measured].as_f64().is_some_and(|v| v > 0.0),
            "{measured}: {proofs}"
        );
    }
    assert!(stdout.contains("checking a proof"), "{stdout}");
}

/// Oathkeeper as scripts/install-oathkeeper puts it.
fn oathkeeper_binary() -> std::path::PathBuf {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bin/oathkeeper");
    assert!(
        path.is_file(),
        "Oathkeeper is not installed at {}: run scripts/install-oathkeeper first",
        path.display()
    );
    path
}

fn scenario<'a>(report: &'a Value, name: &str, variant: &str) -> Option<&'a Value> {
    report["scenarios"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == name && s["variant"] == variant)
}

/// Forward auth next to Oathkeeper on the same tokens, and gatehouse's
/// Hydra settings next to Hydra's stock ones, each in turns (issue 25).
#[test]
fn smoke_run_compares_forward_auth_and_hydra_settings_without_errors() {
    let oathkeeper = oathkeeper_binary();
    let (report, stdout) = run_bench(&[
        "--smoke",
        "--scenarios",
        "browser,bare-hydra,forward-auth",
        "--hydra-defaults",
        "both",
        "--oathkeeper",
        oathkeeper.to_str().unwrap(),
    ]);
    let mut expected = vec![];
    for variant in ["gatehouse", "stock"] {
        for name in [
            "browser",
            "bare-hydra",
            "fa-cached",
            "fa-uncached",
            "fa-jwt",
            "fa-garbage",
        ] {
            expected.push((name, variant));
        }
    }
    for case in ["cached", "uncached", "jwt", "garbage"] {
        expected.push((["oathkeeper-", case].concat().leak(), "gatehouse"));
    }
    for (name, variant) in expected {
        let s = scenario(&report, name, variant)
            .unwrap_or_else(|| panic!("{name} [{variant}] missing:\n{stdout}"));
        assert!(
            s["flows"].as_u64().unwrap_or(0) > 0,
            "{name} [{variant}]:\n{stdout}"
        );
        assert_eq!(
            s["errors"].as_u64(),
            Some(0),
            "{name} [{variant}]: {}",
            s["error_samples"]
        );
    }
    // The stock Hydra has no Oathkeeper of its own.
    assert!(scenario(&report, "oathkeeper-cached", "stock").is_none());
    for line in [
        "browser with gatehouse's [hydra.tuning] >= 1.5 x bare-hydra with stock settings",
        "fa-cached >= 20,000 verifications/s",
        "fa-jwt >= 2 x oathkeeper-jwt",
        "fa-garbage: CPU per verification (verifier + Hydra)",
        "uncached: verifier's own CPU, oathkeeper / gatehouse",
    ] {
        assert!(stdout.contains(line), "{line} in\n{stdout}");
    }
}

/// `--database postgres --instances 2` (issue 21): two gatehouses, each
/// with its Hydra, on one PostgreSQL server the run starts; the flows go to
/// each instance in turn, and nothing fails.
#[test]
fn smoke_run_on_postgresql_with_two_instances_alternates_between_them() {
    let (report, stdout) = run_bench(&[
        "--smoke",
        "--database",
        "postgres",
        "--instances",
        "2",
        "--scenarios",
        "browser,headless,otp",
    ]);
    assert_eq!(report["database"], "postgres", "{stdout}");
    assert_eq!(report["instances"], 2, "{stdout}");
    let sent: Vec<u64> = report["instance_flows"]
        .as_array()
        .expect("flows per instance")
        .iter()
        .map(|n| n.as_u64().unwrap())
        .collect();
    assert!(
        sent.len() == 2 && sent.iter().all(|&n| n > 0),
        "both instances served: {sent:?}\n{stdout}"
    );
    for name in ["browser", "headless", "otp"] {
        let s = scenario(&report, name, "").unwrap_or_else(|| panic!("{name}:\n{stdout}"));
        assert!(s["flows"].as_u64().unwrap_or(0) > 0, "{name}:\n{stdout}");
        assert_eq!(
            s["errors"].as_u64(),
            Some(0),
            "{name}: {}",
            s["error_samples"]
        );
    }
}

/// Two instances need a store they can share: on SQLite the run is refused
/// before anything starts, naming the flag.
#[test]
fn two_instances_on_sqlite_are_refused() {
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse-bench"))
        .args(["--smoke", "--instances", "2", "--scenarios", "browser"])
        .arg("--hydra")
        .arg(crate::helpers::hydra_binary())
        .output()
        .expect("run gatehouse-bench");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "{stderr}");
    assert!(
        stderr.contains("--instances 2 needs --database postgres"),
        "{stderr}"
    );
}

/// Ctrl-C in the middle of a run: the benchmark stops its gatehouse (and
/// with it Hydra) and removes its temp dir.
#[test]
fn ctrl_c_stops_the_processes_and_removes_the_temp_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse-bench"))
        .args([
            "--scenarios",
            "browser",
            "--duration",
            "60s",
            "--concurrency",
            "2",
        ])
        .arg("--hydra")
        .arg(crate::helpers::hydra_binary())
        .env("TMPDIR", tmp.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run gatehouse-bench");
    let pid = child.id();
    // Running once gatehouse has a child (Hydra) and a scenario started.
    let started = std::time::Instant::now();
    let mut descendants = Vec::new();
    while started.elapsed() < std::time::Duration::from_secs(60) {
        let children = crate::helpers::children_of(pid);
        let grandchildren: Vec<u32> = children
            .iter()
            .flat_map(|c| crate::helpers::children_of(*c))
            .collect();
        if !grandchildren.is_empty() {
            descendants = children.into_iter().chain(grandchildren).collect();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(!descendants.is_empty(), "gatehouse and Hydra never started");
    let dirs = || std::fs::read_dir(tmp.path()).unwrap().count();
    assert_eq!(dirs(), 1, "the run's temp dir");
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).unwrap(),
        rustix::process::Signal::INT,
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("interrupted; cleaned up"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for pid in descendants {
        assert!(
            crate::helpers::process_is_gone(pid),
            "{pid} still runs: {stderr}"
        );
    }
    assert_eq!(dirs(), 0, "the temp dir is left behind: {stderr}");
}

#[test]
fn bad_flags_are_refused_without_a_panic() {
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse-bench"))
        .args(["--scenarios", "browser,nonsense", "--concurrency", "0"])
        .output()
        .expect("run gatehouse-bench");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
