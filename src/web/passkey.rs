//! The passkey endpoints the page script (`/assets/passkey.js`) calls, as
//! JSON: a sign-in on the login page (`/login/passkey/start|finish`, the
//! login challenge and its CSRF token) and a registration on the offer
//! after a sign-in (`/enrol/passkey/start|finish`, the grant's cookie and
//! its CSRF token). Errors are `{error, error_description}`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Json, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Value};

use super::grant_cookie::{cookie, open_grant};
use super::views::CONTENT_SECURITY_POLICY;
use crate::i18n::key;
use crate::i18n::t;
use crate::signin::browser::Resumed;
use crate::signin::error::SignInError;
use crate::signin::methods::passkey::{Ceremony, PasskeyError, PasskeyService};
use crate::signin::methods::Grant;
use crate::web::AppState;

pub const SCRIPT_PATH: &str = "/assets/passkey.js";
const SCRIPT: &str = include_str!("assets/passkey.js");

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasskeyRequest {
    login_challenge: String,
    csrf: String,
    /// The ceremony being finished.
    id: String,
    /// The browser's answer (`PublicKeyCredential.toJSON()`).
    credential: Value,
}

pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// `policy` (the page's Content-Security-Policy) with this origin's own
/// scripts and requests allowed: the script file, never inline script.
pub fn widen(policy: &str) -> HeaderValue {
    let mut widened = policy.to_string();
    for directive in ["script-src", "connect-src"] {
        let own = format!("{directive} 'self'");
        if widened.contains(&own) {
            continue;
        }
        if widened.contains(&format!("{directive} ")) {
            widened = widened.replace(&format!("{directive} "), &format!("{own} "));
        } else {
            widened.push_str(&format!("; {own}"));
        }
    }
    HeaderValue::from_str(&widened).expect("the policy is ASCII")
}

/// The default policy, widened.
pub fn policy() -> HeaderValue {
    widen(CONTENT_SECURITY_POLICY)
}

/// A page's policy (`policy`, None for the default) once `on_page` says
/// the passkey script is on it.
pub fn page_policy(policy: Option<HeaderValue>, on_page: bool) -> Option<HeaderValue> {
    match (policy, on_page) {
        (Some(policy), true) => Some(widen(policy.to_str().unwrap_or_default())),
        (None, true) => Some(self::policy()),
        (policy, false) => policy,
    }
}

/// "Sign in with a passkey" for the login page of `challenge` (its CSRF
/// `token`): hidden until the script finds the browser able; the script
/// also offers passkeys in the number field's autofill.
pub fn sign_in_button(challenge: &str, token: &str) -> Markup {
    html! {
        button.secondary #passkey-sign-in type="button" hidden
            data-challenge=(challenge) data-csrf=(token) { (t!("sign-in-with-passkey")) }
        p.error #passkey-error role="alert" hidden {}
        script src=(SCRIPT_PATH) defer {}
    }
}

pub async fn sign_in_start(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<PasskeyRequest>, JsonRejection>,
) -> Response {
    let request = match checked_login(&state, &headers, body) {
        Ok(request) => request,
        Err((status, error, description)) => return answer(status, error, description),
    };
    let Some(passkeys) = service(&state) else {
        let (status, error, description) = NOT_OFFERED;
        return answer(status, error, description);
    };
    match passkeys.start_sign_in(&request.login_challenge).await {
        Ok(ceremony) => started(ceremony),
        Err(error) => refused(error),
    }
}

pub async fn sign_in_finish(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<PasskeyRequest>, JsonRejection>,
) -> Response {
    let request = match checked_login(&state, &headers, body) {
        Ok(request) => request,
        Err((status, error, description)) => return answer(status, error, description),
    };
    let login = match state.browser.resume(&request.login_challenge).await {
        Ok(Resumed::Answered { redirect_to }) => return redirect(&redirect_to),
        Ok(Resumed::Open(login)) => login,
        Err(_) => return answer(StatusCode::GONE, "expired", key!("passkey-sign-in-expired")),
    };
    let credential = request.credential.to_string();
    let signed_in = state
        .browser
        .sign_in_with_passkey(&login, &request.id, &credential);
    match signed_in.await {
        Ok(redirect_to) => redirect(&redirect_to),
        Err(SignInError::Passkey(error)) => refused(error),
        Err(error) => {
            tracing::error!(%error, "a passkey sign-in failed");
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                key!("passkey-try-again"),
            )
        }
    }
}

