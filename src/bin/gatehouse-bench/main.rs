//! gatehouse-bench: sign-ins per second, latency and memory of gatehouse,
//! measured next to the limit of the bare Hydra it drives, in one run.
//!
//! It starts a gatehouse (in a process of its own, so that /proc tells its
//! memory and CPU) with a real supervised Hydra on free ports in a temp dir,
//! SMS codes going to a webhook sink inside this process, registers its
//! clients, then runs each scenario for `--duration` on `--concurrency`
//! workers. See BENCHMARKS.md.

mod audit_size;
mod comparisons;
mod flows;
mod forward_auth;
mod measure;
mod own_times;
mod process_stats;
mod proofs;
mod report;
mod scenarios;
mod server;
mod sms_sink;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;

use measure::Variant;
use report::Report;
use scenarios::Scenario;
use server::{Binary, Server};

#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
enum HydraDefaults {
    Gatehouse,
    Stock,
    Both,
}

/// Hydra's own settings, as `[hydra.tuning]` writes them.
const STOCK_TUNING: &str = "[hydra.tuning]\nsigning_key = \"hydra\"\n\
    client_secret_pbkdf2_iterations = 25000\nsqlite_synchronous = \"full\"\n\
    go_gc_percent = 100\n";

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
    /// Verifications in flight at once in the forward-auth scenarios.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=1024))]
    forward_auth_concurrency: u16,
    /// The settings of the Hydra gatehouse runs: gatehouse's `[hydra.tuning]`
    /// defaults, Hydra's stock ones, or both in turns (with their ratios).
    #[arg(long, value_enum, default_value = "gatehouse")]
    hydra_defaults: HydraDefaults,
    /// A second gatehouse executable to run in turns with the measured one
    /// (A/B), e.g. a build of the previous commit.
    #[arg(long, value_name = "PATH", conflicts_with = "hydra_defaults")]
    baseline: Option<PathBuf>,
    /// Oathkeeper for the forward-auth scenarios' peer (default:
    /// ./bin/oathkeeper, as scripts/install-oathkeeper puts it).
    #[arg(long, env = "OATHKEEPER_BINARY")]
    oathkeeper: Option<PathBuf>,
    /// Scenarios to run, in this order (comma-separated).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "browser,headless,bare-hydra,refresh,otp,proof"
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
    /// Only measure the disk an audit trail of this many events takes
    /// (no server, no Hydra), e.g. 1000000.
    #[arg(long, value_name = "EVENTS")]
    audit_size: Option<u64>,
    /// Internal: run `gatehouse serve` with this configuration file.
    #[arg(long, hide = true)]
    serve: Option<PathBuf>,
}

fn main() -> ExitCode {
    // Before any HTTP client is built (reqwest has no provider of its own).
    gatehouse::infra::http::install_crypto_provider();
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
        cli.forward_auth_concurrency = 2;
    }
    if let Some(i) = cli
        .scenarios
        .iter()
        .position(|s| *s == Scenario::ForwardAuth)
    {
        cli.scenarios.splice(i..=i, scenarios::FORWARD_AUTH);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("gatehouse-bench: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(events) = cli.audit_size {
        return match runtime.block_on(audit_size::measure(events, cli.keep_data)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("gatehouse-bench: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    if cli.scenarios.iter().all(|s| !s.is_flow()) {
        // `--scenarios proof` alone needs neither gatehouse nor Hydra.
        return runtime.block_on(proofs::alone(cli.output.as_deref(), cli.smoke));
    }
    // Ctrl-C drops the run: each server's and verifier's `Drop` stops its
    // processes and removes its temp dir.
    let run = async {
        tokio::select! {
            report = bench(&cli) => report,
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted; cleaned up")),
        }
    };
    match runtime.block_on(run) {
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
    let measured = match &cli.gatehouse {
        Some(path) => Binary::Gatehouse(path.clone()),
        None => Binary::Itself,
    };
    let setups: Vec<(&'static str, Binary, &str)> = match (&cli.baseline, cli.hydra_defaults) {
        (Some(path), _) => vec![
            ("current", measured, ""),
            ("baseline", Binary::Gatehouse(path.clone()), ""),
        ],
        (None, HydraDefaults::Gatehouse) => vec![("", measured, "")],
        (None, HydraDefaults::Stock) => vec![("", measured, STOCK_TUNING)],
        (None, HydraDefaults::Both) => vec![
            ("gatehouse", measured.clone(), ""),
            ("stock", measured, STOCK_TUNING),
        ],
    };
    let forward_auth = cli.scenarios.iter().any(|s| s.forward_auth().is_some());
    let oathkeeper = oathkeeper_binary(cli);
    let mut variants = Vec::new();
    for (i, (label, binary, settings)) in setups.into_iter().enumerate() {
        eprintln!(
            "gatehouse-bench: starting gatehouse and Hydra{} ...",
            measure::label(label)
        );
        let server = Server::start(&binary, &hydra, settings, cli.keep_data).await?;
        let fa = if forward_auth {
            let peer = oathkeeper.as_deref().filter(|_| i == 0);
            let workers = usize::from(cli.forward_auth_concurrency);
            Some(forward_auth::ForwardAuth::start(&server, &binary, peer, workers).await?)
        } else {
            None
        };
        let ctx = flows::Ctx::new(&server);
        variants.push(Variant {
            label,
            server,
            ctx,
            forward_auth: fa,
        });
    }
    let result = measure::run_scenarios(cli, &variants, &hydra).await;
    if result.is_err() {
        for variant in &variants {
            eprintln!("gatehouse's log ends with:\n{}", variant.server.log_tail());
        }
    }
    for variant in variants {
        variant.server.stop().await;
    }
    result
}

/// Oathkeeper from the flag (or OATHKEEPER_BINARY), else where
/// scripts/install-oathkeeper puts it; None when it is not there.
fn oathkeeper_binary(cli: &Cli) -> Option<PathBuf> {
    let candidates = match &cli.oathkeeper {
        Some(path) => vec![path.clone()],
        None => vec![
            PathBuf::from("bin/oathkeeper"),
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/bin/oathkeeper")),
        ],
    };
    candidates.into_iter().find(|p| p.is_file())
}
