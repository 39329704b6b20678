//! The targets of issue 25, read off a finished report: gatehouse's Hydra
//! settings against Hydra's stock ones (`--hydra-defaults both`), forward
//! auth against Oathkeeper on the same tokens, and each scenario of an A/B
//! run (`--baseline`) as a ratio.

use crate::report::{Report, ScenarioReport, Target};

/// Where the target is a ratio and not a bar to pass.
const RATIO: &str = "ratio";

pub fn targets(report: &Report) -> Vec<Target> {
    let mut targets = Vec::new();
    hydra_settings(report, &mut targets);
    forward_auth(report, &mut targets);
    baseline(report, &mut targets);
    targets
}

fn find<'a>(report: &'a Report, name: &str, variant: &str) -> Option<&'a ScenarioReport> {
    report
        .scenarios
        .iter()
        .find(|s| s.name == name && s.variant == variant && s.flows > 0)
}

fn at_least(target: String, value: Option<(f64, String)>, bar: f64) -> Target {
    match value {
        Some((v, text)) => Target {
            target,
            status: if v >= bar { "met" } else { "missed" },
            value: text,
        },
        None => Target {
            target,
            status: "not measured",
            value: "scenario not run".into(),
        },
    }
}

/// `a / b` of flows/s, with both rates in words.
fn ratio(a: Option<&ScenarioReport>, b: Option<&ScenarioReport>) -> Option<(f64, String)> {
    let (a, b) = (a?, b?);
    let r = a.flows_per_s / b.flows_per_s;
    Some((
        r,
        format!("{r:.2} ({:.1} vs {:.1}/s)", a.flows_per_s, b.flows_per_s),
    ))
}

fn hydra_settings(report: &Report, targets: &mut Vec<Target>) {
    if find(report, "bare-hydra", "stock").is_none() {
        return;
    }
    let browser = find(report, "browser", "gatehouse");
    let stock_bare = find(report, "bare-hydra", "stock");
    targets.push(at_least(
        "browser with gatehouse's [hydra.tuning] >= 1.5 x bare-hydra with stock settings".into(),
        ratio(browser, stock_bare),
        1.5,
    ));
    for variant in ["gatehouse", "stock"] {
        targets.push(at_least(
            format!("browser / bare-hydra >= 0.95, both with {variant} settings"),
            ratio(
                find(report, "browser", variant),
                find(report, "bare-hydra", variant),
            ),
            0.95,
        ));
    }
}

fn forward_auth(report: &Report, targets: &mut Vec<Target>) {
    // The first variant's: the one Oathkeeper stands beside.
    let first = report.scenarios.iter().find(|s| s.name == "fa-cached");
    let Some(cached) = first.filter(|s| s.flows > 0) else {
        return;
    };
    let variant = cached.variant;
    let rate = Some((cached.flows_per_s, format!("{:.0}/s", cached.flows_per_s)));
    targets.push(at_least(
        format!(
            "fa-cached >= 20,000 verifications/s (concurrency {})",
            report.forward_auth_concurrency
        ),
        rate,
        20_000.0,
    ));
    targets.push(Target {
        target: "fa-cached p99 as fast as it goes (64 / rate is its mean)".into(),
        status: RATIO,
        value: cached
            .latency_ms
            .map_or("-".into(), |p| format!("{:.2} ms", p.p99)),
    });
    targets.push(paced_p99(report));
    for case in ["cached", "uncached", "jwt", "garbage"] {
        let ours = find(report, &format!("fa-{case}"), variant);
        let peer = find(report, &format!("oathkeeper-{case}"), variant);
        targets.push(at_least(
            format!("fa-{case} >= 2 x oathkeeper-{case}"),
            ratio(ours, peer),
            2.0,
        ));
        for (who, s) in [("fa", ours), ("oathkeeper", peer)] {
            if let Some(cpu) = s.and_then(cpu_per_flow_us) {
                targets.push(Target {
                    target: format!("{who}-{case}: CPU per verification (verifier + Hydra)"),
                    status: RATIO,
                    value: format!("{:.0} + {:.0} us", cpu.verifier, cpu.hydra),
                });
            }
        }
        // Where Hydra's part is most of the work (uncached), the verifiers'
        // own parts are what the rate ratio cannot show.
        let own = |s: Option<&ScenarioReport>| Some(cpu_per_flow_us(s?)?.verifier);
        if let (Some(ours), Some(peer)) = (own(ours), own(peer)) {
            targets.push(Target {
                target: format!("{case}: verifier's own CPU, oathkeeper / gatehouse"),
                status: RATIO,
                value: format!("{:.2} ({peer:.0} vs {ours:.0} us)", peer / ours),
            });
        }
    }
}

/// `fa-paced`: p99 under 2 ms with 20,000 verifications a second offered,
/// every one of them started in time.
fn paced_p99(report: &Report) -> Target {
    let rate = report.forward_auth_rate;
    let target = format!(
        "fa-paced p99 < 2 ms at {rate}/s offered (concurrency {})",
        report.forward_auth_concurrency
    );
    let paced = report.scenarios.iter().find(|s| s.name == "fa-paced");
    let Some((paced, p)) = paced.and_then(|s| Some((s, s.latency_ms?))) else {
        return at_least(target, None, 0.0);
    };
    let kept = paced.errors == 0 && rate >= 20_000;
    Target {
        target,
        status: if kept && p.p99 < 2.0 { "met" } else { "missed" },
        value: format!(
            "p50 {:.2}, p99 {:.2} ms; {:.0}/s done, {} errors",
            p.p50, p.p99, paced.flows_per_s, paced.errors
        ),
    }
}

/// CPU per flow in microseconds: the verifying process's and Hydra's.
struct CpuPerFlow {
    verifier: f64,
    hydra: f64,
}

fn cpu_per_flow_us(s: &ScenarioReport) -> Option<CpuPerFlow> {
    let per_flow = |cpu_s: f64| cpu_s / s.flows as f64 * 1e6;
    (s.flows > 0).then_some(CpuPerFlow {
        verifier: per_flow(s.gatehouse_process?.cpu_s),
        hydra: per_flow(s.hydra_process?.cpu_s),
    })
}

fn baseline(report: &Report, targets: &mut Vec<Target>) {
    for current in report.scenarios.iter().filter(|s| s.variant == "current") {
        let base = find(report, current.name, "baseline");
        if let Some((_, text)) = ratio(Some(current), base) {
            targets.push(Target {
                target: format!("{}: current / baseline flows/s", current.name),
                status: RATIO,
                value: text,
            });
        }
    }
}
