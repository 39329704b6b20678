//! `GET/POST /enrol`: right after a sign-in by SMS, the offer to set up an
//! authenticator app (signin/methods: the grant, its token in a cookie).
//! The QR code is an SVG made here, shown as an image: no script, nothing
//! fetched from elsewhere.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use maud::{html, Markup};
use serde::Deserialize;

use super::csrf;
use super::error::PageError;
use super::grant_cookie::{cookie, open_grant};
use super::passkey;
use super::strings;
use super::views::{invalid_when, message_page, no_store, notices, page};
use crate::config::LoginMethod;
use crate::domain::OtpCode;
use crate::i18n::t;
use crate::signin::error::SignInError;
use crate::signin::methods::{totp, Grant, NewTotp, GRANT_LIFETIME};
use crate::web::AppState;

pub const PATH: &str = "/enrol";
/// The digits an authenticator app shows.
pub const APP_CODE_LENGTH: usize = totp::DIGITS;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EnrolForm {
    csrf: String,
    action: String,
    /// The set-up being confirmed.
    id: String,
    code: String,
}

/// After a right SMS code: the browser keeps the grant's token and goes to
/// the offer.
pub fn go_to_offer(state: &AppState, token: &str) -> Response {
    let cookie = cookie(state, token, GRANT_LIFETIME.as_secs());
    let mut response = Redirect::to(PATH).into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some(grant) = open_grant(&state, &headers).await? else {
        return Ok(expired());
    };
    let methods = &state.methods;
    let keys = methods.offers(LoginMethod::Passkey);
    let apps = methods.offers(LoginMethod::Totp);
    let secret = state.csrf.browser_secret(&headers);
    let token = state.csrf.token(&secret, &grant.binding());
    let body = html! {
        h1 { (t!("offer-title")) }
        p { (t!("risk-notice")) }
        @if keys {
            button #passkey-register type="button" hidden data-csrf=(token) { (t!("add-passkey")) }
            p.error #passkey-error role="alert" hidden {}
            script src=(passkey::SCRIPT_PATH) defer {}
        }
        form method="post" action=(PATH) {
            input type="hidden" name=(csrf::FIELD) value=(token);
            @if apps {
                button.secondary type="submit" name="action" value="app" { (t!("set-up-app")) }
            }
            button.secondary type="submit" name="action" value="skip" { (t!("not-now")) }
        }
    };
    let status = StatusCode::OK;
    let mut response = respond(&state, &headers, status, t!("offer-title"), body);
    if keys {
        let policy = passkey::policy();
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    Ok(response)
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<EnrolForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Form(form) = form.map_err(|_| PageError::BadForm)?;
    let Some(grant) = open_grant(&state, &headers).await? else {
        return Ok(expired());
    };
    if !state.csrf.verify(&headers, &grant.binding(), &form.csrf) {
        return Err(PageError::Csrf);
    }
    let methods = &state.methods;
    match form.action.as_str() {
        "skip" => {
            methods.decline(&grant).await?;
            Ok(go_on(&state, &grant.continue_to))
        }
        "app" if methods.offers(LoginMethod::Totp) => {
            let new = methods.totp.start(&grant.subject).await?;
            Ok(app_page(&state, &headers, &grant, &new, None))
        }
        "confirm_app" => confirm_app(&state, &headers, &grant, &form).await,
        _ => Err(PageError::BadForm),
    }
}

/// "confirm_app": the first code from the app; right, the app is added.
async fn confirm_app(
    state: &AppState,
    headers: &HeaderMap,
    grant: &Grant,
    form: &EnrolForm,
) -> Result<Response, PageError> {
    let totp = &state.methods.totp;
    let confirmed = match OtpCode::parse(&form.code, APP_CODE_LENGTH) {
        Ok(code) => totp
            .confirm(&grant.subject, &form.id, code.digits())
            .await
            .map_err(SignInError::from),
        Err(e) => Err(e.into()),
    };
    let error = match confirmed {
        Ok(()) => {
            state.methods.finish(grant).await?;
            return Ok(added(state, &grant.continue_to));
        }
        Err(error) => error,
    };
    let message = match &error {
        SignInError::MalformedCode(e) => strings::code_error(e),
        SignInError::WrongCode { attempts_left } => strings::wrong_code(*attempts_left),
        SignInError::CodeDead | SignInError::CodeExpired => {
            // Start over with a new secret.
            let new = totp.start(&grant.subject).await?;
            let message = Some(t!("app-codes-dead"));
            return Ok(app_page(state, headers, grant, &new, message));
        }
        _ => return Err(error.into()),
    };
    match totp.pending(&grant.subject, &form.id).await? {
        Some(new) => Ok(app_page(state, headers, grant, &new, Some(message))),
        None => Err(PageError::BadForm),
    }
}

/// The set-up page: the QR code, the key in text, the first code.
fn app_page(
    state: &AppState,
    headers: &HeaderMap,
    grant: &Grant,
    new: &NewTotp,
    error: Option<String>,
) -> Response {
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let (invalid, described) = invalid_when(error.is_some());
    let body = html! {
        h1 { (t!("app-title")) }
        (notices(None, error.as_deref()))
        p { (t!("app-scan")) }
        img.qr src=(qr_code(&new.uri)) alt=(t!("app-qr-alt")) width="240" height="240";
        p.help { (t!("app-secret-label")) }
        p { code #secret { (grouped(&new.secret_base32)) } }
        form method="post" action=(PATH) {
            (hidden(state, headers, grant))
            input type="hidden" name="id" value=(new.id);
            label for="code" { (t!("app-code-label")) }
            input #code type="text" name="code" autocomplete="one-time-code" inputmode="numeric"
                maxlength="20" required autofocus aria-invalid=[invalid] aria-describedby=[described];
            button type="submit" name="action" value="confirm_app" { (t!("app-confirm")) }
            button.secondary type="submit" name="action" value="skip" formnovalidate { (t!("not-now")) }
        }
    };
    respond(state, headers, status, t!("app-title"), body)
}

/// The app was added: on to where the sign-in goes.
fn added(state: &AppState, continue_to: &str) -> Response {
    let body = html! {
        h1 { (t!("app-added-title")) }
        p { (t!("app-added")) }
        a.button href=(continue_to) { (t!("continue")) }
    };
    let mut response = (
        StatusCode::OK,
        no_store(),
        page(t!("app-added-title"), body),
    )
        .into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookie(state, "", 0));
    response
}

/// The CSRF token (bound to the grant, never its token) as a hidden field.
fn hidden(state: &AppState, headers: &HeaderMap, grant: &Grant) -> Markup {
    let secret = state.csrf.browser_secret(headers);
    let token = state.csrf.token(&secret, &grant.binding());
    html! { input type="hidden" name=(csrf::FIELD) value=(token); }
}

/// A page of the offer, setting the CSRF cookie when the browser has none.
fn respond(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    title: impl AsRef<str>,
    body: Markup,
) -> Response {
    let mut response = (status, no_store(), page(title, body)).into_response();
    if let Some(cookie) = state.csrf.browser_secret(headers).set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The grant ends: the cookie goes, the browser goes on to Hydra.
fn go_on(state: &AppState, continue_to: &str) -> Response {
    let mut response = Redirect::to(continue_to).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookie(state, "", 0));
    response
}

fn expired() -> Response {
    message_page(StatusCode::GONE, t!("offer-title"), t!("offer-expired"))
}

/// The QR code of `uri` as an SVG data URI (the page's CSP allows data:
/// images, and an image cannot run script).
fn qr_code(uri: &str) -> String {
    let svg = match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(240, 240)
            .quiet_zone(true)
            .build(),
        // An otpauth URI is far below a QR code's capacity.
        Err(_) => String::new(),
    };
    let encoded = base64::engine::general_purpose::STANDARD.encode(svg);
    format!("data:image/svg+xml;base64,{encoded}")
}

/// The key in groups of four, easier to type.
fn grouped(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    let groups: Vec<String> = chars.chunks(4).map(|c| c.iter().collect()).collect();
    groups.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_code_is_an_svg_image() {
        let uri = qr_code("otpauth://totp/Gatehouse?secret=ABCDEFGH&issuer=Gatehouse");
        let encoded = uri.strip_prefix("data:image/svg+xml;base64,").unwrap();
        let svg = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        let svg = String::from_utf8(svg).unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{svg}");
        assert!(!svg.contains("<script"));
    }

    #[test]
    fn the_key_is_shown_in_groups_of_four() {
        assert_eq!(grouped("ABCDEFGHIJ"), "ABCD EFGH IJ");
    }
}
