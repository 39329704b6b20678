//! Start-up: [`Application::build`] takes the data-dir lock, binds the
//! listeners, opens the store and loads the secrets, starts the clean-up
//! jobs, starts Hydra (or connects to it), then builds the services the
//! routes share; [`Application::run_until_stopped`] serves until a shutdown
//! signal, then stops Hydra. The binary (`gatehouse serve`) and the tests
//! both use it.

use std::future::{pending, Future};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_cron_scheduler::{JobScheduler, JobSchedulerError};

use crate::infra::clock::Clock;

use crate::config::{Config, DirectoryKind, HydraMode};
use crate::directory::DirectoryError;
use crate::hydra::config_file::TokenHook;
use crate::hydra::supervisor::{HydraStatus, SupervisorError};
use crate::hydra::{HydraClient, HydraSupervisor};
use crate::infra::lock::{DataDirLock, LockError};
use crate::infra::{lock, metrics, secrets, serve, tls};
use crate::signin::accept::Acceptor;
use crate::signin::challenges;
use crate::signin::otp::receipts::DeliveryReceipts;
use crate::signin::otp::DeliveryTask;
use crate::store::{self, StoreError};
use crate::web::token_hook::TokenHookListener;
use crate::web::{AppState, HydraProxy, Services, Ui};
use crate::{forward_auth, jobs, web};

mod sign_in_core;

use sign_in_core::SignInCore;

