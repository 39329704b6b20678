//! `GET/POST /login`: phone number -> code by SMS (or from an
//! authenticator app) -> accepted login.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use super::bot_challenge::{self, content_security_policy};
use super::client_ip::client_ip;
use super::csrf::{self, BrowserSecret};
use super::enrol;
use super::error::{checked_challenge, PageError};
use super::form_errors::form_error;
use super::passkey;
use super::step_up;
use super::strings;
use super::views::{invalid_when, no_store, notices, page};
use crate::config::LoginMethod;
use crate::domain::{OtpCode, PhoneNumber};
use crate::i18n::{self, t};
use crate::signin::bot_challenge::Offer;
use crate::signin::browser::{ChallengeError, OpenLogin, Resumed, SignedIn, Started};
use crate::signin::error::SignInError;
use crate::signin::otp::Limit;
use crate::web::AppState;

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
    /// The bot challenge's proof: the script's solution or a widget's token.
    pow_solution: String,
    #[serde(rename = "cf-turnstile-response")]
    turnstile: String,
    #[serde(rename = "h-captcha-response")]
    hcaptcha: String,
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
    /// A code from the person's authenticator app instead of a text.
    App {
        phone: &'a PhoneNumber,
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
    /// The bot challenge, when the next code will need it.
    offer: Option<Offer>,
}

impl<'a> View<'a> {
    /// The page for `login` at `stage`, with nothing to tell yet.
    fn new(login: &'a OpenLogin, stage: Stage<'a>, state: &AppState, headers: &HeaderMap) -> Self {
        View {
            challenge: &login.challenge,
            client_name: &login.client_name,
            secret: state.csrf.browser_secret(headers),
            stage,
            notice: None,
            error: None,
            status: StatusCode::OK,
            offer: None,
        }
    }
}

/// A login challenge that could not be taken up, as a page.
async fn challenge_page(state: &AppState, challenge: &str, error: ChallengeError) -> PageError {
    match error {
        ChallengeError::Lookup(error) => state.challenge_error(challenge, error).await,
        ChallengeError::SignIn(error) => error.into(),
    }
}

pub async fn show(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: Result<Query<LoginQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    let Query(query) = query.map_err(|_| PageError::BadForm)?;
    let challenge = query
        .login_challenge
        .filter(|c| !c.trim().is_empty())
        .ok_or(PageError::MissingChallenge)?;
    let login = match state.browser.start(&challenge).await {
        Ok(Started::Remembered { redirect_to }) => {
            return Ok(Redirect::to(&redirect_to).into_response())
        }
        Ok(Started::Refused { redirect_to }) => {
            return Ok(step_up::passkey_required_page(&redirect_to))
        }
        Ok(Started::Form(login)) if login.passkey_only() => {
            i18n::prefer(&login.ui_locales);
            return Ok(step_up::passkey_only_page(
                &state,
                &headers,
                &login,
                None,
                StatusCode::OK,
            ));
        }
        Ok(Started::Form(login)) => login,
        Err(error) => return Err(challenge_page(&state, &challenge, error).await),
    };
    // The app's `ui_locales` beat the browser's `Accept-Language`.
    i18n::prefer(&login.ui_locales);
    let hint = &login.login_hint;
    let stage = Stage::Phone {
        prefill: hint.get(..64).unwrap_or(hint),
    };
    let mut view = View::new(&login, stage, &state, &headers);
    let ip = client_ip(peer, &headers, &state.config.server.trusted_proxies);
    view.offer = state.bot_challenge.offer(ip, None).await;
    Ok(render(view, &state))
}

pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Form(form) = form.map_err(|_| PageError::BadForm)?;
    let challenge = checked_challenge(&state, &headers, &form.login_challenge, &form.csrf)?;
    let login = match state.browser.resume(challenge).await {
        // Answered already (double click, reload, back button): go where
        // the first answer went.
        Ok(Resumed::Answered { redirect_to }) => {
            return Ok(Redirect::to(&redirect_to).into_response())
        }
        Ok(Resumed::Open(login)) => login,
        Err(error) => return Err(challenge_page(&state, challenge, error).await),
    };
    // Before the code is sent: the text speaks the page's language.
    i18n::prefer(&login.ui_locales);
    if login.passkey_only() && form.action != "cancel" {
        // Only a passkey signs in here: no code is sent or checked.
        let error = t!("passkey-only");
        let status = StatusCode::FORBIDDEN;
        return Ok(step_up::passkey_only_page(
            &state,
            &headers,
            &login,
            Some(&error),
            status,
        ));
    }
    let phone_stage = Stage::Phone {
        prefill: &form.phone,
    };
    let page = Page {
        state: &state,
        headers: &headers,
        login: &login,
        ip: client_ip(peer, &headers, &state.config.server.trusted_proxies),
    };
    match form.action.as_str() {
        "cancel" => {
            let redirect_to = state.browser.cancel(&login).await?;
            return Ok(Redirect::to(&redirect_to).into_response());
        }
        "change" => return Ok(page.show(phone_stage, None, None, StatusCode::OK).await),
        "send" | "resend" | "verify" => {}
        "app" | "verify_app" if state.config.login.offers(LoginMethod::Totp) => {}
        _ => return Err(PageError::BadForm),
    }
    let region = state.config.users.default_region;
    let phone = match PhoneNumber::parse(&form.phone, region) {
        Ok(phone) => phone,
        Err(e) => {
            let error = Some(strings::phone_error(&e));
            return Ok(page
                .show(phone_stage, None, error, StatusCode::BAD_REQUEST)
                .await);
        }
    };
    match form.action.as_str() {
        "verify" => verify(&page, &phone, &form).await,
        "app" => Ok(page
            .show(Stage::App { phone: &phone }, None, None, StatusCode::OK)
            .await),
        "verify_app" => verify_app(&page, &phone, &form).await,
        _ => send(&page, &phone, &form).await,
    }
}

/// What the code field takes: digits, spaces and dashes. Browsers compile
/// `pattern` with the `v` flag, where a bare `-` in a class is an error
/// (the hint then never works and the console says so): escaped here.
const CODE_PATTERN: &str = r"[0-9 \-]*";

/// One rendering of the login page for an open sign-in.
struct Page<'a> {
    state: &'a AppState,
    headers: &'a HeaderMap,
    login: &'a OpenLogin,
    /// The client's address, as the bot challenge counts it.
    ip: IpAddr,
}

impl Page<'_> {
    /// The page at `stage`, with the bot challenge when the next code
    /// (to the number of the code stage) will need it.
    async fn show(
        &self,
        stage: Stage<'_>,
        notice: Option<String>,
        error: Option<String>,
        status: StatusCode,
    ) -> Response {
        let phone = match &stage {
            Stage::Code { phone, .. } | Stage::App { phone } => Some(*phone),
            Stage::Phone { .. } => None,
        };
        let offer = self.state.bot_challenge.offer(self.ip, phone).await;
        self.show_with(stage, (notice, error), status, offer)
    }

    /// The page at `stage` with `offer`; `words`: notice and error.
    fn show_with(
        &self,
        stage: Stage<'_>,
        words: (Option<String>, Option<String>),
        status: StatusCode,
        offer: Option<Offer>,
    ) -> Response {
        let mut view = View::new(self.login, stage, self.state, self.headers);
        (view.notice, view.error) = words;
        view.status = status;
        view.offer = offer;
        render(view, self.state)
    }

    fn code_stage<'p>(&self, phone: &'p PhoneNumber) -> Stage<'p> {
        Stage::Code {
            phone,
            time_left: self.login.time_left,
        }
    }
}

