//! The benchmark program still builds and works: `gatehouse-bench --smoke`
//! (2 s per scenario, concurrency 2) against a real gatehouse and Hydra, and
//! the JSON it writes has every scenario with flows and without errors, and
//! the proof of work's costs.

use serde_json::Value;

const SCENARIOS: [&str; 5] = ["browser", "headless", "bare-hydra", "refresh", "otp"];

#[test]
fn smoke_run_completes_every_scenario_without_errors() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("bench.json");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse-bench"))
        .arg("--smoke")
        .arg("--output")
        .arg(&output)
        .arg("--hydra")
        .arg(crate::helpers::hydra_binary())
        .output()
        .expect("run gatehouse-bench");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "gatehouse-bench failed ({}):\n{stdout}\n{stderr}",
        run.status
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&output).expect("the JSON file")).unwrap();
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
    assert!(stdout.contains("targets (issue 7):"), "{stdout}");
    let proofs = &report["proofs"];
    for measured in ["check_us", "check_and_spend_us", "native_solve_ms"] {
        assert!(
            proofs[measured].as_f64().is_some_and(|v| v > 0.0),
            "{measured}: {proofs}"
        );
    }
    assert!(stdout.contains("checking a proof"), "{stdout}");
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
