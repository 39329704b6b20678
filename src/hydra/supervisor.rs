//! Runs Hydra as a child process and keeps it running.
//!
//! Start-up: secrets (created once, mode 0600) -> Hydra config file (0600,
//! it holds the secrets) -> `hydra migrate sql up` -> `hydra serve all` ->
//! wait for `/health/ready`. Afterwards a task restarts Hydra with backoff
//! whenever it exits, until [`HydraSupervisor::stop`] stops it with SIGTERM.
//! Hydra dies with gatehouse even on SIGKILL (PR_SET_PDEATHSIG).

use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::process::{self, Signal};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

mod logs;

use self::logs::{forward_logs, tail, RecentLines, RECENT_LINES};
use super::admin::HydraClient;
use super::config_file::{self, HydraPaths, TokenHook};
use crate::config::{Config, Secret};

const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A Hydra that ran this long before exiting counts as healthy: backoff resets.
const STABLE_AFTER: Duration = Duration::from_secs(60);
const STOP_GRACE: Duration = Duration::from_secs(10);
const MIGRATE_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error(
        "configuration key `hydra.binary`: {0} is not an executable file; \
         run scripts/install-hydra or point hydra.binary at a Hydra {pinned} binary",
        pinned = super::PINNED_VERSION
    )]
    MissingBinary(PathBuf),
    #[error("configuration key `{key}`: port {port} on 127.0.0.1 is already in use")]
    PortInUse { key: &'static str, port: u16 },
    #[error("cannot prepare Hydra's files in {path}: {source}")]
    Files { path: PathBuf, source: io::Error },
    #[error("cannot start {binary}: {source}")]
    Spawn { binary: PathBuf, source: io::Error },
    #[error("`hydra migrate sql up` failed ({status}):\n{output}")]
    Migrate { status: String, output: String },
    #[error("`hydra migrate sql up` did not finish within {0:?}")]
    MigrateTimeout(Duration),
    #[error("Hydra exited during start-up ({status}); its last lines:\n{output}")]
    ExitedEarly { status: String, output: String },
    #[error("{0} (configuration key `hydra.tuning.signing_key`)")]
    SigningKey(#[from] super::signing_keys::SigningKeyError),
    #[error(
        "Hydra did not become ready within {timeout:?} (configuration key `hydra.ready_timeout`); \
         last error: {last_error}"
    )]
    NotReady {
        timeout: Duration,
        last_error: String,
    },
}

/// How to start Hydra: fixed once at start-up.
#[derive(Debug, Clone)]
struct Launch {
    binary: PathBuf,
    config_file: PathBuf,
    dev: bool,
    ready_timeout: Duration,
    /// `GOGC` for Hydra (`hydra.tuning.go_gc_percent`).
    go_gc_percent: u32,
}

impl Launch {
    /// Hydra with `args` (fixed words only) and its config file. Its
    /// secrets and DSN are in that file (mode 0600), never in its arguments,
    /// which any user on the host can read (`ps`, /proc/PID/cmdline), nor
    /// in its environment.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .args(args)
            .arg("--config")
            .arg(&self.config_file)
            // Hydra reads its settings from environment variables too (DSN,
            // SECRETS_SYSTEM, ...): only the config file may configure it.
            .env_clear()
            .envs(std::env::vars().filter(|(k, _)| matches!(k.as_str(), "PATH" | "HOME" | "TZ")))
            .env("GOGC", self.go_gc_percent.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // Own process group: a Ctrl-C in the terminal reaches gatehouse
        // only, which then stops Hydra in order.
        command.process_group(0);
        // SAFETY: pre_exec is unsafe because the closure runs between fork and
        // exec; it makes only two system calls (prctl, getppid), which are
        // async-signal-safe, and allocates nothing.
        unsafe {
            command.pre_exec(|| {
                // Die with the parent, even if it is SIGKILLed.
                process::set_parent_process_death_signal(Some(Signal::KILL))?;
                // The parent may have died before prctl took effect.
                if process::getppid().is_none_or(|parent| parent.is_init()) {
                    return Err(io::Error::other("parent exited"));
                }
                Ok(())
            });
        }
        command
    }

