//! A whole run: the order the scenarios run in, and what is measured around
//! each run of one (the processes' memory, CPU and CPU waits from /proc,
//! gatehouse's own time from its metrics), added up per scenario into the
//! report.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use crate::flows::Ctx;
use crate::forward_auth::ForwardAuth;
use crate::own_times::{self, OwnTimes};
use crate::process_stats::{self, CpuWaits, ProcStats};
use crate::report::{IdleRss, Machine, ProcReport, Report, ScenarioReport, StepReport};
use crate::scenarios::{self, Scenario};
use crate::server::Server;
use crate::stats::Outcome;
use crate::Cli;

/// One gatehouse the run measures (two with `--hydra-defaults both` or
/// `--baseline`), with what its scenarios need.
pub struct Variant {
    /// "" when it is the only one; else "gatehouse"/"stock" or
    /// "current"/"baseline".
    pub label: &'static str,
    /// The (first) instance: its processes are the ones measured.
    pub server: Server,
    /// More instances on the same databases (`--instances 2`).
    pub others: Vec<Server>,
    /// One per instance, `server`'s first.
    pub ctxs: Vec<Arc<Ctx>>,
    pub forward_auth: Option<ForwardAuth>,
    /// The `otp` scenario's PostgreSQL database (`--database postgres`).
    pub otp_database: Option<String>,
}