/// "send" (first code) or "resend".
async fn send(
    page: &Page<'_>,
    phone: &PhoneNumber,
    form: &LoginForm,
) -> Result<Response, PageError> {
    let state = page.state;
    let proof = bot_challenge::proof(&form.pow_solution, &form.turnstile, &form.hcaptcha);
    let sent = state.browser.send_code(page.login, phone, page.ip, &proof);
    let error = match sent.await {
        Ok(_) => {
            let notice = Some(strings::code_sent(&phone.masked()));
            return Ok(page
                .show(page.code_stage(phone), notice, None, StatusCode::OK)
                .await);
        }
        Err(error) => error,
    };
    if let SignInError::Throttled {
        limit: Limit::ResendCooldown,
        retry_after,
    } = error
    {
        // A code is on its way already: let them type it.
        let notice = Some(strings::resend_wait(retry_after));
        return Ok(page
            .show(page.code_stage(phone), notice, None, StatusCode::OK)
            .await);
    }
    let challenged = matches!(error, SignInError::BotChallenge(_));
    let (message, status) = form_error(&error, phone).ok_or(error)?;
    // Refused on "resend": they may still have the last code; otherwise
    // nothing was sent, and the number form says why.
    let stage =
        if form.action == "resend" && (challenged || status == StatusCode::TOO_MANY_REQUESTS) {
            page.code_stage(phone)
        } else {
            Stage::Phone {
                prefill: &form.phone,
            }
        };
    if challenged {
        // Asked now, whatever the count said when the page was made.
        let offer = state.bot_challenge.fresh();
        return Ok(page.show_with(stage, (None, Some(message)), status, offer));
    }
    Ok(page.show(stage, None, Some(message), status).await)
}

async fn verify(
    page: &Page<'_>,
    phone: &PhoneNumber,
    form: &LoginForm,
) -> Result<Response, PageError> {
    let state = page.state;
    let verified = match OtpCode::parse(&form.code, state.browser.code_length()) {
        Ok(code) => {
            let remember = form.remember.is_some();
            state
                .browser
                .verify_code(page.login, phone, &code, remember)
                .await
        }
        Err(e) => Err(e.into()),
    };
    let error = match verified {
        Ok(SignedIn::Continue(redirect_to)) => {
            return Ok(Redirect::to(&redirect_to).into_response())
        }
        Ok(SignedIn::Offer { token }) => return Ok(enrol::go_to_offer(state, &token)),
        Err(error) => error,
    };
    let (message, status) = form_error(&error, phone).ok_or(error)?;
    Ok(page
        .show(page.code_stage(phone), None, Some(message), status)
        .await)
}

/// "verify_app": a code from the person's authenticator app.
async fn verify_app(
    page: &Page<'_>,
    phone: &PhoneNumber,
    form: &LoginForm,
) -> Result<Response, PageError> {
    let state = page.state;
    let verified = match OtpCode::parse(&form.code, enrol::APP_CODE_LENGTH) {
        Ok(code) => {
            let remember = form.remember.is_some();
            let signed_in = state
                .browser
                .verify_app_code(page.login, phone, &code, remember);
            signed_in.await
        }
        Err(e) => Err(e.into()),
    };
    let error = match verified {
        Ok(redirect_to) => return Ok(Redirect::to(&redirect_to).into_response()),
        Err(error) => error,
    };
    let Some((message, status)) = form_error(&error, phone) else {
        return Err(error.into());
    };
    let message = match error {
        // No new code to send: the app shows the next one.
        SignInError::CodeDead => t!("app-codes-dead"),
        SignInError::CodeExpired => t!("app-code-used"),
        _ => message,
    };
    Ok(page
        .show(Stage::App { phone }, None, Some(message), status)
        .await)
}

