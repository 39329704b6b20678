//! The JSON face of every API error (`/api/headless/*`): one place maps a
//! [`SignInError`] to a status and an RFC 6749 5.2 body
//! `{"error", "error_description"}`, never cached.

use axum::extract::rejection::JsonRejection;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::config::ProofKind;
use crate::hydra::public::PublicError;
use crate::signin::error::SignInError;
use crate::signin::otp::Limit;

/// Every API body is a few short strings; anything bigger is refused unread.
pub const BODY_LIMIT: usize = 16 * 1024;

/// Why a headless call failed: a body that could not be read, or the flow.
#[derive(Debug)]
pub enum ApiError {
    Body(JsonRejection),
    Flow(SignInError),
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        ApiError::Body(rejection)
    }
}

impl From<SignInError> for ApiError {
    fn from(error: SignInError) -> Self {
        ApiError::Flow(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Body(rejection) => body_error(rejection),
            ApiError::Flow(error) => flow_error(error),
        }
    }
}

fn body_error(rejection: JsonRejection) -> Response {
    let (status, description) = match &rejection {
        _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The request body is larger than {} KiB.", BODY_LIMIT / 1024),
        ),
        JsonRejection::MissingJsonContentType(_) => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send the body as Content-Type: application/json.".to_string(),
        ),
        // serde's message names the missing or mistyped field.
        JsonRejection::JsonDataError(e) => (StatusCode::BAD_REQUEST, e.body_text()),
        JsonRejection::JsonSyntaxError(_) => (
            StatusCode::BAD_REQUEST,
            "The request body is not valid JSON.".to_string(),
        ),
        _ => (
            StatusCode::BAD_REQUEST,
            "The request body could not be read.".to_string(),
        ),
    };
    error_response(status, "invalid_request", &description)
}

/// The one place flow errors become HTTP answers. Every variant is named
/// here, so a new one cannot compile until it is given its answer; each
/// group (as [`SignInError`] orders them) is answered by its own function.
fn flow_error(error: SignInError) -> Response {
    use SignInError as E;
    match error {
        E::InvalidPhone(_)
        | E::MalformedCode(_)
        | E::WrongCode { .. }
        | E::CodeDead
        | E::CodeExpired
        | E::Throttled { .. }
        | E::CountryNotServed
        | E::NumberTypeNotServed
        | E::SendingRefused(_)
        | E::AccountDisabled
        | E::BotChallenge(_) => person_error(error),
        E::UnauthorizedClient
        | E::InvalidScope(_)
        | E::InvalidSession
        | E::ExchangeNotEnabled
        | E::ExchangeNotAllowed
        | E::InvalidToken => app_error(error),
        E::VerifierUnavailable(_)
        | E::HydraAdmin(_)
        | E::HydraPublic(PublicError::Refused { .. } | PublicError::Unavailable(_))
        | E::Directory(_)
        | E::CodeDelegate(_) => dependency_error(error),
        E::Store(store) if store.retry_after().is_some() => store_unavailable(&store),
        // The headless API has no passkeys, nor acr_values.
        E::Inconsistent(_) | E::Store(_) | E::Passkey(_) | E::PasskeyRequired => internal(&error),
    }
}

