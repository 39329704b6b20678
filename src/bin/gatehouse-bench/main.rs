//! gatehouse-bench: sign-ins per second, latency and memory of gatehouse,
//! measured next to the limit of the bare Hydra it drives, in one run.
//!
//! It starts a gatehouse (in a process of its own, so that /proc tells its
//! memory and CPU) with a real supervised Hydra on free ports in a temp dir,
//! SMS codes going to a webhook sink inside this process, registers its
//! clients, then runs each scenario for `--duration` on `--concurrency`
//! workers. `--database postgres` puts gatehouse's store and Hydra's
//! database on a PostgreSQL server (its own, or `--postgres-url`), and
//! `--instances 2` runs a second gatehouse (and Hydra) on the same
//! databases, the flows taking turns. See BENCHMARKS.md.

mod audit_size;
mod comparisons;
mod flows;
mod forward_auth;
mod lean_http;
mod measure;
mod own_times;
mod postgres;
mod process_stats;
mod proofs;
mod report;
mod scenarios;
mod server;
mod sms_sink;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;

use measure::Variant;
use report::Report;
use scenarios::Scenario;
use server::{Binary, Placement, Server};

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

/// Where gatehouse and its Hydra keep their state.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum Database {
    /// Their SQLite files in the data dir (the appliance).
    Sqlite,
    /// gatehouse's `[database] url` and `hydra.dsn` on PostgreSQL, each a
    /// database of its own.
    Postgres,
}

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
    /// The verifications a second `fa-paced` offers (on
    /// `--forward-auth-concurrency` connections).
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    forward_auth_rate: u32,
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
    /// Where gatehouse's store and its Hydra's database are.
    #[arg(long, value_enum, default_value = "sqlite")]
    database: Database,
    /// gatehouse instances (each with its supervised Hydra) on the same
    /// PostgreSQL databases, sharing their secrets; the flows go to each
    /// in turn, as a load balancer's round robin. 2 needs `--database postgres`.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    instances: u8,
    /// With `--database postgres`: a server to make the run's databases in
    /// (a user that may create databases, e.g.
    /// postgres://postgres:PW@127.0.0.1:5432/postgres); default: a server
    /// of the run's own, started and removed by it.
    #[arg(long, value_name = "URL")]
    postgres_url: Option<String>,
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
        cli.forward_auth_rate = 200;
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
    if cli.instances > 1 && cli.database != Database::Postgres {
        bail!("--instances 2 needs --database postgres: two gatehouses share one store there");
    }
    if cli.postgres_url.is_some() && cli.database != Database::Postgres {
        bail!("--postgres-url goes with --database postgres");
    }
    let mut postgres = match cli.database {
        Database::Postgres => {
            eprintln!("gatehouse-bench: starting PostgreSQL ...");
            Some(postgres::Postgres::start(cli.postgres_url.as_deref()).await?)
        }
        Database::Sqlite => None,
    };
    let result = bench_on(cli, &hydra, postgres.as_mut()).await;
    if let Some(postgres) = postgres {
        postgres.stop().await;
    }
    result
}

async fn bench_on(
    cli: &Cli,
    hydra: &std::path::Path,
    mut postgres: Option<&mut postgres::Postgres>,
) -> Result<Report> {
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
        let (server, others, otp_database) =
            start_instances(cli, i, &binary, hydra, settings, postgres.as_deref_mut()).await?;
        let fa = if forward_auth {
            let peer = oathkeeper.as_deref().filter(|_| i == 0);
            let workers = usize::from(cli.forward_auth_concurrency);
            let rate = cli.forward_auth_rate;
            Some(forward_auth::ForwardAuth::start(&server, &binary, peer, workers, rate).await?)
        } else {
            None
        };
        let ids = Arc::new(flows::Identities::new());
        let ctxs = std::iter::once(&server)
            .chain(&others)
            .map(|s| flows::Ctx::new(s, ids.clone()))
            .collect();
        variants.push(Variant {
            label,
            server,
            others,
            ctxs,
            forward_auth: fa,
            otp_database,
        });
    }
    let result = measure::run_scenarios(cli, &variants, hydra).await;
    if result.is_err() {
        for server in variants
            .iter()
            .flat_map(|v| std::iter::once(&v.server).chain(&v.others))
        {
            eprintln!("gatehouse's log ends with:\n{}", server.log_tail());
        }
    }
    for variant in variants {
        for server in variant.others {
            server.stop().await;
        }
        variant.server.stop().await;
    }
    result
}

/// The instances of variant `i` (one, or `--instances`), on their
/// databases; and the `otp` scenario's database on PostgreSQL.
async fn start_instances(
    cli: &Cli,
    i: usize,
    binary: &Binary,
    hydra: &std::path::Path,
    settings: &str,
    postgres: Option<&mut postgres::Postgres>,
) -> Result<(Server, Vec<Server>, Option<String>)> {
    let databases = match postgres {
        Some(pg) => Some((
            pg.database(&format!("gatehouse{i}")).await?,
            format!(
                "{}&{}",
                pg.database(&format!("hydra{i}")).await?,
                postgres::HYDRA_POOL
            ),
            pg.database(&format!("otp{i}")).await?,
        )),
        None => None,
    };
    let placement = Placement {
        postgres: databases.as_ref().map(|(g, h, _)| (g.as_str(), h.as_str())),
        peer: None,
    };
    let server = Server::start(binary, hydra, settings, cli.keep_data, placement).await?;
    let mut others = Vec::new();
    for n in 1..cli.instances {
        eprintln!("gatehouse-bench: starting instance {} ...", n + 1);
        let peer = Placement {
            peer: Some(&server),
            ..placement
        };
        others.push(Server::start(binary, hydra, settings, cli.keep_data, peer).await?);
    }
    Ok((server, others, databases.map(|(_, _, otp)| otp)))
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
