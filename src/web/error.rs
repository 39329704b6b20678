//! Friendly pages for everything that can go wrong in a browser flow, and
//! the `/error` page Hydra sends people to.

use axum::extract::Query;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::strings;
use super::views::{message_page, no_store, page};
use crate::directory::DirectoryError;
use crate::hydra::HydraError;
use crate::i18n::t;
use crate::signin::error::SignInError;
use crate::store::StoreError;

/// A browser flow that cannot go on. Each becomes a page with a status.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("no challenge in the request")]
    MissingChallenge,
    #[error("unknown or expired challenge")]
    UnknownChallenge,
    /// Expired, and we know the client's authorization URL to start again.
    #[error("expired challenge")]
    StartAgain(String),
    #[error("the request was already handled")]
    AlreadyHandled(String),
    #[error("CSRF token missing or wrong")]
    Csrf,
    #[error("malformed form or query")]
    BadForm,
    #[error("Hydra unavailable: {0}")]
    HydraDown(#[source] HydraError),
    #[error("user directory unavailable: {0}")]
    DirectoryDown(#[source] DirectoryError),
    /// The database is locked by another process or cannot be written:
    /// try again shortly (503 with Retry-After).
    #[error("database unavailable: {0}")]
    StoreUnavailable(#[source] StoreError),
    #[error("internal error: {0}")]
    Internal(#[source] SignInError),
}

impl From<HydraError> for PageError {
    fn from(error: HydraError) -> Self {
        match error {
            HydraError::NotFound { .. }
            | HydraError::BadRequest { .. }
            | HydraError::Conflict { .. } => PageError::UnknownChallenge,
            HydraError::Gone {
                redirect_to: Some(to),
                ..
            } => PageError::AlreadyHandled(to),
            HydraError::Gone { .. } => PageError::UnknownChallenge,
            // Hydra answers 401 request_unauthorized for an expired challenge.
            HydraError::Status { status, .. } if status == StatusCode::UNAUTHORIZED => {
                PageError::UnknownChallenge
            }
            other => PageError::HydraDown(other),
        }
    }
}

/// The one place a sign-in error that ends a browser flow becomes a page.
/// (What the person can correct, such as a wrong code, is re-rendered in
/// the form instead: `login.rs`.)
impl From<SignInError> for PageError {
    fn from(error: SignInError) -> Self {
        match error {
            SignInError::HydraAdmin(e) => e.into(),
            SignInError::Directory(e) => e.into(),
            SignInError::Store(e) if e.retry_after().is_some() => PageError::StoreUnavailable(e),
            other => PageError::Internal(other),
        }
    }
}

impl From<DirectoryError> for PageError {
    fn from(error: DirectoryError) -> Self {
        match error {
            DirectoryError::Store(e) => SignInError::Store(e).into(),
            other => PageError::DirectoryDown(other),
        }
    }
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> Self {
        SignInError::Store(error).into()
    }
}

/// What every form POST checks first: a challenge, and a CSRF token that
/// fits it and this browser's cookie. Returns the trimmed challenge.
pub fn checked_challenge<'a>(
    state: &crate::web::AppState,
    headers: &axum::http::HeaderMap,
    challenge: &'a str,
    csrf_token: &str,
) -> Result<&'a str, PageError> {
    let challenge = challenge.trim();
    if challenge.is_empty() {
        return Err(PageError::MissingChallenge);
    }
    if !state.csrf.verify(headers, challenge, csrf_token) {
        return Err(PageError::Csrf);
    }
    Ok(challenge)
}

impl crate::web::AppState {
    /// A Hydra error about `challenge`, as a page; an expired challenge we
    /// saw before offers to start the sign-in again.
    pub(crate) async fn challenge_error(&self, challenge: &str, error: HydraError) -> PageError {
        match PageError::from(error) {
            PageError::UnknownChallenge => match self.challenges.request_url(challenge).await {
                Some(url) => PageError::StartAgain(url),
                None => PageError::UnknownChallenge,
            },
            other => other,
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            PageError::MissingChallenge => (StatusCode::BAD_REQUEST, t!("missing-challenge")),
            PageError::UnknownChallenge => (StatusCode::NOT_FOUND, t!("unknown-challenge")),
            PageError::StartAgain(url) => {
                let body = html! {
                    h1 { (t!("error-title")) }
                    p { (t!("challenge-expired")) }
                    a.button href=(url) { (t!("start-again-button")) }
                };
                return (StatusCode::GONE, no_store(), page(t!("error-title"), body))
                    .into_response();
            }
            // Hydra knows where this browser should be: send it there.
            PageError::AlreadyHandled(to) => return Redirect::to(to).into_response(),
            PageError::Csrf => (StatusCode::FORBIDDEN, t!("form-expired")),
            PageError::BadForm => (StatusCode::BAD_REQUEST, t!("bad-form")),
            PageError::HydraDown(error) => {
                tracing::error!(%error, "Hydra's admin API failed during a browser flow");
                (StatusCode::SERVICE_UNAVAILABLE, t!("hydra-down"))
            }
            PageError::DirectoryDown(error) => {
                tracing::error!(%error, "the user directory failed during a browser flow");
                (StatusCode::SERVICE_UNAVAILABLE, t!("directory-down"))
            }
            PageError::StoreUnavailable(error) => {
                tracing::warn!(%error, "a browser flow found the database unavailable (503)");
                let wait = error.retry_after().unwrap_or_default().as_secs().max(1);
                let mut page = message_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    t!("error-title"),
                    t!("sign-in-paused"),
                );
                page.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(wait));
                return page;
            }
            PageError::Internal(error) => {
                tracing::error!(%error, "internal error during a browser flow");
                (StatusCode::INTERNAL_SERVER_ERROR, t!("something-wrong"))
            }
        };
        message_page(status, t!("error-title"), message)
    }
}

