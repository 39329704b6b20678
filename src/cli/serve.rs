//! `gatehouse serve`: the process around [`Application`]: logging, the
//! runtime, systemd notifications and the shutdown signals. A library
//! function so that the benchmark can run exactly this in a process of its own.

use std::process::ExitCode;

use crate::config::Config;
use crate::infra::{notify, telemetry};
use crate::Application;

/// Serves until SIGTERM or SIGINT; the process's exit code.
pub fn serve(config: Config) -> ExitCode {
    telemetry::init(&config.log);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("gatehouse: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        // Listening before anything is served: a SIGTERM that comes right
        // after readiness must stop gatehouse gracefully, not kill it.
        let shutdown = match shutdown_signals() {
            Ok(shutdown) => shutdown,
            Err(e) => {
                eprintln!("gatehouse: cannot install the SIGTERM and SIGINT handlers: {e}");
                return ExitCode::FAILURE;
            }
        };
        notify::status("starting: opening the database and starting Hydra");
        let app = match Application::build(config).await {
            Ok(app) => app,
            Err(e) => {
                tracing::error!("{e}");
                eprintln!("gatehouse: {e}");
                notify::status(&format!("failed to start: {e}"));
                return ExitCode::FAILURE;
            }
        };
        // The store is open and Hydra ready: only now may systemd start
        // what depends on gatehouse.
        notify::ready(&format!("serving on {}", app.local_addr()));
        match app.run_until_stopped(shutdown).await {
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

/// Handles SIGTERM and SIGINT from now on; the future completes on the
/// first one.
fn shutdown_signals() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "shutting down: stopping HTTP, then Hydra");
        notify::stopping("stopping: finishing requests, then stopping Hydra");
    })
}
