//! `/account`: a signed-in person's own sign-in methods (list, rename,
//! remove), behind gatehouse's own sign-in through Hydra
//! (`signin/account.rs`). `GET /account` without a session starts that
//! sign-in; `/account/callback` ends it with a sealed session cookie
//! (HttpOnly, SameSite=Lax, `__Host-` on https, Path=/account); every form
//! carries a CSRF token bound to the session and this browser; a removal
//! needs a recent sign-in (`prompt=login` when it is older).

use crate::i18n::t;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use super::csrf;
use super::strings;
use super::views::{message_page, no_store, notices, page};
use crate::signin::account::{AccountError, AccountSession, MAX_NAME, SESSION_LIFETIME};
use crate::store::methods::{Method, MethodKind};
use crate::web::AppState;

pub const PATH: &str = "/account";
pub const SIGN_IN_PATH: &str = "/account/signin";
const SESSION_COOKIE: &str = "gatehouse_account";
const FLOW_COOKIE: &str = "gatehouse_account_flow";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignInQuery {
    /// Ask for the person's proof again (`prompt=login`).
    again: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CallbackQuery {
    code: String,
    state: String,
    error: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AccountForm {
    csrf: String,
    action: String,
    id: String,
    name: String,
}

/// `GET /account`: the page, or the sign-in to it.
pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match session(&state, &headers) {
        Some(session) => render(&state, &headers, &session, (None, None), StatusCode::OK).await,
        None => start(&state, false).await,
    }
}

/// `GET /account/signin`: a new sign-in to the page (`again`: even when
/// Hydra remembers the person).
pub async fn sign_in(
    State(state): State<AppState>,
    query: Result<Query<SignInQuery>, QueryRejection>,
) -> Response {
    let again = query.is_ok_and(|Query(q)| q.again.is_some());
    start(&state, again).await
}

async fn start(state: &AppState, again: bool) -> Response {
    match state.account.start(again).await {
        Ok(started) => {
            let mut response = Redirect::to(&started.url).into_response();
            let cookie = cookie(state, FLOW_COOKIE, &started.flow_cookie, 600);
            response.headers_mut().append(header::SET_COOKIE, cookie);
            response
        }
        Err(error) => failed(error),
    }
}

/// `GET /account/callback`: Hydra's answer to the page's sign-in.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<CallbackQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return failed(AccountError::BadCallback);
    };
    if !query.error.is_empty() {
        // Cancelled, or refused: nothing to show.
        return message_page(
            StatusCode::FORBIDDEN,
            t!("account-title"),
            t!("account-not-signed-in"),
        );
    }
    let flow = read_cookie(&headers, &cookie_name(&state, FLOW_COOKIE));
    let finished = state
        .account
        .finish(flow.as_deref(), &query.code, &query.state);
    match finished.await {
        Ok((_, sealed)) => {
            let mut response = Redirect::to(PATH).into_response();
            let headers = response.headers_mut();
            let max_age = SESSION_LIFETIME as u64;
            let session = cookie(&state, SESSION_COOKIE, &sealed, max_age);
            headers.append(header::SET_COOKIE, session);
            headers.append(header::SET_COOKIE, cookie(&state, FLOW_COOKIE, "", 0));
            response
        }
        Err(error) => failed(error),
    }
}

/// `POST /account`: rename or remove one of the person's methods.
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<AccountForm>, FormRejection>,
) -> Response {
    let Some(session) = session(&state, &headers) else {
        return Redirect::to(SIGN_IN_PATH).into_response();
    };
    let Ok(Form(form)) = form else {
        return message_page(StatusCode::BAD_REQUEST, t!("error-title"), t!("bad-form"));
    };
    if !state.csrf.verify(&headers, &binding(&session), &form.csrf) {
        return message_page(StatusCode::FORBIDDEN, t!("error-title"), t!("form-expired"));
    }
    let account = &state.account;
    let done = match form.action.as_str() {
        "rename" => account.rename(&session.subject, &form.id, &form.name).await,
        "remove" if !account.recent(&session) => {
            // Old proof: sign in again first, then remove.
            return Redirect::to(&format!("{SIGN_IN_PATH}?again=1")).into_response();
        }
        "remove" => account.remove(&session.subject, &form.id).await.map(|_| ()),
        _ => return message_page(StatusCode::BAD_REQUEST, t!("error-title"), t!("bad-form")),
    };
    let (words, status) = match done {
        Ok(()) if form.action == "rename" => ((Some(t!("method-renamed")), None), StatusCode::OK),
        Ok(()) => ((Some(t!("method-removed")), None), StatusCode::OK),
        Err(AccountError::NoSuchMethod) => {
            ((None, Some(t!("no-such-method"))), StatusCode::NOT_FOUND)
        }
        Err(AccountError::LastWayIn) => ((None, Some(t!("last-way-in"))), StatusCode::CONFLICT),
        Err(AccountError::BadName) => {
            ((None, Some(t!("bad-method-name"))), StatusCode::BAD_REQUEST)
        }
        Err(error) => return failed(error),
    };
    let words = (words.0.as_deref(), words.1.as_deref());
    render(&state, &headers, &session, words, status).await
}