    fn spawn_serve(&self, recent: &RecentLines) -> Result<Child, SupervisorError> {
        let mut args = vec!["serve", "all", "--sqa-opt-out"];
        if self.dev {
            args.push("--dev");
        }
        let mut child = self
            .command(&args)
            .spawn()
            .map_err(|source| SupervisorError::Spawn {
                binary: self.binary.clone(),
                source,
            })?;
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(forward_logs(stdout, recent.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(forward_logs(stderr, recent.clone()));
        }
        Ok(child)
    }
}

pub struct HydraSupervisor {
    status: HydraStatus,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    system_secret: Secret,
}

/// A cheap, cloneable view of the supervised Hydra.
#[derive(Clone, Default)]
pub struct HydraStatus {
    pid: Arc<AtomicU32>,
    restarts: Arc<AtomicU32>,
}

impl HydraStatus {
    /// The current Hydra process id (None while it is being restarted).
    pub fn pid(&self) -> Option<u32> {
        Some(self.pid.load(Ordering::SeqCst)).filter(|pid| *pid != 0)
    }

    /// How many times Hydra was restarted after an unexpected exit.
    pub fn restarts(&self) -> u32 {
        self.restarts.load(Ordering::SeqCst)
    }
}

impl HydraSupervisor {
    /// Prepares and starts Hydra, returning once it reports ready.
    /// `token_hook`: where Hydra asks gatehouse at each token it issues.
    pub async fn start(
        config: &Config,
        client: HydraClient,
        token_hook: Option<&TokenHook>,
    ) -> Result<Self, SupervisorError> {
        let binary = config.hydra.binary.clone();
        if !is_executable(&binary) {
            return Err(SupervisorError::MissingBinary(binary));
        }
        let paths = HydraPaths::new(&absolute(&config.data_dir));
        let system_secret = config_file::write_files(config, &paths, token_hook)
            .map_err(|(path, source)| SupervisorError::Files { path, source })?;
        ensure_port_free("hydra.public_port", config.hydra.public_port)?;
        ensure_port_free("hydra.admin_port", config.hydra.admin_port)?;

        let launch = Launch {
            binary,
            config_file: paths.config_file.clone(),
            dev: config_file::needs_dev_mode(config),
            ready_timeout: config.hydra.ready_timeout,
            go_gc_percent: config.hydra.tuning.go_gc_percent,
        };
        if launch.dev {
            tracing::warn!(
                public_url = %config.server.public_url,
                "server.public_url is plain http: Hydra runs in --dev mode, for development only"
            );
        }
        migrate(&launch).await?;

        let recent = RecentLines::default();
        let mut child = launch.spawn_serve(&recent)?;
        if let Err(e) = wait_ready(&mut child, &client, &recent, launch.ready_timeout).await {
            let _ = child.kill().await;
            return Err(e);
        }
        // Before gatehouse serves: no token may be signed before the key is in.
        let kind = config.hydra.tuning.signing_key;
        if let Err(e) = super::signing_keys::ensure(&client, kind).await {
            let _ = child.kill().await;
            return Err(e.into());
        }
        let status = HydraStatus::default();
        status.pid.store(child.id().unwrap_or(0), Ordering::SeqCst);
        tracing::info!(pid = child.id(), "hydra is ready");

        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(supervise(
            child,
            launch,
            client,
            recent,
            status.clone(),
            stop_rx,
        ));
        Ok(HydraSupervisor {
            status,
            stop,
            task,
            system_secret,
        })
    }

    pub fn status(&self) -> HydraStatus {
        self.status.clone()
    }

    /// The secret this Hydra signs its opaque tokens with.
    pub fn system_secret(&self) -> &Secret {
        &self.system_secret
    }

    /// Stops Hydra gracefully (SIGTERM, then SIGKILL after a grace period).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn ensure_port_free(key: &'static str, port: u16) -> Result<(), SupervisorError> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port))
        .map(drop)
        .map_err(|_| SupervisorError::PortInUse { key, port })
}

async fn migrate(launch: &Launch) -> Result<(), SupervisorError> {
    let started = Instant::now();
    let mut command = launch.command(&["migrate", "sql", "up", "--read-from-env", "--yes"]);
    let output = tokio::time::timeout(MIGRATE_TIMEOUT, command.output())
        .await
        .map_err(|_| SupervisorError::MigrateTimeout(MIGRATE_TIMEOUT))?
        .map_err(|source| SupervisorError::Spawn {
            binary: launch.binary.clone(),
            source,
        })?;
    if !output.status.success() {
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        return Err(SupervisorError::Migrate {
            status: describe(output.status),
            output: tail(&text, RECENT_LINES),
        });
    }
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "hydra database migrated"
    );
    Ok(())
}

