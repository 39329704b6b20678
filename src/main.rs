//! The `gatehouse` command line: a thin shell over the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, Subcommand};
use gatehouse::cli::audit::AuditArgs;
use gatehouse::cli::backup;
use gatehouse::cli::clients::ClientsCommand;
use gatehouse::cli::keys::KeysCommand;
use gatehouse::cli::sessions::SessionsCommand;
use gatehouse::cli::store::StoreCommand;
use gatehouse::cli::users::UsersCommand;
use gatehouse::config::{Config, DatabaseLocation};
use gatehouse::infra::telemetry;
use gatehouse::store::Store;

/// sysexits.h EX_CONFIG: the unit file uses it to stop restarting on a bad config.
const EXIT_CONFIG: u8 = 78;

#[derive(Parser)]
#[command(
    name = "gatehouse",
    version,
    disable_version_flag = true,
    subcommand_required = false,
    arg_required_else_help = true,
    about = "Phone-OTP login, consent and logout provider for Ory Hydra"
)]
struct Cli {
    /// Configuration file (default: ./config.toml when present).
    #[arg(long, short, global = true, env = "GATEHOUSE_CONFIG")]
    config: Option<PathBuf>,
    /// Print gatehouse's version and commit, the pinned Hydra version and
    /// what the configured `hydra.binary` reports.
    #[arg(long, short = 'V')]
    version: bool,
    #[command(subcommand)]
    command: Option<Command>,
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
    /// List, rotate and retire the keys Hydra signs tokens with.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Sign people out: browser sessions, one app's tokens, or everything.
    Sessions {
        #[command(subcommand)]
        command: SessionsCommand,
    },
    /// Show the audit trail: who signed in, from where, with what; codes
    /// sent and refused, consents, logouts and operators' commands.
    Audit(AuditArgs),
    /// Copy the databases and secrets into DIR (new or empty) while serving.
    Backup {
        /// Where the backup goes; created with mode 0700.
        dir: PathBuf,
    },
    /// Put a backup made by `gatehouse backup` into the data dir. Refused
    /// while gatehouse runs on that data dir.
    Restore {
        dir: PathBuf,
        /// Replace the databases and secrets of a data dir that is not empty.
        #[arg(long)]
        force: bool,
    },
    /// Move people and their sign-in methods between databases (an
    /// appliance's SQLite file to PostgreSQL).
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Check the configuration, files, Hydra, ports, SMS webhook and
    /// databases; print what to fix. Exits non-zero when something is wrong.
    Doctor,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.version {
        return print_version(cli.config.as_deref());
    }
    let Some(command) = cli.command else {
        Cli::command()
            .error(ErrorKind::MissingSubcommand, "a command is required")
            .exit()
    };
    match load_config(cli.config.as_deref(), &command) {
        Ok(config) => run(command, config),
        Err(exit) => exit,
    }
}

/// `gatehouse --version`, with the configuration when it loads.
fn print_version(path: Option<&Path>) -> ExitCode {
    let config = Config::load(path);
    match block_on(gatehouse::cli::version::lines(config.as_ref())) {
        Some(lines) => {
            println!("{}", lines.join("\n"));
            ExitCode::SUCCESS
        }
        None => ExitCode::FAILURE,
    }
}

/// The configuration, or the exit code of a bad one after saying what is
/// wrong (as a doctor finding on stdout for `gatehouse doctor`).
fn load_config(path: Option<&Path>, command: &Command) -> Result<Config, ExitCode> {
    Config::load(path).map_err(|e| {
        if matches!(command, Command::Doctor) {
            println!("problem: {e} -- fix: correct it, then check with `gatehouse check-config`");
        } else {
            eprintln!("gatehouse: {e}");
        }
        ExitCode::from(EXIT_CONFIG)
    })
}

fn run(command: Command, config: Config) -> ExitCode {
    match command {
        Command::CheckConfig => {
            print!("{}", config.to_toml());
            for notice in &config.sms.notices {
                eprintln!("gatehouse: warning: {notice}");
            }
            eprintln!("gatehouse: configuration is valid");
            ExitCode::SUCCESS
        }
        Command::Migrate => migrate(&config),
        Command::Serve => gatehouse::cli::serve::serve(config),
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
        Command::Keys { command } => {
            let result = block_on(gatehouse::cli::keys::run(&config, command));
            report(result)
        }
        Command::Audit(args) => {
            let result = block_on(gatehouse::cli::audit::run(&config, args));
            report(result)
        }
        Command::Store { command } => {
            telemetry::init(&config.log);
            report(block_on(gatehouse::cli::store::run(command)))
        }
        Command::Backup { dir } => report(Some(back_up(&config, &dir))),
        Command::Restore { dir, force } => report(Some(restore(&config, &dir, force))),
        Command::Doctor => {
            let healthy = block_on(gatehouse::cli::doctor::run(&config, |finding| {
                println!("{finding}")
            }));
            match healthy {
                Some(true) => ExitCode::SUCCESS,
                _ => ExitCode::FAILURE,
            }
        }
    }
}

/// `gatehouse migrate`: opening the store applies the migrations.
fn migrate(config: &Config) -> ExitCode {
    telemetry::init(&config.log);
    let opened = gatehouse::infra::secrets::create_data_dir(&config.data_dir)
        .map_err(|e| e.to_string())
        .and_then(|()| Store::open_configured(config).map_err(|e| e.to_string()));
    match opened {
        Ok(_) => {
            let which = match gatehouse::store::database_location(config) {
                Ok(DatabaseLocation::Sqlite(path)) => path.display().to_string(),
                _ => "on PostgreSQL (database.url)".into(),
            };
            eprintln!("gatehouse: database {which} is up to date");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gatehouse: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `gatehouse backup DIR`, saying what was written and how long it took.
fn back_up(config: &Config, dir: &Path) -> Result<(), backup::BackupError> {
    let started = std::time::Instant::now();
    backup::backup(config, dir).map(|manifest| {
        eprintln!(
            "gatehouse: backup written to {}: {} files, {} bytes, in {} ms",
            dir.display(),
            manifest.files.len(),
            manifest.total_bytes(),
            started.elapsed().as_millis()
        );
    })
}

/// `gatehouse restore DIR`, saying what was restored from which backup.
fn restore(config: &Config, dir: &Path, force: bool) -> Result<(), backup::BackupError> {
    backup::restore(config, dir, force).map(|manifest| {
        eprintln!(
            "gatehouse: restored {} files into {} (backup of {} by gatehouse {})",
            manifest.files.len(),
            config.data_dir.display(),
            manifest.created_at,
            manifest.gatehouse_version
        );
    })
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
