//! `GET/POST /login`: phone number -> code by SMS -> accepted login.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use super::client_ip::client_ip;
use super::csrf::{self, BrowserSecret};
use super::error::{checked_challenge, PageError};
use super::strings;
use super::views::{no_store, notices, page};
use crate::domain::{OtpCode, PhoneNumber};
use crate::hydra::LoginRequest;
use crate::otp::{Limit, OtpError};
use crate::signin;
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginQuery {
    login_challenge: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    login_challenge: String,
    csrf: String,
    action: String,
    phone: String,
    code: String,
    remember: Option<String>,
}

/// Which form the page shows.
enum Stage<'a> {
    Phone {
        prefill: &'a str,
    },
    Code {
        phone: &'a PhoneNumber,
        /// Until the sign-in itself (Hydra's challenge) expires.
        time_left: Duration,
    },
}

/// What one rendering of the login page needs.
struct View<'a> {
    challenge: &'a str,
    client_name: &'a str,
    secret: BrowserSecret,
    stage: Stage<'a>,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LoginQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    let Query(query) = query.map_err(|_| PageError::BadForm)?;
    let challenge = query
        .login_challenge
        .filter(|c| !c.trim().is_empty())
        .ok_or(PageError::MissingChallenge)?;
    let request = state
        .hydra
        .login_request(&challenge)
        .await
        .map_err(|e| state.challenge_error(&challenge, e))?;
    state.challenges.seen(&challenge, &request.request_url);
    if request.skip {
        let redirect = signin::accept_remembered_login(
            &state.hydra,
            &state.directory,
            &challenge,
            &request.subject,
        )
        .await?;
        state
            .challenges
            .remember_answer(&challenge, &redirect.redirect_to);
        state.metrics.sign_in("browser", "remembered");
        return Ok(Redirect::to(&redirect.redirect_to).into_response());
    }
    let hint = request.oidc_context.login_hint.clone().unwrap_or_default();
    Ok(render(
        View {
            challenge: &challenge,
            client_name: &client_name(&request),
            secret: state.csrf.browser_secret(&headers),
            stage: Stage::Phone {
                prefill: hint.get(..64).unwrap_or(&hint),
            },
            notice: None,
            error: None,
            status: StatusCode::OK,
        },
        &state,
    ))
}

pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Form(form) = form.map_err(|_| PageError::BadForm)?;
    let challenge = checked_challenge(&state, &headers, &form.login_challenge, &form.csrf)?;
    // Answered already (double click, reload, back button): go where the
    // first answer went.
    if let Some(redirect_to) = state.challenges.answer(challenge) {
        return Ok(Redirect::to(&redirect_to).into_response());
    }
    let request = state
        .hydra
        .login_request(challenge)
        .await
        .map_err(|e| state.challenge_error(challenge, e))?;
    let now = state.otp.clock().now();
    let deadline = state.challenges.seen(challenge, &request.request_url);
    let name = client_name(&request);
    let view = |stage, notice: Option<String>, error: Option<String>, status| View {
        challenge,
        client_name: &name,
        secret: state.csrf.browser_secret(&headers),
        stage,
        notice,
        error,
        status,
    };
    let region = state.config.users.default_region;

    if form.action == "cancel" {
        let redirect = state
            .hydra
            .reject_login(
                challenge,
                &signin::access_denied("The person cancelled the sign-in."),
            )
            .await?;
        state
            .challenges
            .remember_answer(challenge, &redirect.redirect_to);
        state.metrics.sign_in("browser", "cancelled");
        return Ok(Redirect::to(&redirect.redirect_to).into_response());
    }
    if form.action == "change" {
        let stage = Stage::Phone {
            prefill: &form.phone,
        };
        return Ok(render(view(stage, None, None, StatusCode::OK), &state));
    }
    if !matches!(form.action.as_str(), "send" | "resend" | "verify") {
        return Err(PageError::BadForm);
    }

    let phone = match PhoneNumber::parse(&form.phone, region) {
        Ok(phone) => phone,
        Err(e) => {
            let stage = Stage::Phone {
                prefill: &form.phone,
            };
            let page = view(stage, None, Some(e.to_string()), StatusCode::BAD_REQUEST);
            return Ok(render(page, &state));
        }
    };
    let time_left = Duration::from_secs((deadline - now).max(0) as u64);
    let code_stage = Stage::Code {
        phone: &phone,
        time_left,
    };

    if form.action == "verify" {
        let code = match OtpCode::parse(&form.code, state.otp.code_length()) {
            Ok(code) => code,
            Err(e) => {
                let page = view(
                    code_stage,
                    None,
                    Some(e.to_string()),
                    StatusCode::BAD_REQUEST,
                );
                return Ok(render(page, &state));
            }
        };
        return match state.otp.verify(&phone, &code).await {
            Ok(user) => {
                let remember = form.remember.is_some();
                let redirect = signin::accept_login(
                    &state.hydra,
                    &state.config,
                    challenge,
                    &user,
                    remember,
                    signin::AMR_SMS,
                )
                .await?;
                state
                    .challenges
                    .remember_answer(challenge, &redirect.redirect_to);
                state.metrics.sign_in("browser", "success");
                Ok(Redirect::to(&redirect.redirect_to).into_response())
            }
            Err(error) => {
                state.metrics.sign_in("browser", "failure");
                let (message, status) = verify_failure(error)?;
                Ok(render(
                    view(code_stage, None, Some(message), status),
                    &state,
                ))
            }
        };
    }

    // "send" (first code) or "resend".
    let ip = client_ip(peer, &headers, &state.config.server.trusted_proxies);
    // Nothing was sent: the number form again, saying why.
    let phone_form_again = |message: &str, status| {
        let stage = Stage::Phone {
            prefill: &form.phone,
        };
        render(view(stage, None, Some(message.into()), status), &state)
    };
    match state
        .otp
        .issue_until(&phone, Some(ip), Some(deadline))
        .await
    {
        Ok(_) => {
            let notice = strings::code_sent(&phone.masked());
            Ok(render(
                view(code_stage, Some(notice), None, StatusCode::OK),
                &state,
            ))
        }
        // A code is on its way already: let them type it.
        Err(OtpError::Throttled {
            limit: Limit::ResendCooldown,
            retry_after,
        }) => {
            let notice = strings::resend_wait(retry_after);
            Ok(render(
                view(code_stage, Some(notice), None, StatusCode::OK),
                &state,
            ))
        }
        Err(OtpError::Throttled { retry_after, .. }) => {
            let error = strings::too_many_codes(retry_after);
            let stage = if form.action == "resend" {
                code_stage
            } else {
                Stage::Phone {
                    prefill: &form.phone,
                }
            };
            Ok(render(
                view(stage, None, Some(error), StatusCode::TOO_MANY_REQUESTS),
                &state,
            ))
        }
        Err(OtpError::Directory(error)) => {
            tracing::error!(%error, phone = %phone.masked(), "no code sent: the user directory failed");
            Ok(phone_form_again(
                strings::DIRECTORY_DOWN,
                StatusCode::SERVICE_UNAVAILABLE,
            ))
        }
        Err(OtpError::Sms(error)) => {
            tracing::warn!(%error, phone = %phone.masked(), "sign-in code not delivered");
            Ok(phone_form_again(
                strings::SMS_FAILED,
                StatusCode::BAD_GATEWAY,
            ))
        }
        Err(other) => Err(PageError::Internal(other.to_string())),
    }
}

