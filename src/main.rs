//! The `gatehouse` command line: a thin shell over the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gatehouse::cli::clients::ClientsCommand;
use gatehouse::cli::sessions::SessionsCommand;
use gatehouse::cli::users::UsersCommand;
use gatehouse::config::Config;
use gatehouse::store::Store;
use gatehouse::{telemetry, Application};

/// sysexits.h EX_CONFIG: the unit file uses it to stop restarting on a bad config.
const EXIT_CONFIG: u8 = 78;

#[derive(Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "Phone-OTP login, consent and logout provider for Ory Hydra"
)]
struct Cli {
    /// Configuration file (default: ./config.toml when present).
    #[arg(long, short, global = true, env = "GATEHOUSE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run gatehouse (and, in supervised mode, Hydra) until SIGTERM or SIGINT.
    Serve,
    /// Validate the configuration and print the effective settings.
    CheckConfig,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users: add, list, show, disable, enable, import a CSV file.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Register, list, show and delete OAuth2 clients in Hydra.
    Clients {
        #[command(subcommand)]
        command: ClientsCommand,
    },
    /// Sign people out: browser sessions, one app's tokens, or everything.
    Sessions {
        #[command(subcommand)]
        command: SessionsCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("gatehouse: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    match cli.command {
        Command::CheckConfig => {
            print!("{}", config.to_toml());
            eprintln!("gatehouse: configuration is valid");
            ExitCode::SUCCESS
        }
        Command::Migrate => {
            telemetry::init(&config.log);
            let path = config.data_dir.join("gatehouse.sqlite");
            let opened = gatehouse::secrets::create_private_dir(&config.data_dir)
                .map_err(|e| e.to_string())
                .and_then(|()| Store::open(&path).map_err(|e| e.to_string()));
            match opened {
                Ok(_) => {
                    eprintln!("gatehouse: database {} is up to date", path.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("gatehouse: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Serve => serve(config),
        Command::Users { command } => {
            let result = block_on(gatehouse::cli::users::run(&config, command));
            report(result)
        }
        Command::Clients { command } => {
            let result = block_on(gatehouse::cli::clients::run(&config, command));
            report(result)
        }
        Command::Sessions { command } => {
            let result = block_on(gatehouse::cli::sessions::run(&config, command));
            report(result)
        }
    }
}

/// Runs a CLI task on a small runtime of its own.
fn block_on<T>(task: impl std::future::Future<Output = T>) -> Option<T> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => Some(runtime.block_on(task)),
        Err(e) => {
            eprintln!("gatehouse: cannot start the async runtime: {e}");
            None
        }
    }
}

/// One line on stderr for a failed command.
fn report<E: std::fmt::Display>(result: Option<Result<(), E>>) -> ExitCode {
    match result {
        Some(Ok(())) => ExitCode::SUCCESS,
        Some(Err(e)) => {
            eprintln!("gatehouse: {e}");
            ExitCode::FAILURE
        }
        None => ExitCode::FAILURE,
    }
}

fn serve(config: Config) -> ExitCode {
    telemetry::init(&config.log);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("gatehouse: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let app = match Application::build(config).await {
            Ok(app) => app,
            Err(e) => {
                tracing::error!("{e}");
                eprintln!("gatehouse: {e}");
                return ExitCode::FAILURE;
            }
        };
        match app.run_until_stopped(shutdown_signal()).await {
            Ok(()) => {
                tracing::info!("gatehouse stopped");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("gatehouse: server error: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// Completes on the first SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    let mut interrupt = signal(SignalKind::interrupt()).expect("install SIGINT handler");
    let name = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    };
    tracing::info!(signal = name, "shutting down: stopping HTTP, then Hydra");
}