/// Why gatehouse could not start, worded for the operator.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("configuration key `server.listen`: cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("configuration key `metrics.listen`: cannot listen on {addr}: {source}")]
    MetricsListen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("configuration keys `server.tls.cert_file`/`server.tls.key_file`: cannot load {cert} and {key}: {source}")]
    Tls {
        cert: PathBuf,
        key: PathBuf,
        source: std::io::Error,
    },
    #[error("configuration key `data_dir`: cannot use {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot set up the user directory ([directory]): {0}")]
    Directory(#[from] DirectoryError),
    #[error("cannot set up the code delegate (otp.issuer): {0}")]
    CodeDelegate(#[from] crate::sms::delegate::DelegateError),
    #[error("cannot read or create the secret {path}: {source}")]
    Secret {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the clean-up jobs (jobs.purge_schedule): {0}")]
    Jobs(#[from] JobSchedulerError),
    #[error(transparent)]
    Hydra(#[from] SupervisorError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot listen on 127.0.0.1 for Hydra's token hook: {0}")]
    TokenHook(std::io::Error),
}

pub struct Application {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    tls: Option<tls::Tls>,
    /// Hydra's token hook, with an outside user directory (see `web::token_hook`).
    token_hook: Option<TokenHookListener>,
    state: AppState,
    /// The public listener's timeouts and connection cap.
    limits: serve::Limits,
    supervisor: Option<HydraSupervisor>,
    jobs: JobScheduler,
    /// Sends the queued text messages (the SMS outbox).
    delivery: DeliveryTask,
    /// Sends the queued audit events to `[events] url`, when set.
    events: Option<DeliveryTask>,
    /// Held until Hydra has stopped: nothing else may touch the data dir.
    /// None on PostgreSQL: several instances share the database.
    lock: Option<DataDirLock>,
}

impl Application {
    /// Starts everything gatehouse needs and returns once it can serve.
    pub async fn build(config: Config) -> Result<Application, StartupError> {
        Self::build_with_clock(config, Clock::system()).await
    }

    /// Like [`Application::build`], with a clock tests can move.
    pub async fn build_with_clock(
        config: Config,
        clock: Clock,
    ) -> Result<Application, StartupError> {
        // The data dir lock comes first: a second gatehouse on the same data
        // dir is told so, rather than that its port is taken.
        let lock = lock_data_dir(&config).await?;
        // The texts and branding files, read and checked again: they may
        // have changed since the configuration was.
        let ui = Ui::load(&config.ui)?;
        let limits = serve::Limits::for_server(&config.server);
        // Bind next: a port that is taken fails at once, not after Hydra started.
        let listeners = Listeners::bind(&config).await?;
        let metrics = metrics::Metrics::new();
        let sign_in = SignInCore::open(&config, &clock, &metrics).await?;
        let jobs = jobs::start(
            sign_in.store.clone(),
            clock.clone(),
            &config.jobs.purge_schedule,
            jobs::Retention::from_config(&config),
        )
        .await?;
        let delivery = sign_in.otp.delivery().spawn();
        let events = sign_in.audit.delivery(&config.events).map(|d| d.spawn());
        let hydra = HydraClient::new(config.hydra_admin_url(), config.hydra.ca_file());
        let token_hook = if wants_token_hook(&config) {
            let listener = TokenHookListener::bind().await;
            Some(listener.map_err(StartupError::TokenHook)?)
        } else {
            None
        };
        let hook = token_hook.as_ref().map(TokenHookListener::hook);
        let supervisor = start_hydra(&config, &hydra, &metrics, hook).await?;
        let signature = supervisor.as_ref().map(|supervisor| {
            forward_auth::HydraTokenSignature::new(&[supervisor.system_secret().clone()])
        });
        let state = app_state(config, clock, metrics, sign_in, (hydra, ui, signature));
        Ok(Application {
            listener: listeners.public,
            metrics_listener: listeners.metrics,
            tls: listeners.tls,
            token_hook,
            state,
            limits,
            supervisor,
            jobs,
            delivery,
            events,
            lock,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The supervised Hydra's status handle (None in external mode).
    pub fn hydra_status(&self) -> Option<HydraStatus> {
        self.supervisor.as_ref().map(HydraSupervisor::status)
    }

    /// Serves until `shutdown` completes, lets in-flight requests finish for
    /// at most `server.shutdown_timeout`, then stops Hydra (if supervised).
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let grace = self.state.config.server.shutdown_timeout;
        let limits = self.limits;
        // Metrics have their own listener (and a few connections of their
        // own); it simply ends with the process.
        let metrics_server = self.metrics_listener.map(|listener| {
            let router = axum::Router::new()
                .route("/metrics", axum::routing::get(metrics::scrape))
                .with_state(self.state.metrics.clone());
            tracing::info!(listen = ?listener.local_addr().ok(), "metrics are served");
            let limits = serve::Limits {
                max_connections: METRICS_CONNECTIONS,
                ..limits
            };
            tokio::spawn(serve::serve(listener, None, router, limits, pending()))
        });
        let hook_server = self
            .token_hook
            .map(|hook| hook.spawn(self.state.accept.clone()));
        let router = web::router(self.state);
        tracing::info!(
            listen = %self.listener.local_addr()?,
            max_connections = limits.max_connections,
            "gatehouse is serving"
        );
        let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            shutdown.await;
            let _ = stopping.send(());
        };
        let reloader = self.tls.as_ref().map(tls::Tls::reload_on_sighup);
        let certificate = self.tls.as_ref().map(tls::Tls::config);
        let server = serve::serve(self.listener, certificate, router, limits, shutdown);
        // The grace period starts with the shutdown signal, not at start-up.
        let deadline = async move {
            if stopped.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                pending::<()>().await;
            }
        };
        let served = tokio::select! {
            served = server => served,
            () = deadline => {
                // Dropping the server stops waiting; the runtime's end (or
                // the process exit) closes the connections still open.
                tracing::warn!(
                    timeout = ?grace,
                    "in-flight requests did not finish within server.shutdown_timeout; closing them"
                );
                Ok(())
            }
        };
        for server in metrics_server.into_iter().chain(hook_server) {
            server.abort();
        }
        drop(self.delivery);
        drop(self.events);
        if let Some(reloader) = reloader {
            reloader.abort();
        }
        let mut jobs = self.jobs;
        if let Err(error) = jobs.shutdown().await {
            tracing::warn!(%error, "clean-up jobs did not stop cleanly");
        }
        if let Some(supervisor) = self.supervisor {
            supervisor.stop().await;
        }
        drop(self.lock);
        served
    }
}

/// Connections the metrics listener holds at most (scrapers are few).
const METRICS_CONNECTIONS: usize = 32;

/// Creates the data dir if need be and, when gatehouse's database is the
/// SQLite file in it, takes its lock, so that no other gatehouse (or
/// `gatehouse backup`) uses it while this one runs. On PostgreSQL there is
/// no such lock: instances share the database and each has a data dir of
/// its own (for its secrets' copy and, supervised, its Hydra).
async fn lock_data_dir(config: &Config) -> Result<Option<DataDirLock>, StartupError> {
    let data_dir = config.data_dir.as_path();
    secrets::create_data_dir(data_dir).map_err(|source| StartupError::DataDir {
        path: data_dir.to_path_buf(),
        source,
    })?;
    if store::database_location(config)?.is_postgres() {
        return Ok(None);
    }
    let data_dir = data_dir.to_path_buf();
    let lock = tokio::task::spawn_blocking(move || lock::acquire(&data_dir))
        .await
        .map_err(|e| StoreError::Task(e.to_string()))??;
    Ok(Some(lock))
}

/// The sockets gatehouse serves on, and the certificate for the public one.
struct Listeners {
    public: TcpListener,
    metrics: Option<TcpListener>,
    tls: Option<tls::Tls>,
}

impl Listeners {
    /// Binds `server.listen` and `metrics.listen` and loads the TLS files.
    async fn bind(config: &Config) -> Result<Listeners, StartupError> {
        let addr = config.server.listen;
        let public = TcpListener::bind(addr)
            .await
            .map_err(|source| StartupError::Listen { addr, source })?;
        let metrics = match config.metrics.listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartupError::MetricsListen { addr, source })?,
            ),
            None => None,
        };
        let tls = match &config.server.tls {
            Some(files) => {
                Some(
                    tls::Tls::load(files)
                        .await
                        .map_err(|source| StartupError::Tls {
                            cert: files.cert_file.clone(),
                            key: files.key_file.clone(),
                            source,
                        })?,
                )
            }
            None => None,
        };
        Ok(Listeners {
            public,
            metrics,
            tls,
        })
    }
}

/// Starts Hydra as a child process in supervised mode and counts its
/// restarts; in external mode Hydra is someone else's to run.
async fn start_hydra(
    config: &Config,
    hydra: &HydraClient,
    metrics: &metrics::Metrics,
    token_hook: Option<&TokenHook>,
) -> Result<Option<HydraSupervisor>, StartupError> {
    let supervisor = match config.hydra.mode {
        HydraMode::Supervised => {
            Some(HydraSupervisor::start(config, hydra.clone(), token_hook).await?)
        }
        HydraMode::External { .. } => None,
    };
    if let Some(supervisor) = &supervisor {
        let status = supervisor.status();
        metrics.watch_hydra_restarts(Box::new(move || status.restarts()));
    }
    Ok(supervisor)
}

/// With an outside user directory, the Hydra gatehouse runs asks it at each
/// token whether the person may still have one (the embedded directory
/// revokes a disabled person's tokens itself).
fn wants_token_hook(config: &Config) -> bool {
    config.hydra.mode == HydraMode::Supervised
        && !matches!(config.directory.kind, DirectoryKind::Embedded)
}

/// Builds the services the routes share on top of the sign-in core and
/// Hydra's client. Nothing here does I/O.
fn app_state(
    config: Config,
    clock: Clock,
    metrics: metrics::Metrics,
    sign_in: SignInCore,
    (hydra, ui, signature): (HydraClient, Ui, Option<forward_auth::HydraTokenSignature>),
) -> AppState {
    let proxy = HydraProxy::new(
        &config.hydra_public_url(),
        &config.server.public_url,
        config.hydra.ca_file(),
    );
    let challenges = challenges::ChallengeMemory::new(
        sign_in.store.clone(),
        config.hydra.login_consent_request_ttl.as_secs() as i64,
        clock.clone(),
    );
    let forward_auth = forward_auth::ForwardAuth::new(
        hydra.clone(),
        &config.forward_auth,
        (forward_auth::JwtKeys::for_config(&config), signature),
        clock.clone(),
        metrics.clone(),
    );
    let accept = Acceptor::new(
        hydra.clone(),
        sign_in.directory.clone(),
        config.login.clone(),
        config.consent.clone(),
        config.claims.clone(),
        (sign_in.store.clone(), clock.clone()),
    );
    let headless = sign_in.headless(&config, &hydra, &accept);
    let browser = sign_in.browser(&hydra, &accept, &challenges, &metrics);
    let account = sign_in.account(&config, &hydra, &clock);
    let SignInCore {
        store,
        directory,
        otp,
        bot,
        csrf,
        audit,
        methods,
        ..
    } = sign_in;
    let receipts = DeliveryReceipts::from_config(&config, store.clone(), clock.clone())
        .with_metrics(metrics.clone());
    let config = Arc::new(config);
    AppState::new(Services {
        config,
        store,
        directory,
        hydra,
        proxy,
        otp,
        receipts,
        bot_challenge: bot,
        csrf,
        challenges,
        forward_auth,
        metrics,
        headless,
        browser,
        accept,
        audit,
        methods,
        account,
        ui,
    })
}
