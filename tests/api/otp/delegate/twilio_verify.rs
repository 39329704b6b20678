//! A stand-in for Twilio Verify v2, written from Twilio's documentation:
//! `POST /v2/Services/{ServiceSid}/Verifications` (form `To`, `Channel`)
//! answers 201 with the Verification (`status: pending`);
//! `POST /v2/Services/{ServiceSid}/VerificationCheck` (form `To`, `Code`)
//! answers 200 with `status: approved` (the verification is then gone) or
//! `pending`, and 404 (error 20404) when no verification is pending for
//! `To`. `GET /v2/Services/{ServiceSid}` fetches the Service. HTTP basic auth with the account SID and auth token (401, error
//! 20003, otherwise); Twilio's error body `{code, message, more_info, status}`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::response::Response;
use serde_json::json;

use super::super::sms_providers::{basic, form_value, json_answer, twilio_error};
use crate::helpers::{ReceivedRequest, WebhookSink};

pub const ACCOUNT_SID: &str = "AC00000000000000000000000000000042";
pub const AUTH_TOKEN: &str = "verify-auth-token";
pub const SERVICE_SID: &str = "VA00000000000000000000000000000042";

#[derive(Default)]
pub struct Pending {
    /// To -> the code Twilio texted (pending verifications).
    pub codes: HashMap<String, String>,
    /// Every code texted: (To, code).
    pub sent: Vec<(String, String)>,
    /// Answer every request with a 503 (Twilio having a bad day).
    pub down: bool,
}

pub struct TwilioVerifyStandIn {
    pub sink: WebhookSink,
    pub state: Arc<Mutex<Pending>>,
}

impl TwilioVerifyStandIn {
    pub async fn start() -> TwilioVerifyStandIn {
        let state: Arc<Mutex<Pending>> = Arc::default();
        let shared = state.clone();
        let sink = WebhookSink::answering("", move |_, request| {
            std::future::ready(answer(&shared, request))
        })
        .await;
        TwilioVerifyStandIn { sink, state }
    }

    /// The base URL, as `otp.twilio_verify.base_url` takes it.
    pub fn base_url(&self) -> String {
        self.sink.url.clone()
    }

    pub fn code_for(&self, to: &str) -> Option<String> {
        let state = self.state.lock().unwrap();
        state
            .sent
            .iter()
            .rev()
            .find(|(sent_to, _)| sent_to == to)
            .map(|(_, code)| code.clone())
    }

    /// The VerificationCheck requests received so far.
    pub fn checks(&self) -> usize {
        self.sink
            .received()
            .iter()
            .filter(|r| r.uri.ends_with("/VerificationCheck"))
            .count()
    }
}

fn answer(state: &Mutex<Pending>, request: &ReceivedRequest) -> Response {
    let verifications = format!("/v2/Services/{SERVICE_SID}/Verifications");
    let check = format!("/v2/Services/{SERVICE_SID}/VerificationCheck");
    let authorization = request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    if authorization != Some(basic(ACCOUNT_SID, AUTH_TOKEN).as_str()) {
        return twilio_error(401, 20003, "Authenticate");
    }
    let mut state = state.lock().unwrap();
    if state.down {
        return twilio_error(503, 20503, "Service Unavailable");
    }
    if request.method == "GET" && request.uri == format!("/v2/Services/{SERVICE_SID}") {
        return json_answer(
            200,
            json!({
                "sid": SERVICE_SID, "account_sid": ACCOUNT_SID, "friendly_name": "Gatehouse",
                "code_length": 6, "lookup_enabled": false, "do_not_share_warning_enabled": false,
            }),
        );
    }
    let form = request.form();
    let Some(to) = form_value(&form, "To") else {
        return twilio_error(400, 60200, "Invalid parameter `To`");
    };
    if request.method == "POST" && request.uri == verifications {
        if form_value(&form, "Channel").as_deref() != Some("sms") {
            return twilio_error(400, 60200, "Invalid parameter `Channel`");
        }
        // A pending verification is sent again with the same code.
        let code = state
            .codes
            .entry(to.clone())
            .or_insert_with(|| format!("{:06}", rand::random::<u32>() % 1_000_000))
            .clone();
        state.sent.push((to.clone(), code));
        return json_answer(201, verification(&to, "pending"));
    }
    if request.method == "POST" && request.uri == check {
        let Some(code) = form_value(&form, "Code") else {
            return twilio_error(400, 60200, "Invalid parameter `Code`");
        };
        let Some(expected) = state.codes.get(&to).cloned() else {
            let path = format!("/Services/{SERVICE_SID}/VerificationCheck");
            return twilio_error(
                404,
                20404,
                &format!("The requested resource {path} was not found"),
            );
        };
        if code == expected {
            state.codes.remove(&to);
            return json_answer(200, verification(&to, "approved"));
        }
        return json_answer(200, verification(&to, "pending"));
    }
    twilio_error(404, 20404, "The requested resource was not found")
}

/// A Verification (or VerificationCheck) resource as Twilio answers it.
fn verification(to: &str, status: &str) -> serde_json::Value {
    json!({
        "sid": "VE00000000000000000000000000000042",
        "service_sid": SERVICE_SID,
        "account_sid": ACCOUNT_SID,
        "to": to,
        "channel": "sms",
        "status": status,
        "valid": status == "approved",
        "amount": null,
        "payee": null,
        "date_created": "2026-11-29T05:00:00Z",
        "date_updated": "2026-11-29T05:00:00Z",
    })
}