/// The session of this browser's cookie, while it lasts.
fn session(state: &AppState, headers: &HeaderMap) -> Option<AccountSession> {
    let sealed = read_cookie(headers, &cookie_name(state, SESSION_COOKIE))?;
    state.account.session(&sealed)
}

/// What the page's CSRF tokens are bound to.
fn binding(session: &AccountSession) -> String {
    format!("account:{}", session.id)
}

async fn render(
    state: &AppState,
    headers: &HeaderMap,
    session: &AccountSession,
    (notice, error): (Option<&str>, Option<&str>),
    status: StatusCode,
) -> Response {
    let methods = match state.account.methods(&session.subject).await {
        Ok(methods) => methods,
        Err(error) => return failed(error.into()),
    };
    let phone = match state.account.texts_reach(&session.subject).await {
        Ok(phone) => phone,
        Err(error) => return failed(error),
    };
    let secret = state.csrf.browser_secret(headers);
    let token = state.csrf.token(&secret, &binding(session));
    let body = html! {
        h1 { (t!("account-title")) }
        (notices(notice, error))
        p { (t!("account-intro")) }
        @if let Some(phone) = &phone {
            p { (strings::texts_to(&phone.masked())) }
        }
        @if methods.is_empty() { p { (t!("no-methods")) } }
        @for method in &methods { (method_row(method, &token)) }
    };
    let mut response = (status, no_store(), page(t!("account-title"), body)).into_response();
    if let Some(cookie) = secret.set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

fn method_row(method: &Method, token: &str) -> Markup {
    let kind = match (method.kind, method.pending) {
        (_, true) => t!("kind-app-pending"),
        (MethodKind::Totp, false) => t!("kind-app"),
        (MethodKind::Passkey, false) => t!("kind-passkey"),
    };
    let last_used = method
        .last_used_at
        .map(day)
        .unwrap_or_else(|| t!("never").to_string());
    html! {
        section.method {
            h2 { (method.name) }
            p.help { (kind) " · " (strings::added_on(&day(method.created_at))) " · " (strings::last_used(&last_used)) }
            form method="post" action=(PATH) {
                input type="hidden" name=(csrf::FIELD) value=(token);
                input type="hidden" name="id" value=(method.id);
                label { (t!("method-name-label"))
                    input type="text" name="name" value=(method.name) maxlength=(MAX_NAME) required;
                }
                div.row {
                    button.secondary type="submit" name="action" value="rename" { (t!("rename")) }
                    button.secondary type="submit" name="action" value="remove" formnovalidate { (t!("remove")) }
                }
            }
        }
    }
}

/// Unix seconds as a UTC date.
fn day(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|at| at.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Something the person cannot fix: a page, logged.
fn failed(error: AccountError) -> Response {
    match error {
        AccountError::BadCallback => message_page(
            StatusCode::BAD_REQUEST,
            t!("account-title"),
            t!("account-sign-in-expired"),
        ),
        error => {
            tracing::error!(%error, "the account page failed");
            message_page(
                StatusCode::SERVICE_UNAVAILABLE,
                t!("error-title"),
                t!("hydra-down"),
            )
        }
    }
}

/// On https: `__Host-`, so a sibling subdomain cannot plant one (and then
/// Path must be `/`).
fn cookie_name(state: &AppState, name: &str) -> String {
    if state.config.server.public_url.scheme() == "https" {
        format!("__Host-{name}")
    } else {
        name.to_string()
    }
}

fn cookie(state: &AppState, name: &str, value: &str, max_age: u64) -> HeaderValue {
    let name = cookie_name(state, name);
    let (secure, path) = if name.starts_with("__Host-") {
        ("; Secure", "/")
    } else {
        ("", PATH)
    };
    let cookie =
        format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&cookie).expect("a cookie of base64url")
}

fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    super::cookies::first(headers, name).filter(|value| !value.is_empty())
}
