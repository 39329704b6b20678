//! The scenarios the command line names, and how each one is run on N
//! workers for a while: which flow, with which setup first. Measuring around
//! a run is `measure`'s.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use clap::ValueEnum;

use crate::flows::{self, Ctx, StepInfo};
use crate::forward_auth::{self, Case};
use crate::lean_http::Connections;
use crate::measure::Variant;
use crate::stats::{self, Outcome};

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum Scenario {
    Browser,
    Headless,
    BareHydra,
    Refresh,
    Otp,
    /// Not a flow: the proof of work's costs (`proofs.rs`), once.
    Proof,
    /// All the `fa-*` and `oathkeeper-*` scenarios, in turns.
    ForwardAuth,
    FaCached,
    /// `fa-cached` offered at `--forward-auth-rate`, not as fast as it goes:
    /// the latency at that load.
    FaPaced,
    FaUncached,
    FaJwt,
    FaGarbage,
    OathkeeperCached,
    OathkeeperUncached,
    OathkeeperJwt,
    OathkeeperGarbage,
}

/// What `forward-auth` stands for.
pub const FORWARD_AUTH: [Scenario; 9] = [
    Scenario::FaCached,
    Scenario::OathkeeperCached,
    Scenario::FaPaced,
    Scenario::FaUncached,
    Scenario::OathkeeperUncached,
    Scenario::FaJwt,
    Scenario::OathkeeperJwt,
    Scenario::FaGarbage,
    Scenario::OathkeeperGarbage,
];

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Browser => "browser",
            Scenario::Headless => "headless",
            Scenario::BareHydra => "bare-hydra",
            Scenario::Refresh => "refresh",
            Scenario::Otp => "otp",
            Scenario::Proof => "proof",
            Scenario::ForwardAuth => "forward-auth",
            Scenario::FaCached => "fa-cached",
            Scenario::FaPaced => "fa-paced",
            Scenario::FaUncached => "fa-uncached",
            Scenario::FaJwt => "fa-jwt",
            Scenario::FaGarbage => "fa-garbage",
            Scenario::OathkeeperCached => "oathkeeper-cached",
            Scenario::OathkeeperUncached => "oathkeeper-uncached",
            Scenario::OathkeeperJwt => "oathkeeper-jwt",
            Scenario::OathkeeperGarbage => "oathkeeper-garbage",
        }
    }

    /// A forward-auth scenario's case, and whether Oathkeeper answers it.
    pub fn forward_auth(self) -> Option<(Case, bool)> {
        Some(match self {
            Scenario::FaCached | Scenario::FaPaced => (Case::Cached, false),
            Scenario::FaUncached => (Case::Uncached, false),
            Scenario::FaJwt => (Case::Jwt, false),
            Scenario::FaGarbage => (Case::Garbage, false),
            Scenario::OathkeeperCached => (Case::Cached, true),
            Scenario::OathkeeperUncached => (Case::Uncached, true),
            Scenario::OathkeeperJwt => (Case::Jwt, true),
            Scenario::OathkeeperGarbage => (Case::Garbage, true),
            _ => return None,
        })
    }

    pub fn steps(self) -> &'static [StepInfo] {
        match self {
            Scenario::Browser => flows::browser::STEPS,
            Scenario::Headless => flows::headless::STEPS,
            Scenario::BareHydra => flows::bare_hydra::STEPS,
            Scenario::Refresh => flows::refresh::STEPS,
            Scenario::Otp => flows::otp::STEPS,
            Scenario::Proof | Scenario::ForwardAuth => &[],
            _ => forward_auth::STEPS,
        }
    }

    /// The three sign-in flows, compared with each other, and gatehouse's
    /// forward auth next to Oathkeeper's: they take turns (see
    /// `measure::plan`).
    pub fn is_compared(self) -> bool {
        matches!(
            self,
            Scenario::Browser | Scenario::Headless | Scenario::BareHydra
        ) || self.forward_auth().is_some()
    }

    /// `otp` runs in this process: /proc of gatehouse and Hydra says
    /// nothing about it.
    pub fn in_process(self) -> bool {
        self == Scenario::Otp
    }

    /// `proof` is measured once, not as flows on workers (see `proofs.rs`).
    pub fn is_flow(self) -> bool {
        !matches!(self, Scenario::Proof | Scenario::ForwardAuth)
    }

    /// Runs the scenario's flow on `concurrency` workers for `duration`;
    /// with several instances, each new flow on the next one in turn.
    pub async fn run(
        self,
        variant: &Variant,
        concurrency: usize,
        duration: Duration,
    ) -> Result<Outcome> {
        if let Some((case, oathkeeper)) = self.forward_auth() {
            let fa = variant.forward_auth.as_ref();
            let fa = fa.ok_or_else(|| anyhow::anyhow!("forward auth was not set up"))?;
            let rate = (self == Scenario::FaPaced).then_some(fa.rate);
            return Ok(match fa.target(case, oathkeeper) {
                Some((url, tokens)) => {
                    let load = Load {
                        concurrency,
                        duration,
                        rate,
                    };
                    run_forward_auth(url, tokens, load).await?
                }
                None => Outcome::setup_failed(
                    "Oathkeeper is not installed: run scripts/install-oathkeeper".into(),
                ),
            });
        }
        let steps = self.steps();
        let next = alternating(&variant.ctxs);
        Ok(match self {
            Scenario::Browser => {
                stats::run(concurrency, duration, steps, move |_| {
                    flows::browser::flow(next())
                })
                .await
            }
            Scenario::Headless => {
                stats::run(concurrency, duration, steps, move |_| {
                    flows::headless::flow(next())
                })
                .await
            }
            Scenario::BareHydra => {
                stats::run(concurrency, duration, steps, move |_| {
                    flows::bare_hydra::flow(next())
                })
                .await
            }
            Scenario::Refresh => flows::refresh::run(&variant.ctxs, concurrency, duration).await,
            Scenario::Otp => {
                let database = variant.otp_database.as_deref();
                flows::otp::run(&variant.server, database, concurrency, duration).await?
            }
            _ => anyhow::bail!("`{}` is not run as flows", self.name()),
        })
    }
}