/// The database is locked by another process or cannot be written: 503
/// with Retry-After, nothing used up.
fn store_unavailable(error: &crate::store::StoreError) -> Response {
    tracing::warn!(%error, "headless sign-in: the database is unavailable (503)");
    let seconds = error.retry_after().unwrap_or_default().as_secs().max(1);
    let mut response = error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        &format!("The sign-in cannot be saved right now. Try again in {seconds} seconds."),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// What the person typed or did: a wrong or stale code, too many codes, a
/// disabled account.
fn person_error(error: SignInError) -> Response {
    use SignInError as E;
    match error {
        E::InvalidPhone(e) => {
            error_response(StatusCode::BAD_REQUEST, "invalid_phone", &e.to_string())
        }
        E::MalformedCode(e) => {
            error_response(StatusCode::BAD_REQUEST, "invalid_request", &e.to_string())
        }
        E::WrongCode { attempts_left } => invalid_otp(
            attempts_left,
            "The code is wrong. Check the text message and try again.",
        ),
        E::CodeDead => invalid_otp(
            0,
            "Too many wrong codes. Start again with request-otp to get a new one.",
        ),
        E::CodeExpired => error_response(
            StatusCode::BAD_REQUEST,
            "invalid_session",
            "The code has expired or was already used. Start again with request-otp.",
        ),
        E::Throttled { limit, retry_after } => {
            let seconds = retry_after.as_secs().max(1);
            let what = match limit {
                Limit::FailuresPerHour => "Too many wrong codes were entered for this number",
                _ => "Too many codes were requested",
            };
            let mut response = error_response(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                &format!("{what}. Try again in {seconds} seconds."),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            response
        }
        E::CountryNotServed => error_response(
            StatusCode::BAD_REQUEST,
            "unsupported_country",
            "Codes are not sent to phone numbers in this country.",
        ),
        E::NumberTypeNotServed => error_response(
            StatusCode::BAD_REQUEST,
            "unsupported_number",
            "Codes are not sent to this kind of number; use a mobile number.",
        ),
        // No Retry-After and no name: which cap and when it frees up are
        // what a pumping bot would tune on.
        E::SendingRefused(_) => error_response(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "Codes cannot be sent right now. Try again later.",
        ),
        E::AccountDisabled => error_response(
            StatusCode::FORBIDDEN,
            "access_denied",
            "This account can no longer sign in.",
        ),
        E::BotChallenge(kind) => bot_challenge_required(kind),
        // flow_error sends only the variants above here.
        other => internal(&other),
    }
}

/// What an app asked for: a client or scope it may not use, a session that
/// is gone, a token exchange that is off or refused.
fn app_error(error: SignInError) -> Response {
    use SignInError as E;
    match error {
        E::UnauthorizedClient => error_response(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            "This client may not use the headless sign-in API.",
        ),
        E::InvalidScope(scope) => error_response(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!("The scope `{scope}` is not allowed for this client."),
        ),
        E::InvalidSession => error_response(
            StatusCode::BAD_REQUEST,
            "invalid_session",
            "Unknown, used or expired session. Start again with request-otp.",
        ),
        E::ExchangeNotEnabled => error_response(
            StatusCode::NOT_FOUND,
            "not_enabled",
            "Token exchange is not enabled on this server.",
        ),
        E::ExchangeNotAllowed => error_response(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            "This client may not exchange legacy tokens.",
        ),
        E::InvalidToken => error_response(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "The legacy token was not accepted. Sign in with request-otp instead.",
        ),
        // flow_error sends only the variants above here.
        other => internal(&other),
    }
}

/// What gatehouse depends on failed: the legacy-session verifier, Hydra or the user directory. Logged here, since the caller
/// only learns to try again.
fn dependency_error(error: SignInError) -> Response {
    use SignInError as E;
    let bad_gateway = StatusCode::BAD_GATEWAY;
    match error {
        E::VerifierUnavailable(reason) => {
            tracing::warn!(%reason, "token exchange: the legacy-session verifier failed");
            error_response(
                bad_gateway,
                "verifier_unavailable",
                "The existing system could not check the token right now. Try again shortly.",
            )
        }
        E::HydraPublic(PublicError::Refused { error, description }) => {
            // Gatehouse built the request from its configuration: the
            // operator has to fix something, retrying will not help.
            tracing::error!(%error, %description, "headless sign-in: Hydra refused; check [headless] against the client's registration");
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "The authorization server refused the sign-in; this client is not set up correctly.",
            )
        }
        E::HydraAdmin(error) => {
            tracing::error!(%error, "headless sign-in: Hydra's admin API failed");
            temporarily_unavailable()
        }
        E::HydraPublic(error @ PublicError::Unavailable(_)) => {
            tracing::error!(%error, "headless sign-in: Hydra's public API failed");
            temporarily_unavailable()
        }
        E::Directory(error) => {
            tracing::error!(%error, "headless sign-in: the user directory failed");
            error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "Accounts cannot be checked right now. Nothing was used up: try again shortly.",
            )
        }
        E::CodeDelegate(error) => {
            tracing::error!(%error, "headless sign-in: the code delegate failed");
            error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "Codes cannot be sent or checked right now. Nothing was used up: try again shortly.",
            )
        }
        // flow_error sends only the variants above here.
        other => internal(&other),
    }
}

/// The bot challenge was not met: one answer whether the proof was missing,
/// wrong, expired or used (the log says which), naming the field to send.
fn bot_challenge_required(kind: ProofKind) -> Response {
    let wanted = match kind {
        ProofKind::ProofOfWork => {
            "a proof of work: solve a challenge from GET /api/headless/challenge and send \
             `challenge:nonce` as `pow_solution`"
        }
        ProofKind::Captcha => "the captcha widget's token, sent as `captcha_token`",
    };
    error_response(
        StatusCode::FORBIDDEN,
        "bot_challenge_required",
        &format!(
            "A code is sent only with {wanted}. A missing, wrong, expired or used one gets this \
             same answer."
        ),
    )
}

fn invalid_otp(attempts_left: u32, description: &str) -> Response {
    let body = json!({
        "error": "invalid_otp",
        "error_description": description,
        "attempts_left": attempts_left,
    });
    with_no_store((StatusCode::UNAUTHORIZED, Json(body)).into_response())
}

fn temporarily_unavailable() -> Response {
    error_response(
        StatusCode::BAD_GATEWAY,
        "temporarily_unavailable",
        "The authorization server is not available right now. Try again shortly.",
    )
}

fn internal(error: &SignInError) -> Response {
    tracing::error!(%error, "headless sign-in: internal error");
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "Something went wrong on the server.",
    )
}

pub fn error_response(status: StatusCode, error: &str, description: &str) -> Response {
    let body: Value = json!({ "error": error, "error_description": description });
    with_no_store((status, Json(body)).into_response())
}

/// Tokens and session ids must not sit in any cache (RFC 6749 5.1).
pub fn with_no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
