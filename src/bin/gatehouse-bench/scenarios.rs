//! The scenarios the command line names, and how each one is run on N
//! workers for a while: which flow, with which setup first. Measuring around
//! a run is `measure`'s.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use clap::ValueEnum;

use crate::flows::{self, Ctx, StepInfo};
use crate::server::Server;
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
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Browser => "browser",
            Scenario::Headless => "headless",
            Scenario::BareHydra => "bare-hydra",
            Scenario::Refresh => "refresh",
            Scenario::Otp => "otp",
            Scenario::Proof => "proof",
        }
    }

    pub fn steps(self) -> &'static [StepInfo] {
        match self {
            Scenario::Browser => flows::browser::STEPS,
            Scenario::Headless => flows::headless::STEPS,
            Scenario::BareHydra => flows::bare_hydra::STEPS,
            Scenario::Refresh => flows::refresh::STEPS,
            Scenario::Otp => flows::otp::STEPS,
            Scenario::Proof => &[],
        }
    }

    /// The three sign-in flows, compared with each other: they take turns
    /// (see `measure::run_scenarios`).
    pub fn is_compared(self) -> bool {
        matches!(
            self,
            Scenario::Browser | Scenario::Headless | Scenario::BareHydra
        )
    }

    /// `otp` runs in this process: /proc of gatehouse and Hydra says
    /// nothing about it.
    pub fn in_process(self) -> bool {
        self == Scenario::Otp
    }

    /// `proof` is measured once, not as flows on workers (see `proofs.rs`).
    pub fn is_flow(self) -> bool {
        self != Scenario::Proof
    }

    /// Runs the scenario's flow on `concurrency` workers for `duration`.
    pub async fn run(
        self,
        server: &Server,
        ctx: &Arc<Ctx>,
        concurrency: usize,
        duration: Duration,
    ) -> Result<Outcome> {
        let steps = self.steps();
        let ctx = ctx.clone();
        Ok(match self {
            Scenario::Browser => {
                stats::run(concurrency, duration, steps, move |_| {
                    flows::browser::flow(ctx.clone())
                })
                .await
            }
            Scenario::Headless => {
                stats::run(concurrency, duration, steps, move |_| {
                    flows::headless::flow(ctx.clone())
                })
                .await
            }
            Scenario::BareHydra => {
                stats::run(concurrency, duration, steps, move |_| {
                    flows::bare_hydra::flow(ctx.clone())
                })
                .await
            }
            Scenario::Refresh => flows::refresh::run(&ctx, concurrency, duration).await,
            Scenario::Otp => flows::otp::run(server, concurrency, duration).await?,
            Scenario::Proof => anyhow::bail!("`proof` is not run as flows"),
        })
    }
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
