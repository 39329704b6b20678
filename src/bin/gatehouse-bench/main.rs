//! gatehouse-bench: sign-ins per second, latency and memory of gatehouse,
//! measured next to the limit of the bare Hydra it drives, in one run.
//!
//! It starts a gatehouse (in a process of its own, so that /proc tells its
//! memory and CPU) with a real supervised Hydra on free ports in a temp dir,
//! SMS codes going to a webhook sink inside this process, registers its
//! clients, then runs each scenario for `--duration` on `--concurrency`
//! workers. See BENCHMARKS.md.

mod flows;
mod report;
mod server;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};

use flows::{Ctx, OtpBench, StepInfo};
use report::{IdleRss, Machine, ProcReport, Report, ScenarioReport, StepReport};
use server::{Binary, Server};
use stats::Outcome;

#[derive(Parser)]
#[command(
    name = "gatehouse-bench",
    version,
    about = "Benchmark gatehouse against the bare-Hydra limit: flows/s, latency, memory, CPU"
)]
struct Cli {
    /// How long each scenario runs, e.g. "30s", "1m".
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Flows in flight at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: u16,
    /// Scenarios to run, in this order (comma-separated).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "browser,headless,bare-hydra,refresh,otp"
    )]
    scenarios: Vec<Scenario>,
    /// Write the results as JSON to this file.
    #[arg(long)]
    output: Option<PathBuf>,
    /// A quick check that everything works: 2 s per scenario, concurrency 2.
    #[arg(long)]
    smoke: bool,
    /// Hydra v2.3.0 executable (default: ./bin/hydra, as scripts/install-hydra puts it).
    #[arg(long, env = "HYDRA_BINARY")]
    hydra: Option<PathBuf>,
    /// Measure this `gatehouse` executable instead of this program's own
    /// copy of `gatehouse serve` (e.g. target/release/gatehouse).
    #[arg(long)]
    gatehouse: Option<PathBuf>,
    /// Keep the temp dir (gatehouse's and Hydra's data and log) and print where.
    #[arg(long)]
    keep_data: bool,
    /// Internal: run `gatehouse serve` with this configuration file.
    #[arg(long, hide = true)]
    serve: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
