//! The login page when the client asked for a phishing-resistant sign-in
//! (`acr_values=phr` or `phrh`): only "Sign in with a passkey" (and
//! cancel), no number field; and the page that says a passkey is needed
//! when the person (or this gatehouse) has none, with the way back to the
//! app that Hydra's refusal gives.

use crate::i18n::t;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::csrf;
use super::passkey;
use super::strings;
use super::views::{no_store, notices, page};
use crate::signin::browser::OpenLogin;
use crate::web::AppState;

/// The passkey-only login page for `login`; `error` above it.
pub fn passkey_only_page(
    state: &AppState,
    headers: &HeaderMap,
    login: &OpenLogin,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let title = strings::sign_in_to(&login.client_name);
    let secret = state.csrf.browser_secret(headers);
    let token = state.csrf.token(&secret, &login.challenge);
    let body = html! {
        h1 { (title) }
        (notices(None, error))
        p { (t!("passkey-only")) }
        (passkey::sign_in_button(&login.challenge, &token))
        p.help { (t!("passkey-only-help")) }
        form method="post" action="/login" {
            input type="hidden" name="login_challenge" value=(login.challenge);
            input type="hidden" name=(csrf::FIELD) value=(token);
            button.link type="submit" name="action" value="cancel" formnovalidate { (t!("cancel")) }
        }
    };
    let mut response = (status, no_store(), page(&title, body)).into_response();
    if let Some(cookie) = secret.set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
        .headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, passkey::policy());
    response
}

/// A passkey was asked for and there is none: the login is refused to
/// the client already; `redirect_to` takes the person back with it.
pub fn passkey_required_page(redirect_to: &str) -> Response {
    let title = t!("passkey-required-title");
    let body = html! {
        h1 { (title) }
        p { (t!("passkey-required")) }
        a.button href=(redirect_to) { (t!("back-to-app-button")) }
    };
    (StatusCode::FORBIDDEN, no_store(), page(title, body)).into_response()
}