/// Runs the scenarios `cli` names against each variant and reports on them.
pub async fn run_scenarios(cli: &Cli, variants: &[Variant], hydra: &Path) -> Result<Report> {
    // Let start-up work (migrations, first connections) settle.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let first = &variants[0];
    let idle = idle_rss(&first.server);
    for ctx in variants.iter().flat_map(|v| &v.ctxs) {
        scenarios::warm_up(ctx).await?;
    }
    let mut report = Report {
        machine: Machine::this(),
        duration_s: cli.duration.as_secs_f64(),
        concurrency: usize::from(cli.concurrency),
        forward_auth_concurrency: usize::from(cli.forward_auth_concurrency),
        forward_auth_rate: cli.forward_auth_rate,
        gatehouse: first.server.measured.clone(),
        hydra: hydra.display().to_string(),
        database: match cli.database {
            crate::Database::Sqlite => "sqlite",
            crate::Database::Postgres => "postgres",
        },
        instances: usize::from(cli.instances),
        instance_flows: Vec::new(),
        idle_rss_mb: idle,
        scenarios: Vec::new(),
        ratios: Default::default(),
        targets: Vec::new(),
        proofs: None,
    };
    let mut measured: Vec<((Scenario, usize), Option<Measured>)> = Vec::new();
    for (run, duration) in plan(&cli.scenarios, variants.len(), cli.duration) {
        let (scenario, v) = run;
        let variant = &variants[v];
        // Oathkeeper is the peer of the first variant only.
        if v > 0
            && scenario
                .forward_auth()
                .is_some_and(|(_, oathkeeper)| oathkeeper)
        {
            continue;
        }
        let concurrency = if scenario.forward_auth().is_some() {
            cli.forward_auth_concurrency
        } else {
            cli.concurrency
        };
        eprintln!(
            "gatehouse-bench: {}{} for {duration:?} at concurrency {concurrency} ...",
            scenario.name(),
            label(variant.label),
        );
        let slice = measure(variant, scenario, concurrency, duration).await?;
        match measured.iter_mut().find(|(r, _)| *r == run) {
            Some((_, Some(so_far))) => so_far.merge(slice),
            _ => measured.push((run, Some(slice))),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    report.scenarios = measured
        .into_iter()
        .filter_map(|((scenario, v), m)| Some(m?.report(scenario, variants[v].label)))
        .collect();
    report.instance_flows = first
        .ctxs
        .iter()
        .map(|ctx| ctx.flows_sent.load(std::sync::atomic::Ordering::Relaxed))
        .collect();
    report.evaluate();
    if cli.scenarios.contains(&Scenario::Proof) {
        eprintln!("gatehouse-bench: proof ...");
        let database = first.server.scratch("proof-bench.sqlite");
        report.proofs = Some(crate::proofs::measure(database, cli.smoke).await?);
    }
    Ok(report)
}

/// " [label]", or nothing for the only variant.
pub fn label(label: &str) -> String {
    if label.is_empty() {
        String::new()
    } else {
        format!(" [{label}]")
    }
}

/// gatehouse's and Hydra's resident memory before any load.
fn idle_rss(server: &Server) -> IdleRss {
    let gatehouse = process_stats::sample(server.pid);
    IdleRss {
        gatehouse: gatehouse.map(|p| mb(p.rss_kb)),
        gatehouse_anon: gatehouse.map(|p| mb(p.anon_kb)),
        hydra: process_stats::sample(server.hydra_pid).map(|p| mb(p.rss_kb)),
    }
}

/// Which scenario runs on which variant when, for how long. Hydra slows
/// down as its database fills, so a scenario run later looks slower: the
/// ones compared with each other (the sign-ins, the forward-auth pairs, and
/// every variant's) take turns, in rounds, and each sees the same database
/// sizes; the others follow, once per variant.
fn plan(
    scenarios: &[Scenario],
    variants: usize,
    duration: Duration,
) -> Vec<((Scenario, usize), Duration)> {
    let rounds: u32 = if duration >= Duration::from_secs(6) {
        3
    } else {
        1
    };
    let mut plan = Vec::new();
    for _ in 0..rounds {
        for &scenario in scenarios.iter().filter(|s| s.is_compared()) {
            for v in 0..variants {
                plan.push(((scenario, v), duration / rounds));
            }
        }
    }
    for &scenario in scenarios.iter().filter(|s| !s.is_compared() && s.is_flow()) {
        for v in 0..variants {
            plan.push(((scenario, v), duration));
        }
    }
    plan
}

/// What one run of a scenario found, before it is summed up; runs of the
/// same scenario add up.
struct Measured {
    outcome: Outcome,
    /// Gatehouse's and Hydra's memory and CPU (None in process).
    processes: [Option<ProcReport>; 2],
    /// Per step: gatehouse's own-time buckets, for steps it serves.
    own: Vec<Option<Vec<(f64, u64)>>>,
    load_generator_cpu_s: Option<f64>,
}

/// What is read about the processes just before and just after a run.
struct Snapshot {
    /// Gatehouse's and Hydra's.
    processes: [Option<ProcStats>; 2],
    own: OwnTimes,
    /// This benchmark's own process.
    bench: Option<ProcStats>,
    cpu_waits: [CpuWaits; 2],
}

impl Snapshot {
    async fn take(server: &Server, pids: [u32; 2]) -> Result<Snapshot> {
        Ok(Snapshot {
            processes: pids.map(process_stats::sample),
            own: server.own_times().await?,
            bench: process_stats::sample(std::process::id()),
            cpu_waits: pids.map(process_stats::cpu_waits),
        })
    }
}

async fn measure(
    variant: &Variant,
    scenario: Scenario,
    concurrency: u16,
    duration: Duration,
) -> Result<Measured> {
    let server = &variant.server;
    let fa = variant.forward_auth.as_ref();
    // Forward auth: the verifying process stands where gatehouse does.
    let verifier = scenario
        .forward_auth()
        .and_then(|(case, oathkeeper)| fa?.verifier_pid(case, oathkeeper))
        .unwrap_or(server.pid);
    let pids = [verifier, server.hydra_pid];
    let peaks_reset = pids.map(process_stats::reset_peak);
    let before = Snapshot::take(server, pids).await?;
    let concurrency = usize::from(concurrency);
    let mut outcome = scenario.run(variant, concurrency, duration).await?;
    let after = Snapshot::take(server, pids).await?;
    if server.find_hydra() != Some(server.hydra_pid) {
        outcome.errors += 1;
        outcome
            .first_errors
            .push("Hydra was restarted during the scenario (see gatehouse's log)".into());
    }
    let process = |i: usize| -> Option<ProcReport> {
        let (start, end) = (before.processes[i]?, after.processes[i]?);
        (!scenario.in_process()).then(|| ProcReport {
            // Without the reset, VmHWM is the peak since start: still a bound.
            peak_rss_mb: mb(if peaks_reset[i] {
                end.peak_kb
            } else {
                end.peak_kb.max(start.peak_kb)
            }),
            rss_after_mb: mb(end.rss_kb),
            cpu_s: end.cpu_s - start.cpu_s,
            cpu_wait_s: process_stats::cpu_wait_between(&before.cpu_waits[i], &after.cpu_waits[i]),
        })
    };
    let own = scenario
        .steps()
        .iter()
        .map(|info| {
            info.route.map(|(route, method, status_class)| {
                after
                    .own
                    .since(&before.own, route, method, |s| s.starts_with(status_class))
            })
        })
        .collect();
    Ok(Measured {
        outcome,
        processes: [process(0), process(1)],
        own,
        load_generator_cpu_s: before
            .bench
            .zip(after.bench)
            .map(|(start, end)| end.cpu_s - start.cpu_s),
    })
}

impl Measured {
    fn merge(&mut self, other: Measured) {
        self.outcome.merge(other.outcome);
        for (mine, theirs) in self.processes.iter_mut().zip(other.processes) {
            *mine = match (*mine, theirs) {
                (Some(a), Some(b)) => Some(ProcReport {
                    peak_rss_mb: a.peak_rss_mb.max(b.peak_rss_mb),
                    rss_after_mb: b.rss_after_mb,
                    cpu_s: a.cpu_s + b.cpu_s,
                    cpu_wait_s: a.cpu_wait_s + b.cpu_wait_s,
                }),
                (a, b) => a.or(b),
            };
        }
        for (mine, theirs) in self.own.iter_mut().zip(other.own) {
            if let (Some(mine), Some(theirs)) = (mine, theirs) {
                own_times::add_buckets(mine, &theirs);
            }
        }
        self.load_generator_cpu_s = match (self.load_generator_cpu_s, other.load_generator_cpu_s) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    }

    fn report(mut self, scenario: Scenario, variant: &'static str) -> ScenarioReport {
        let outcome = &mut self.outcome;
        outcome
            .steps
            .resize_with(scenario.steps().len(), Default::default);
        let steps = scenario
            .steps()
            .iter()
            .zip(outcome.steps.iter_mut())
            .zip(&self.own)
            .map(|((info, samples), own)| StepReport {
                name: info.name,
                owner: info.owner,
                latency_ms: samples.percentiles().map(Into::into),
                own_ms: own.as_ref().and_then(|b| {
                    Some(
                        [
                            own_times::bucket_quantile(b, 0.50)?,
                            own_times::bucket_quantile(b, 0.90)?,
                            own_times::bucket_quantile(b, 0.99)?,
                        ]
                        .into(),
                    )
                }),
                own_within_5ms: own.as_ref().and_then(|b| own_times::share_within(b, 0.005)),
            })
            .collect();
        ScenarioReport {
            name: scenario.name(),
            variant,
            flows: outcome.flows,
            elapsed_s: outcome.elapsed.as_secs_f64(),
            flows_per_s: outcome.flows_per_s(),
            errors: outcome.errors,
            error_samples: outcome.first_errors.clone(),
            latency_ms: outcome.total.percentiles().map(Into::into),
            steps,
            gatehouse_process: self.processes[0],
            hydra_process: self.processes[1],
            load_generator_cpu_s: self.load_generator_cpu_s,
        }
    }
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compared_scenarios_take_turns_and_the_others_follow() {
        use Scenario::*;
        let scenarios = [Otp, Browser, Refresh, BareHydra];
        let short = plan(&scenarios, 1, Duration::from_secs(2));
        let second = Duration::from_secs(2);
        let runs: Vec<_> = short.iter().map(|((s, _), d)| (*s, *d)).collect();
        assert_eq!(
            runs,
            vec![
                (Browser, second),
                (BareHydra, second),
                (Otp, second),
                (Refresh, second)
            ]
        );
        let long = plan(&scenarios, 1, Duration::from_secs(30));
        let (slice, whole) = (Duration::from_secs(10), Duration::from_secs(30));
        let order: Vec<Scenario> = long.iter().map(|((s, _), _)| *s).collect();
        assert_eq!(
            order,
            [Browser, BareHydra, Browser, BareHydra, Browser, BareHydra, Otp, Refresh]
        );
        assert!(long[..6].iter().all(|(_, d)| *d == slice));
        assert!(long[6..].iter().all(|(_, d)| *d == whole));
    }

    #[test]
    fn variants_take_turns_within_each_round() {
        use Scenario::*;
        let plan = plan(&[Browser, BareHydra, Refresh], 2, Duration::from_secs(30));
        let runs: Vec<(Scenario, usize)> = plan.iter().map(|(run, _)| *run).collect();
        let round = [(Browser, 0), (Browser, 1), (BareHydra, 0), (BareHydra, 1)];
        assert_eq!(runs[..4], round);
        assert_eq!(runs[4..8], round);
        assert_eq!(runs[12..], [(Refresh, 0), (Refresh, 1)]);
    }
}
