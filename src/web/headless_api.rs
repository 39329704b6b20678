//! `GET /api/headless/challenge`, `POST /api/headless/request-otp`,
//! `/api/headless/verify-otp`, `/api/headless/request-app-code`,
//! `/api/headless/verify-app-code` (a code from an authenticator app
//! instead of a text) and `/api/headless/token-exchange`: the JSON
//! face of [`crate::signin::headless`] and of the bot challenge.
//! Every answer, success or error, is JSON and never cached; errors are
//! `{"error", "error_description"}` (RFC 6749 5.2).

use std::net::{IpAddr, SocketAddr};

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::api_error::{error_response, with_no_store, ApiError, BODY_LIMIT};
use super::client_ip::client_ip;
use crate::config::{ChallengeApply, HeadlessClient};
use crate::domain::PhoneNumber;
use crate::i18n;
use crate::signin::bot_challenge::{Offer, Proof};
use crate::signin::error::SignInError;
use crate::signin::headless::Started;
use crate::signin::legacy_session::LegacyToken;
use crate::web::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/headless/challenge", get(challenge).fallback(get_only))
        .route(
            "/api/headless/request-otp",
            post(request_otp).fallback(method_not_allowed),
        )
        .route(
            "/api/headless/verify-otp",
            post(verify_otp).fallback(method_not_allowed),
        )
        .route(
            "/api/headless/request-app-code",
            post(request_app_code).fallback(method_not_allowed),
        )
        .route(
            "/api/headless/verify-app-code",
            post(verify_app_code).fallback(method_not_allowed),
        )
        .route(
            "/api/headless/token-exchange",
            post(token_exchange).fallback(method_not_allowed),
        )
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

#[derive(Debug, Deserialize)]
pub struct RequestOtp {
    phone: String,
    client_id: String,
    /// Space-separated; the client's configured scopes when absent.
    #[serde(default)]
    scope: Option<String>,
    /// A solved challenge of `GET /api/headless/challenge` (proof of work).
    #[serde(default)]
    pow_solution: Option<String>,
    /// The captcha widget's token (Turnstile or hCaptcha).
    #[serde(default)]
    captcha_token: Option<String>,
    /// The app's languages, best first, space-separated as OIDC's
    /// `ui_locales`: chooses the text message's language before
    /// `Accept-Language`.
    #[serde(default)]
    ui_locales: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct VerifyOtp {
    session_id: String,
    otp: String,
}

/// `Debug` is safe: [`LegacyToken`] prints no part of the token.
#[derive(Debug, Deserialize)]
pub struct TokenExchange {
    legacy_token: LegacyToken,
    client_id: String,
    /// Space-separated; the client's configured scopes when absent.
    #[serde(default)]
    scope: Option<String>,
}

async fn request_otp(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<RequestOtp>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let request = CodeRequest::checked(&state, peer, &headers, body)?;
    let started = state
        .headless
        .request_otp(
            request.client,
            &request.phone,
            request.scope.as_deref(),
            request.ip,
            &request.proof,
        )
        .await?;
    Ok(started_answer(&started))
}

/// `request-otp`'s body and answer, for a code from the person's
/// authenticator app: no text is sent.
async fn request_app_code(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<RequestOtp>, JsonRejection>,
) -> Result<Response, ApiError> {
    if !state.headless.offers_app_codes() {
        return Ok(app_codes_off());
    }
    let Json(body) = body?;
    let request = CodeRequest::checked(&state, peer, &headers, body)?;
    let started = state
        .headless
        .start_app_code(
            request.client,
            &request.phone,
            request.scope.as_deref(),
            request.ip,
            &request.proof,
        )
        .await?;
    Ok(started_answer(&started))
}

/// A request for a code (texted or from the app), checked in the same
/// order either way: the client first, so an app that may not use the API
/// learns nothing more, then the number.
struct CodeRequest<'a> {
    client: &'a HeadlessClient,
    phone: PhoneNumber,
    scope: Option<String>,
    ip: IpAddr,
    proof: Proof,
}