enum Scenario {
    Browser,
    Headless,
    BareHydra,
    Refresh,
    Otp,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Browser => "browser",
            Scenario::Headless => "headless",
            Scenario::BareHydra => "bare-hydra",
            Scenario::Refresh => "refresh",
            Scenario::Otp => "otp",
        }
    }

    fn steps(self) -> &'static [StepInfo] {
        match self {
            Scenario::Browser => flows::BROWSER_STEPS,
            Scenario::Headless => flows::HEADLESS_STEPS,
            Scenario::BareHydra => flows::BARE_STEPS,
            Scenario::Refresh => flows::REFRESH_STEPS,
            Scenario::Otp => flows::OTP_STEPS,
        }
    }
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    if let Some(config) = &cli.serve {
        return match gatehouse::config::Config::load(Some(config)) {
            Ok(config) => gatehouse::cli::serve::serve(config),
            Err(e) => {
                eprintln!("gatehouse: {e}");
                ExitCode::from(78)
            }
        };
    }
    if cli.smoke {
        cli.duration = Duration::from_secs(2);
        cli.concurrency = 2;
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("gatehouse-bench: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(bench(&cli)) {
        Ok(report) => {
            print!("{}", report.table());
            if let Some(path) = &cli.output {
                let json = serde_json::to_string_pretty(&report).expect("the report serializes");
                if let Err(e) = std::fs::write(path, json + "\n") {
                    eprintln!("gatehouse-bench: cannot write {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
                println!("\nJSON written to {}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gatehouse-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Hydra from the flag (or HYDRA_BINARY), else where scripts/install-hydra puts it.
fn hydra_binary(cli: &Cli) -> Result<PathBuf> {
    let path = match &cli.hydra {
        Some(path) => path.clone(),
        None => [
            "bin/hydra",
            concat!(env!("CARGO_MANIFEST_DIR"), "/bin/hydra"),
        ]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("bin/hydra")),
    };
    if !path.is_file() {
        bail!(
            "Hydra is not installed at {}: run scripts/install-hydra, or pass --hydra PATH",
            path.display()
        );
    }
    path.canonicalize()
        .with_context(|| format!("resolve {}", path.display()))
}

async fn bench(cli: &Cli) -> Result<Report> {
    let hydra = hydra_binary(cli)?;
    let binary = match &cli.gatehouse {
        Some(path) => Binary::Gatehouse(path.clone()),
        None => Binary::Itself,
    };
    eprintln!("gatehouse-bench: starting gatehouse and Hydra ...");
    let server = Server::start(binary, &hydra).await?;
    let result = run_scenarios(cli, &server, &hydra).await;
    if result.is_err() {
        eprintln!("gatehouse's log ends with:\n{}", server.log_tail());
    }
    server.stop(cli.keep_data).await;
    result
}

async fn run_scenarios(cli: &Cli, server: &Server, hydra: &std::path::Path) -> Result<Report> {
    // Let start-up work (migrations, first connections) settle.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let gatehouse_idle = server::proc_stats(server.pid);
    let idle = IdleRss {
        gatehouse: gatehouse_idle.map(|p| mb(p.rss_kb)),
        gatehouse_anon: gatehouse_idle.map(|p| mb(p.anon_kb)),
        hydra: server::proc_stats(server.hydra_pid).map(|p| mb(p.rss_kb)),
    };
    // One context for the whole run: every flow gets a phone and an address
    // of its own.
    let ctx = Ctx::new(server);
    warm_up(&ctx).await?;
    let mut report = Report {
        machine: Machine::this(),
        duration_s: cli.duration.as_secs_f64(),
        concurrency: usize::from(cli.concurrency),
        gatehouse: server.measured.clone(),
        hydra: hydra.display().to_string(),
        idle_rss_mb: idle,
        scenarios: Vec::new(),
        ratios: Default::default(),
        targets: Vec::new(),
    };
    // Hydra slows down as its database fills, so a scenario run later
    // looks slower: the three compared with each other take turns, in
    // rounds, and each sees the same database sizes.
    let compared = |s: &Scenario| {
        matches!(
            s,
            Scenario::Browser | Scenario::Headless | Scenario::BareHydra
        )
    };
    let rounds: u32 = if cli.duration >= Duration::from_secs(6) {
        3
    } else {
        1
    };
    let mut measured: Vec<(Scenario, Option<Measured>)> =
        cli.scenarios.iter().map(|&s| (s, None)).collect();
    let mut plan: Vec<(usize, Duration)> = Vec::new();
    for _ in 0..rounds {
        for (i, (scenario, _)) in measured.iter().enumerate() {
            if compared(scenario) {
                plan.push((i, cli.duration / rounds));
            }
        }
    }
    for (i, (scenario, _)) in measured.iter().enumerate() {
        if !compared(scenario) {
            plan.push((i, cli.duration));
        }
    }
    for (i, duration) in plan {
        let scenario = measured[i].0;
        eprintln!(
            "gatehouse-bench: {} for {duration:?} at concurrency {} ...",
            scenario.name(),
            cli.concurrency
        );
        let slice = measure(server, &ctx, scenario, cli.concurrency, duration).await?;
        match &mut measured[i].1 {
            Some(so_far) => so_far.merge(slice),
            none => *none = Some(slice),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    report.scenarios = measured
        .into_iter()
        .filter_map(|(scenario, m)| Some(m?.report(scenario)))
        .collect();
    report.evaluate();
    Ok(report)
}

/// One flow of each HTTP scenario, not measured: Hydra creates its signing
/// keys on the first token and gatehouse loads the phone number metadata on
/// the first number, once per process, which is not what a scenario measures.
async fn warm_up(ctx: &Arc<Ctx>) -> Result<()> {
    flows::browser(ctx.clone())
        .await
        .map_err(|e| anyhow::anyhow!("warm-up browser flow: {e}"))?;
    flows::headless(ctx.clone())
        .await
        .map_err(|e| anyhow::anyhow!("warm-up headless flow: {e}"))?;
    flows::bare_hydra(ctx.clone())
        .await
        .map_err(|e| anyhow::anyhow!("warm-up bare-hydra flow: {e}"))?;
    Ok(())
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

async fn measure(
    server: &Server,
    ctx: &Arc<Ctx>,
    scenario: Scenario,
    concurrency: u16,
    duration: Duration,
) -> Result<Measured> {
    let concurrency = usize::from(concurrency);
    let steps = scenario.steps();
    let pids = [server.pid, server.hydra_pid];
    let peaks_reset = pids.map(server::reset_peak);
    let before = pids.map(server::proc_stats);
    let own_before = server.own_times().await?;
    let bench_before = server::proc_stats(std::process::id());
    let sched_before = pids.map(server::sched_stats);

    let mut outcome = match scenario {
        Scenario::Browser => {
            let ctx = ctx.clone();
            stats::run(concurrency, duration, steps, move |_| {
                flows::browser(ctx.clone())
            })
            .await
        }
        Scenario::Headless => {
            let ctx = ctx.clone();
            stats::run(concurrency, duration, steps, move |_| {
                flows::headless(ctx.clone())
            })
            .await
        }
        Scenario::BareHydra => {
            let ctx = ctx.clone();
            stats::run(concurrency, duration, steps, move |_| {
                flows::bare_hydra(ctx.clone())
            })
            .await
        }
        Scenario::Refresh => refresh(ctx, concurrency, duration).await,
        Scenario::Otp => otp(server, concurrency, duration).await?,
    };

    let after = pids.map(server::proc_stats);
    let own_after = server.own_times().await?;
    let bench_after = server::proc_stats(std::process::id());
    let sched_after = pids.map(server::sched_stats);
    if server.find_hydra() != Some(server.hydra_pid) {
        outcome.errors += 1;
        outcome
            .first_errors
            .push("Hydra was restarted during the scenario (see gatehouse's log)".into());
    }
    let in_process = scenario == Scenario::Otp;
    let process = |i: usize| -> Option<ProcReport> {
        let (before, after) = (before[i]?, after[i]?);
        (!in_process).then(|| ProcReport {
            // Without the reset, VmHWM is the peak since start: still a bound.
            peak_rss_mb: mb(if peaks_reset[i] {
                after.peak_kb
            } else {
                after.peak_kb.max(before.peak_kb)
            }),
            rss_after_mb: mb(after.rss_kb),
            cpu_s: after.cpu_s - before.cpu_s,
            cpu_wait_s: server::cpu_wait_between(&sched_before[i], &sched_after[i]),
        })
    };
    let own = steps
        .iter()
        .map(|info| {
            info.route.map(|(route, method, status_class)| {
                own_after.since(&own_before, route, method, |s| s.starts_with(status_class))
            })
        })
        .collect();
    Ok(Measured {
        outcome,
        processes: [process(0), process(1)],
        own,
        load_generator_cpu_s: bench_before
            .zip(bench_after)
            .map(|(before, after)| after.cpu_s - before.cpu_s),
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
                server::add_buckets(mine, &theirs);
            }
        }
        self.load_generator_cpu_s = match (self.load_generator_cpu_s, other.load_generator_cpu_s) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    }

    fn report(mut self, scenario: Scenario) -> ScenarioReport {
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
                            server::bucket_quantile(b, 0.50)?,
                            server::bucket_quantile(b, 0.90)?,
                            server::bucket_quantile(b, 0.99)?,
                        ]
                        .into(),
                    )
                }),
                own_within_5ms: own.as_ref().and_then(|b| server::share_within(b, 0.005)),
            })
            .collect();
        ScenarioReport {
            name: scenario.name(),
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

/// `refresh`: each worker first signs in once (straight at Hydra, not
/// timed), then rotates its refresh token through gatehouse's proxy.
async fn refresh(ctx: &Arc<Ctx>, concurrency: usize, duration: Duration) -> Outcome {
    let mut slots = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let mut untimed = Vec::new();
        match flows::bare_hydra_tokens(ctx, &mut untimed).await {
            Ok(tokens) => match tokens["refresh_token"].as_str() {
                Some(token) => slots.push(Arc::new(tokio::sync::Mutex::new(token.to_string()))),
                None => return setup_failed(format!("no refresh_token in {tokens}")),
            },
            Err(e) => return setup_failed(format!("signing in to get a refresh token: {e}")),
        }
    }
    let (ctx, slots) = (ctx.clone(), Arc::new(slots));
    stats::run(concurrency, duration, flows::REFRESH_STEPS, move |worker| {
        flows::refresh(ctx.clone(), slots[worker].clone())
    })
    .await
}

fn setup_failed(message: String) -> Outcome {
    Outcome {
        errors: 1,
        first_errors: vec![message],
        ..Outcome::default()
    }
}

/// `otp`: gatehouse's OTP service on a store of its own in this process,
/// with codes handed over in memory: the store's limit.
async fn otp(server: &Server, concurrency: usize, duration: Duration) -> Result<Outcome> {
    let path = server.scratch("otp-bench.sqlite");
    let store = tokio::task::spawn_blocking(move || gatehouse::store::Store::open(&path))
        .await?
        .context("open the otp scenario's store")?;
    let outbox = gatehouse::sms::MemoryOutbox::default();
    let service = gatehouse::signin::otp::OtpService::new(
        store.clone(),
        gatehouse::directory::Directory::embedded(store),
        gatehouse::sms::SmsSender::Memory(outbox.clone()),
        &gatehouse::config::Config::default(),
        gatehouse::store::random_hex(32).as_bytes(),
        gatehouse::infra::clock::Clock::system(),
    );
    let bench = Arc::new(OtpBench {
        service,
        outbox,
        ids: flows::Identities::new(),
    });
    Ok(
        stats::run(concurrency, duration, flows::OTP_STEPS, move |_| {
            flows::otp(bench.clone())
        })
        .await,
    )
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}