pub async fn register_start(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<PasskeyRequest>, JsonRejection>,
) -> Response {
    let (grant, _, passkeys) = match checked_grant(&state, &headers, body).await {
        Ok(found) => found,
        Err((status, error, description)) => return answer(status, error, description),
    };
    // The name the browser's passkey list shows: the person's number.
    let name = match state.directory.find_by_id(&grant.subject).await {
        Ok(Some(user)) => user.phone.unwrap_or(user.id),
        _ => grant.subject.clone(),
    };
    match passkeys.start_registration(&grant.subject, &name).await {
        Ok(ceremony) => started(ceremony),
        Err(error) => refused(error),
    }
}

pub async fn register_finish(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<PasskeyRequest>, JsonRejection>,
) -> Response {
    let (grant, request, passkeys) = match checked_grant(&state, &headers, body).await {
        Ok(found) => found,
        Err((status, error, description)) => return answer(status, error, description),
    };
    let credential = request.credential.to_string();
    let registered = passkeys.finish_registration(&grant.subject, &request.id, &credential);
    if let Err(error) = registered.await {
        return refused(error);
    }
    if let Err(error) = state.methods.finish(&grant).await {
        tracing::warn!(%error, "the grant could not be ended; it expires on its own");
    }
    let mut response = redirect(&grant.continue_to);
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookie(&state, "", 0));
    response
}

fn service(state: &AppState) -> Option<&PasskeyService> {
    state.methods.passkey.as_ref()
}

/// The request, once its login challenge and CSRF token fit this browser.
fn checked_login(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Json<PasskeyRequest>, JsonRejection>,
) -> Result<PasskeyRequest, Refusal> {
    let Ok(Json(request)) = body else {
        return Err(BAD_REQUEST);
    };
    let challenge = request.login_challenge.trim();
    if challenge.is_empty() || !state.csrf.verify(headers, challenge, &request.csrf) {
        return Err(FORBIDDEN);
    }
    Ok(request)
}

/// The open grant of this browser, once the CSRF token fits it, and the
/// passkeys' service.
async fn checked_grant<'s>(
    state: &'s AppState,
    headers: &HeaderMap,
    body: Result<Json<PasskeyRequest>, JsonRejection>,
) -> Result<(Grant, PasskeyRequest, &'s PasskeyService), Refusal> {
    let Ok(Json(request)) = body else {
        return Err(BAD_REQUEST);
    };
    let passkeys = service(state).ok_or(NOT_OFFERED)?;
    let grant = match open_grant(state, headers).await {
        Ok(Some(grant)) => grant,
        Ok(None) => return Err(OFFER_EXPIRED),
        Err(_) => return Err(UNAVAILABLE),
    };
    if !state.csrf.verify(headers, &grant.binding(), &request.csrf) {
        return Err(FORBIDDEN);
    }
    Ok((grant, request, passkeys))
}

fn started(ceremony: Ceremony) -> Response {
    let body = json!({ "id": ceremony.id, "options": ceremony.options });
    (StatusCode::OK, Json(body)).into_response()
}

fn redirect(to: &str) -> Response {
    (StatusCode::OK, Json(json!({ "redirect_to": to }))).into_response()
}

fn refused(error: PasskeyError) -> Response {
    match error {
        PasskeyError::Expired => answer(StatusCode::GONE, "expired", key!("passkey-expired")),
        PasskeyError::Refused(reason) => {
            tracing::info!(reason, "a passkey was refused");
            answer(
                StatusCode::FORBIDDEN,
                "access_denied",
                key!("passkey-not-accepted"),
            )
        }
        PasskeyError::Disabled => answer(
            StatusCode::FORBIDDEN,
            "access_denied",
            key!("account-disabled"),
        ),
        PasskeyError::Directory(_) | PasskeyError::Store(_) => {
            tracing::error!(%error, "a passkey request failed");
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                key!("passkey-try-again"),
            )
        }
    }
}

/// A request refused before any work: status, error, description.
type Refusal = (StatusCode, &'static str, &'static str);
const BAD_REQUEST: Refusal = (
    StatusCode::BAD_REQUEST,
    "invalid_request",
    key!("passkey-bad-request"),
);
const FORBIDDEN: Refusal = (
    StatusCode::FORBIDDEN,
    "invalid_request",
    key!("passkey-form-expired"),
);
const NOT_OFFERED: Refusal = (
    StatusCode::NOT_FOUND,
    "not_found",
    key!("passkey-not-offered"),
);
const OFFER_EXPIRED: Refusal = (StatusCode::GONE, "expired", key!("passkey-offer-expired"));
const UNAVAILABLE: Refusal = (
    StatusCode::SERVICE_UNAVAILABLE,
    "temporarily_unavailable",
    key!("passkey-try-again"),
);

/// The JSON answer the page's script shows: `description` is the key of
/// the words, in the request's language.
fn answer(status: StatusCode, error: &str, description: &str) -> Response {
    let description = crate::i18n::text(description, None);
    let body = json!({ "error": error, "error_description": description });
    (status, Json(body)).into_response()
}
