//! The `refresh` scenario: each worker signs in once, untimed and straight
//! at Hydra, for a refresh token, then its flow rotates that token through
//! gatehouse's proxy again and again.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use super::{bare_hydra, oauth, step, Ctx, FlowResult, Owner, StepInfo, Steps, PROXY};
use crate::stats::{self, Outcome};

pub const STEPS: &[StepInfo] = &[step("refresh", Owner::Hydra, Some((PROXY, "POST", "2")))];

/// Runs the scenario on `concurrency` workers for `duration`, after one
/// untimed sign-in per worker; worker n on instance n (of `ctxs`, in turn).
pub async fn run(ctxs: &[Arc<Ctx>], concurrency: usize, duration: Duration) -> Outcome {
    let mut slots = Vec::with_capacity(concurrency);
    for worker in 0..concurrency {
        let ctx = &ctxs[worker % ctxs.len()];
        let mut untimed = Vec::new();
        match bare_hydra::tokens(ctx, &mut untimed).await {
            Ok(tokens) => match tokens["refresh_token"].as_str() {
                Some(token) => slots.push(Arc::new(Mutex::new(token.to_string()))),
                None => return Outcome::setup_failed(format!("no refresh_token in {tokens}")),
            },
            Err(e) => {
                return Outcome::setup_failed(format!("signing in to get a refresh token: {e}"))
            }
        }
    }
    let (ctxs, slots): (Arc<[Arc<Ctx>]>, _) = (ctxs.into(), Arc::new(slots));
    stats::run(concurrency, duration, STEPS, move |worker| {
        flow(ctxs[worker % ctxs.len()].clone(), slots[worker].clone())
    })
    .await
}

/// `refresh`: one refresh-token rotation through gatehouse's proxy; the
/// worker's token is replaced by the new one.
async fn flow(ctx: Arc<Ctx>, token_slot: Arc<Mutex<String>>) -> FlowResult {
    let mut slot = token_slot.lock().await;
    let mut steps = Steps::with_capacity(1);
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", slot.as_str()),
    ];
    let tokens = timed!(
        steps,
        "refresh",
        oauth::token(&ctx, &ctx.public, &form).await?
    );
    *slot = tokens["refresh_token"]
        .as_str()
        .ok_or("refresh: no new refresh_token")?
        .to_string();
    Ok(steps)
}
