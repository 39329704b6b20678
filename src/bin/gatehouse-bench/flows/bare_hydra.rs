//! The `bare-hydra` scenario's flow: the same code flow as `browser`, but
//! straight at Hydra, with the benchmark accepting login and consent at
//! Hydra's admin API: no pages, no code, no claims. The most this machine's
//! Hydra can do, and so the yardstick for the other two.

use std::sync::Arc;

use serde_json::{json, Value};
use url::Url;

use super::http::{api_call, param, Browser};
use super::oauth::{authorization, callback_code, exchange_code};
use super::{step, Ctx, FlowResult, Owner, StepInfo, Steps};
use crate::server::SCOPE;

pub const STEPS: &[StepInfo] = &[
    step("authorize", Owner::Hydra, None),
    step("accept login", Owner::Hydra, None),
    step("login verifier", Owner::Hydra, None),
    step("accept consent", Owner::Hydra, None),
    step("consent verifier", Owner::Hydra, None),
    step("token", Owner::Hydra, None),
];

/// `bare-hydra`: one sign-in, its six steps timed.
pub async fn flow(ctx: Arc<Ctx>) -> FlowResult {
    let mut steps = Steps::with_capacity(6);
    tokens(&ctx, &mut steps).await?;
    Ok(steps)
}

/// One sign-in of the flow, timed into `steps`; returns the tokens too.
pub async fn tokens(ctx: &Ctx, steps: &mut Steps) -> Result<Value, String> {
    let browser = Browser::default();
    let hydra = &ctx.hydra_public;
    let (auth, state, verifier) = authorization(hydra, &ctx.callback);
    let login = timed!(
        steps,
        "authorize",
        browser.hop(ctx.http.get(auth), "authorize").await?
    )
    .expect_redirect("authorize")?;
    let challenge = param(&login, "login_challenge").ok_or("authorize: no login_challenge")?;
    let subject = format!("bench-{}", gatehouse::infra::random::random_hex(8));
    let body = json!({"subject": subject});
    let consent = accept_at_admin(ctx, steps, &browser, Accept::Login, &challenge, body).await?;
    let challenge =
        param(&consent, "consent_challenge").ok_or("login verifier: no consent_challenge")?;
    let grant_scope: Vec<&str> = SCOPE.split(' ').collect();
    let body = json!({"grant_scope": grant_scope});
    let callback = accept_at_admin(ctx, steps, &browser, Accept::Consent, &challenge, body).await?;
    let code = callback_code(&callback, &ctx.callback, &state)?;
    Ok(timed!(
        steps,
        "token",
        exchange_code(ctx, hydra, &code, &verifier).await?
    ))
}

/// What `bare-hydra` accepts at Hydra's admin API in gatehouse's place.
#[derive(Clone, Copy)]
enum Accept {
    Login,
    Consent,
}

impl Accept {
    /// The flow in the admin path, its challenge parameter, and the names
    /// of the accept step and of the verifier hop after it.
    fn names(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Accept::Login => ("login", "login_challenge", "accept login", "login verifier"),
            Accept::Consent => (
                "consent",
                "consent_challenge",
                "accept consent",
                "consent verifier",
            ),
        }
    }
}

/// Accepts `challenge` with `body` at Hydra's admin API (`PUT
/// .../requests/{flow}/accept`), then follows Hydra's verifier with the
/// browser's cookies; returns where the verifier redirects. Both steps are
/// timed.
async fn accept_at_admin(
    ctx: &Ctx,
    steps: &mut Steps,
    browser: &Browser,
    accept: Accept,
    challenge: &str,
    body: Value,
) -> Result<Url, String> {
    let (flow, challenge_param, accept_step, verifier_step) = accept.names();
    let answer = timed!(steps, accept_step, {
        let mut url = Url::parse(&ctx.hydra_admin).expect("a URL");
        url.set_path(&format!("/admin/oauth2/auth/requests/{flow}/accept"));
        url.query_pairs_mut()
            .append_pair(challenge_param, challenge);
        api_call(ctx.http.put(url).json(&body), accept_step).await?
    });
    // Hydra names its issuer (gatehouse's origin) in redirects: go to Hydra.
    let mut verifier = redirect_to(&answer, accept_step)?;
    let _ = verifier.set_port(ctx.hydra_public.port());
    timed!(
        steps,
        verifier_step,
        browser.hop(ctx.http.get(verifier), verifier_step).await?
    )
    .expect_redirect(verifier_step)
}

fn redirect_to(answer: &Value, what: &str) -> Result<Url, String> {
    answer["redirect_to"]
        .as_str()
        .and_then(|r| Url::parse(r).ok())
        .ok_or_else(|| format!("{what}: no redirect_to in {answer}"))
}