impl<'a> CodeRequest<'a> {
    fn checked(
        state: &'a AppState,
        peer: SocketAddr,
        headers: &HeaderMap,
        body: RequestOtp,
    ) -> Result<CodeRequest<'a>, ApiError> {
        if let Some(ui_locales) = body.ui_locales {
            i18n::prefer(&[ui_locales]);
        }
        let ip = client_ip(peer, headers, &state.config.server.trusted_proxies);
        let client = state.headless.client(&body.client_id)?;
        let phone = PhoneNumber::parse(&body.phone, state.config.users.default_region)
            .map_err(SignInError::from)?;
        Ok(CodeRequest {
            client,
            phone,
            scope: body.scope,
            ip,
            proof: Proof {
                pow_solution: body.pow_solution,
                captcha_token: body.captcha_token,
            },
        })
    }
}

/// A started session, as both code requests answer it.
fn started_answer(started: &Started) -> Response {
    ok(json!({
        "session_id": started.session_id,
        "expires_in": started.expires_in.as_secs(),
    }))
}

/// `verify-otp`'s body and answer, with the app's code as `otp`.
async fn verify_app_code(
    State(state): State<AppState>,
    body: Result<Json<VerifyOtp>, JsonRejection>,
) -> Result<Response, ApiError> {
    if !state.headless.offers_app_codes() {
        return Ok(app_codes_off());
    }
    let Json(body) = body?;
    let result = state
        .headless
        .verify_app_code(&body.session_id, &body.otp)
        .await;
    match &result {
        Ok(_) => {
            state.metrics.sign_in("headless", "success");
            state.metrics.consent("automatic");
        }
        Err(error) if error.is_failed_proof() => state.metrics.sign_in("headless", "failure"),
        Err(_) => {}
    }
    Ok(ok(json!(result?)))
}

fn app_codes_off() -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "unsupported_method",
        "Authenticator apps are not offered here (login.methods).",
    )
}

/// What request-otp wants as proof that a person asks: a fresh proof-of-work
/// challenge (solve it, send `challenge:nonce` as `pow_solution`), or the
/// captcha provider and site key (send the widget's token as
/// `captcha_token`); `"kind": "off"` when nothing is asked.
async fn challenge(State(state): State<AppState>) -> Response {
    let bot = &state.bot_challenge;
    let apply = match bot.apply() {
        ChallengeApply::Always => "always",
        ChallengeApply::AfterLimit => "after_limit",
    };
    ok(match bot.fresh() {
        None => json!({"kind": "off"}),
        Some(Offer::ProofOfWork(pow)) => json!({
            "kind": "proof_of_work",
            "apply": apply,
            "challenge": pow.challenge,
            "difficulty": pow.difficulty,
            "expires_in": pow.expires_in.as_secs(),
        }),
        Some(Offer::Captcha { provider, site_key }) => json!({
            "kind": provider.name(),
            "apply": apply,
            "site_key": site_key,
        }),
    })
}

async fn verify_otp(
    State(state): State<AppState>,
    body: Result<Json<VerifyOtp>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let result = state.headless.verify_otp(&body.session_id, &body.otp).await;
    match &result {
        Ok(_) => {
            state.metrics.sign_in("headless", "success");
            state.metrics.consent("automatic");
        }
        Err(error) if error.is_failed_proof() => state.metrics.sign_in("headless", "failure"),
        Err(_) => {}
    }
    Ok(ok(json!(result?)))
}

async fn token_exchange(
    State(state): State<AppState>,
    body: Result<Json<TokenExchange>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let result = state
        .headless
        .token_exchange(&body.legacy_token, &body.client_id, body.scope.as_deref())
        .await;
    match &result {
        Ok(_) => {
            state.metrics.sign_in("token_exchange", "success");
            state.metrics.consent("automatic");
        }
        Err(error) if error.is_failed_proof() => state.metrics.sign_in("token_exchange", "failure"),
        Err(_) => {}
    }
    Ok(ok(json!(result?)))
}

async fn method_not_allowed() -> Response {
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request",
        "Use POST with a JSON body.",
    )
}

async fn get_only() -> Response {
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request",
        "Use GET.",
    )
}

fn ok(body: Value) -> Response {
    with_no_store(Json(body).into_response())
}