/// A failed verification in words, with the status of the re-rendered page.
fn verify_failure(error: OtpError) -> Result<(String, StatusCode), PageError> {
    Ok(match error {
        OtpError::WrongCode { attempts_left } => {
            (strings::wrong_code(attempts_left), StatusCode::BAD_REQUEST)
        }
        OtpError::TooManyAttempts => (
            strings::WRONG_CODE_DEAD.into(),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        OtpError::Expired => (strings::CODE_EXPIRED.into(), StatusCode::BAD_REQUEST),
        OtpError::Disabled => (strings::ACCOUNT_DISABLED.into(), StatusCode::FORBIDDEN),
        // The code was not touched: the same code works once the directory is back.
        OtpError::Directory(error) => {
            tracing::error!(%error, "code not checked: the user directory failed");
            (
                strings::DIRECTORY_DOWN.into(),
                StatusCode::SERVICE_UNAVAILABLE,
            )
        }
        other => return Err(PageError::Internal(other.to_string())),
    })
}

/// The client's display name, falling back to its id.
pub fn client_name(request: &LoginRequest) -> String {
    let client = &request.client;
    if client.client_name.trim().is_empty() {
        client.client_id.clone()
    } else {
        client.client_name.clone()
    }
}

fn render(view: View<'_>, state: &AppState) -> Response {
    let title = strings::sign_in_to(view.client_name);
    let token = state.csrf.token(&view.secret, view.challenge);
    let hidden = html! {
        input type="hidden" name="login_challenge" value=(view.challenge);
        input type="hidden" name=(csrf::FIELD) value=(token);
    };
    let form: Markup = match &view.stage {
        Stage::Phone { prefill } => html! {
            form method="post" action="/login" {
                (hidden)
                label for="phone" { (strings::PHONE_LABEL) }
                input #phone type="tel" name="phone" value=(prefill) autocomplete="tel"
                    inputmode="tel" required autofocus;
                p.help { (strings::PHONE_HELP) }
                button type="submit" name="action" value="send" { (strings::SEND_CODE) }
                button.secondary type="submit" name="action" value="cancel" formnovalidate { (strings::CANCEL) }
            }
        },
        Stage::Code { phone, time_left } => html! {
            form method="post" action="/login" {
                (hidden)
                input type="hidden" name="phone" value=(phone.as_str());
                label for="code" { (strings::CODE_LABEL) }
                input #code type="text" name="code" autocomplete="one-time-code" inputmode="numeric"
                    pattern="[0-9 -]*" maxlength="20" autofocus;
                label.check { input type="checkbox" name="remember" value="1"; (strings::REMEMBER_ME) }
                button type="submit" name="action" value="verify" { (strings::VERIFY) }
                div.row {
                    button.secondary type="submit" name="action" value="resend" formnovalidate { (strings::RESEND) }
                    button.secondary type="submit" name="action" value="change" formnovalidate { (strings::CHANGE_NUMBER) }
                }
                button.link type="submit" name="action" value="cancel" formnovalidate { (strings::CANCEL) }
                p.help { (strings::time_left(*time_left)) }
            }
        },
    };
    let body = html! {
        h1 { (title) }
        (notices(view.notice.as_deref(), view.error.as_deref()))
        (form)
    };
    let mut response = (view.status, no_store(), page(&title, body)).into_response();
    if let Some(cookie) = view.secret.set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}