fn render(view: View<'_>, state: &AppState) -> Response {
    let title = strings::sign_in_to(view.client_name);
    let token = state.csrf.token(&view.secret, view.challenge);
    let hidden = html! {
        input type="hidden" name="login_challenge" value=(view.challenge);
        input type="hidden" name=(csrf::FIELD) value=(token);
    };
    let offers_app = state.config.login.offers(LoginMethod::Totp);
    // On the number form: the passkey button and autofill.
    let passkey_on_page =
        state.methods.offers(LoginMethod::Passkey) && matches!(view.stage, Stage::Phone { .. });
    let form = stage_form(&view, hidden, offers_app, passkey_on_page);
    let body = html! {
        h1 { (title) }
        (notices(view.notice.as_deref(), view.error.as_deref()))
        (form)
        @if passkey_on_page { (passkey::sign_in_button(view.challenge, &token)) }
    };
    let mut response = (view.status, no_store(), page(&title, body)).into_response();
    if let Some(cookie) = view.secret.set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    let policy = view.offer.as_ref().map(content_security_policy);
    let policy = passkey::page_policy(policy, passkey_on_page);
    if let Some(policy) = policy {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    response
}

/// The form of the page's stage; `hidden`: the challenge and CSRF token.
/// `passkeys`: the number field's autofill offers them too.
fn stage_form(view: &View<'_>, hidden: Markup, offers_app: bool, passkeys: bool) -> Markup {
    let autofill = if passkeys { "tel webauthn" } else { "tel" };
    let (invalid, described) = invalid_when(view.error.is_some());
    match &view.stage {
        Stage::Phone { prefill } => html! {
            form method="post" action="/login" {
                (hidden)
                label for="phone" { (t!("phone-label")) }
                input #phone type="tel" name="phone" value=(prefill) autocomplete=(autofill)
                    inputmode="tel" required autofocus aria-invalid=[invalid] aria-describedby=[described];
                p.help { (t!("phone-help")) }
                @if let Some(offer) = &view.offer { (bot_challenge::widget(offer)) }
                button type="submit" name="action" value="send" { (t!("send-code")) }
                @if offers_app {
                    button.secondary type="submit" name="action" value="app" { (t!("use-app")) }
                }
                p.help { (t!("risk-notice")) }
                button.secondary type="submit" name="action" value="cancel" formnovalidate { (t!("cancel")) }
            }
        },
        Stage::Code { phone, time_left } => html! {
            form method="post" action="/login" {
                (hidden)
                input type="hidden" name="phone" value=(phone.as_str());
                label for="code" { (t!("code-label")) }
                input #code type="text" name="code" autocomplete="one-time-code" inputmode="numeric"
                    pattern=(CODE_PATTERN) maxlength="20" autofocus aria-invalid=[invalid]
                    aria-describedby=[described];
                label.check { input type="checkbox" name="remember" value="1"; (t!("remember-me")) }
                button type="submit" name="action" value="verify" { (t!("verify")) }
                @if let Some(offer) = &view.offer { (bot_challenge::widget(offer)) }
                div.row {
                    button.secondary type="submit" name="action" value="resend" formnovalidate { (t!("resend")) }
                    button.secondary type="submit" name="action" value="change" formnovalidate { (t!("change-number")) }
                }
                button.link type="submit" name="action" value="cancel" formnovalidate { (t!("cancel")) }
                p.help { (strings::time_left(*time_left)) }
            }
        },
        Stage::App { phone } => html! {
            form method="post" action="/login" {
                (hidden)
                input type="hidden" name="phone" value=(phone.as_str());
                p { (strings::app_code_for(&phone.masked())) }
                label for="code" { (t!("app-code-label")) }
                input #code type="text" name="code" autocomplete="one-time-code" inputmode="numeric"
                    pattern=(CODE_PATTERN) maxlength="20" autofocus aria-invalid=[invalid]
                    aria-describedby=[described];
                label.check { input type="checkbox" name="remember" value="1"; (t!("remember-me")) }
                button type="submit" name="action" value="verify_app" { (t!("verify")) }
                @if let Some(offer) = &view.offer { (bot_challenge::widget(offer)) }
                div.row {
                    button.secondary type="submit" name="action" value="send" formnovalidate { (t!("text-me-instead")) }
                    button.secondary type="submit" name="action" value="change" formnovalidate { (t!("change-number")) }
                }
                button.link type="submit" name="action" value="cancel" formnovalidate { (t!("cancel")) }
            }
        },
    }
}
