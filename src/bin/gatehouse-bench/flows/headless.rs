//! The `headless` scenario's flow: the two calls of gatehouse's headless
//! API, as an app's back end makes them, the code read from the SMS sink in
//! between.

use std::sync::Arc;

use serde_json::json;

use super::http::api_call;
use super::{step, Ctx, FlowResult, Owner, StepInfo, Steps};
use crate::server::HEADLESS_CLIENT;

pub const STEPS: &[StepInfo] = &[
    step(
        "request-otp",
        Owner::Gatehouse,
        Some(("/api/headless/request-otp", "POST", "2")),
    ),
    step(
        "verify-otp",
        Owner::Gatehouse,
        Some(("/api/headless/verify-otp", "POST", "2")),
    ),
];

/// `headless`: one sign-in, its two calls timed.
pub async fn flow(ctx: Arc<Ctx>) -> FlowResult {
    let (phone, ip) = ctx.ids.next();
    let mut steps = Steps::with_capacity(2);
    let api = |path: &str| ctx.public.join(path).expect("a path");
    let started = timed!(steps, "request-otp", {
        let body = json!({"phone": phone, "client_id": HEADLESS_CLIENT});
        let request = ctx.http.post(api("/api/headless/request-otp"));
        api_call(
            request.header("x-forwarded-for", &ip).json(&body),
            "request-otp",
        )
        .await?
    });
    let session_id = started["session_id"]
        .as_str()
        .ok_or("request-otp: no session_id")?;
    let code = ctx
        .sms
        .take(&phone)
        .await
        .ok_or_else(|| format!("request-otp: no SMS reached the sink for {phone}"))?;
    let tokens = timed!(steps, "verify-otp", {
        let body = json!({"session_id": session_id, "otp": code});
        let request = ctx.http.post(api("/api/headless/verify-otp"));
        api_call(request.json(&body), "verify-otp").await?
    });
    if tokens["access_token"].as_str().is_none() {
        return Err(format!("verify-otp: no access_token in {tokens}"));
    }
    Ok(steps)
}