async fn wait_ready(
    child: &mut Child,
    client: &HydraClient,
    recent: &RecentLines,
    timeout: Duration,
) -> Result<(), SupervisorError> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().ok().flatten() {
            // Let the log forwarders drain the last lines.
            tokio::time::sleep(Duration::from_millis(100)).await;
            return Err(SupervisorError::ExitedEarly {
                status: describe(status),
                output: recent.joined(),
            });
        }
        let last_error = match client.ready().await {
            Ok(()) => return Ok(()),
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(SupervisorError::NotReady {
                timeout,
                last_error,
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Watches the running Hydra and restarts it until told to stop.
async fn supervise(
    child: Child,
    launch: Launch,
    client: HydraClient,
    recent: RecentLines,
    status: HydraStatus,
    mut stop: watch::Receiver<bool>,
) {
    let HydraStatus { pid, restarts } = status;
    let mut child = Some(child);
    let mut started = Instant::now();
    let mut backoff = FIRST_BACKOFF;
    loop {
        if let Some(running) = child.as_mut() {
            tokio::select! {
                status = running.wait() => {
                    pid.store(0, Ordering::SeqCst);
                    let status = status.map(describe).unwrap_or_else(|e| e.to_string());
                    if started.elapsed() >= STABLE_AFTER {
                        backoff = FIRST_BACKOFF;
                    }
                    tracing::error!(%status, restart_in = ?backoff, "hydra exited unexpectedly; restarting it");
                    child = None;
                }
                _ = stop.changed() => {
                    terminate(running).await;
                    pid.store(0, Ordering::SeqCst);
                    return;
                }
            }
        }

        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
        match launch.spawn_serve(&recent) {
            Ok(mut new) => {
                started = Instant::now();
                pid.store(new.id().unwrap_or(0), Ordering::SeqCst);
                restarts.fetch_add(1, Ordering::SeqCst);
                let outcome = tokio::select! {
                    ready = wait_ready(&mut new, &client, &recent, launch.ready_timeout) => Some(ready),
                    _ = stop.changed() => None,
                };
                match outcome {
                    Some(Ok(())) => tracing::info!(pid = new.id(), "hydra restarted and ready"),
                    Some(Err(e)) => tracing::error!(error = %e, "restarted hydra is not ready"),
                    None => {
                        terminate(&mut new).await;
                        pid.store(0, Ordering::SeqCst);
                        return;
                    }
                }
                child = Some(new);
            }
            Err(e) => tracing::error!(error = %e, retry_in = ?backoff, "cannot restart hydra"),
        }
    }
}

async fn terminate(child: &mut Child) {
    if let Some(pid) = child.id() {
        if let Some(pid) = i32::try_from(pid).ok().and_then(process::Pid::from_raw) {
            let _ = process::kill_process(pid, Signal::TERM);
        }
        match tokio::time::timeout(STOP_GRACE, child.wait()).await {
            Ok(status) => {
                let status = status.map(describe).unwrap_or_else(|e| e.to_string());
                tracing::info!(%status, "hydra stopped");
                return;
            }
            Err(_) => tracing::warn!(grace = ?STOP_GRACE, "hydra did not stop in time; killing it"),
        }
    }
    let _ = child.kill().await;
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => status.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hydra_is_given_its_config_file_and_fixed_words_only() {
        let launch = Launch {
            binary: PathBuf::from("/usr/bin/hydra"),
            config_file: PathBuf::from("/var/lib/gatehouse/hydra/hydra.yaml"),
            dev: true,
            ready_timeout: Duration::from_secs(1),
            go_gc_percent: 200,
        };
        for args in [
            vec!["serve", "all", "--sqa-opt-out", "--dev"],
            vec!["migrate", "sql", "up", "--read-from-env", "--yes"],
        ] {
            let command = launch.command(&args);
            let given: Vec<_> = command.as_std().get_args().collect();
            let mut expected: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
            expected.extend(["--config".as_ref(), launch.config_file.as_os_str()]);
            assert_eq!(given, expected);
            let env: Vec<_> = command.as_std().get_envs().map(|(k, _)| k).collect();
            assert!(
                env.iter()
                    .all(|k| ["PATH", "HOME", "TZ", "GOGC"].contains(&k.to_str().unwrap())),
                "{env:?}"
            );
            let gogc = command.as_std().get_envs().find(|(k, _)| *k == "GOGC");
            assert_eq!(gogc.and_then(|(_, v)| v), Some("200".as_ref()));
        }
    }

    #[test]
    fn occupied_port_is_named() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let err = ensure_port_free("hydra.admin_port", port)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`hydra.admin_port`"), "{err}");
        assert!(err.contains(&port.to_string()), "{err}");
    }
}