/// Hydra refused a sign-in for lack of its CSRF cookie: say why in plain
/// words, offer to start again, and still let the person return to the app.
pub fn csrf_explained(start_again: &str, back_to_app: &str) -> Response {
    let body = html! {
        h1 { (t!("error-title")) }
        p { (strings::oauth_error("request_forbidden")) }
        ul {
            @for cause in strings::csrf_causes() { li { (cause) } }
        }
        a.button href=(start_again) { (t!("start-again-button")) }
        p.help { a href=(back_to_app) { (t!("back-to-app")) } }
    };
    (
        StatusCode::BAD_REQUEST,
        no_store(),
        page(t!("error-title"), body),
    )
        .into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ErrorQuery {
    error: Option<String>,
    error_description: Option<String>,
    error_hint: Option<String>,
}

/// `GET /error`: Hydra's error, explained in a fixed text per error code.
/// Anyone can send a browser to this URL on gatehouse's trusted origin, so
/// nothing from the query is shown but a known code; Hydra's description
/// and hint go to the log.
pub async fn show(
    query: Result<Query<ErrorQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let code = query
        .error
        .as_deref()
        .filter(|code| strings::is_oauth_error(code));
    if query.error.is_some() {
        // Debug quotes control characters; the length is bounded.
        let cut = |text: &Option<String>| {
            text.as_deref()
                .map(|t| t.chars().take(200).collect::<String>())
        };
        tracing::info!(
            error = ?cut(&query.error),
            description = ?cut(&query.error_description),
            hint = ?cut(&query.error_hint),
            "Hydra sent a browser to the error page"
        );
    }
    let body = html! {
        h1 { (t!("error-title")) }
        p { (strings::oauth_error(code.unwrap_or_default())) }
        p { (t!("start-again")) }
        @if let Some(code) = code {
            p.help { (t!("error-code")) " " code { (code) } }
        }
    };
    (
        StatusCode::BAD_REQUEST,
        no_store(),
        page(t!("error-title"), body),
    )
        .into_response()
}