/// The instances' contexts in turn, one per call (the load balancer's
/// round robin).
fn alternating(ctxs: &[Arc<Ctx>]) -> impl Fn() -> Arc<Ctx> + Clone + Send + 'static {
    let ctxs: Arc<[Arc<Ctx>]> = ctxs.into();
    let turn = Arc::new(AtomicUsize::new(0));
    move || {
        let ctx = ctxs[turn.fetch_add(1, Ordering::Relaxed) % ctxs.len()].clone();
        ctx.flows_sent.fetch_add(1, Ordering::Relaxed);
        ctx
    }
}

/// How a forward-auth scenario loads its verifier: as fast as
/// `concurrency` workers go, or at `rate` verifications a second.
struct Load {
    concurrency: usize,
    duration: Duration,
    rate: Option<u32>,
}

/// Worker n asks `url` with token n (or garbage, when there are none), on
/// a thread of its own with a one-thread runtime: an event loop per
/// thread, as wrk and wrk2 generate load. On these two CPUs a pool of
/// generator threads waking each other takes CPU from the measured
/// process: `fa-paced`'s p99 was 2.7 to 3.1 ms with two, 2.2 to 2.5 with
/// one (BENCHMARKS.md).
async fn run_forward_auth(url: String, tokens: Vec<String>, load: Load) -> Result<Outcome> {
    let generator = std::thread::Builder::new().name("fa-generator".into());
    let run = move || -> Result<Outcome> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(forward_auth_flows(url, tokens, load))
    };
    let (done, outcome) = tokio::sync::oneshot::channel();
    generator.spawn(move || done.send(run()))?;
    outcome.await?
}

async fn forward_auth_flows(url: String, tokens: Vec<String>, load: Load) -> Result<Outcome> {
    let connections = Arc::new(Connections::new(&url, load.concurrency)?);
    let tokens: Arc<Vec<Arc<str>>> = Arc::new(tokens.into_iter().map(Into::into).collect());
    let flow = move |worker: usize| {
        let token = (!tokens.is_empty()).then(|| tokens[worker % tokens.len()].clone());
        forward_auth::flow(connections.clone(), worker, token)
    };
    // One flow per worker, one after the other, before the clock starts:
    // the run then begins on open connections, as a reverse proxy's
    // keep-alive pool does (wrk2 connects before its clock starts too),
    // and with the answers the tokens' first requests would have cached.
    for worker in 0..load.concurrency {
        flow(worker)
            .await
            .map_err(|e| anyhow::anyhow!("warm-up: {e}"))?;
    }
    let (concurrency, duration, steps) = (load.concurrency, load.duration, forward_auth::STEPS);
    Ok(match load.rate {
        Some(rate) => stats::run_paced(concurrency, duration, rate, steps, flow).await,
        None => stats::run(concurrency, duration, steps, flow).await,
    })
}

/// One flow of each HTTP scenario, not measured: Hydra creates its signing
/// keys on the first token and gatehouse loads the phone number metadata on
/// the first number, once per process, which is not what a scenario measures.
pub async fn warm_up(ctx: &Arc<Ctx>) -> Result<()> {
    flows::browser::flow(ctx.clone())
        .await
        .map_err(|e| anyhow::anyhow!("warm-up browser flow: {e}"))?;
    flows::headless::flow(ctx.clone())
        .await
        .map_err(|e| anyhow::anyhow!("warm-up headless flow: {e}"))?;
    flows::bare_hydra::flow(ctx.clone())
        .await
        .map_err(|e| anyhow::anyhow!("warm-up bare-hydra flow: {e}"))?;
    Ok(())
}
