//! `GET/POST /logout`: confirm before Hydra ends the session.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::csrf;
use super::error::{checked_challenge, PageError};
use super::strings;
use super::views::{message_page, no_store, page};
use crate::domain::EventKind;
use crate::i18n::t;
use crate::signin::audit::Event;
use crate::web::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LogoutQuery {
    logout_challenge: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LogoutForm {
    logout_challenge: String,
    csrf: String,
    action: String,
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LogoutQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    let Query(query) = query.map_err(|_| PageError::BadForm)?;
    let challenge = query
        .logout_challenge
        .filter(|c| !c.trim().is_empty())
        .ok_or(PageError::MissingChallenge)?;
    let request = state.hydra.logout_request(&challenge).await?;
    let title = match request
        .client
        .as_ref()
        .map(|c| c.client_name.trim())
        .filter(|n| !n.is_empty())
    {
        Some(name) => strings::logout_from(name),
        None => t!("logout-title"),
    };
    let secret = state.csrf.browser_secret(&headers);
    let token = state.csrf.token(&secret, &challenge);
    let body = html! {
        h1 { (title) }
        p { (t!("logout-question")) }
        form method="post" action="/logout" {
            input type="hidden" name="logout_challenge" value=(challenge);
            input type="hidden" name=(csrf::FIELD) value=(token);
            button type="submit" name="action" value="yes" { (t!("logout-yes")) }
            button.secondary type="submit" name="action" value="no" { (t!("logout-no")) }
        }
    };
    let mut response = (StatusCode::OK, no_store(), page(&title, body)).into_response();
    if let Some(cookie) = secret.set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Form(form) = form.map_err(|_| PageError::BadForm)?;
    let challenge = checked_challenge(&state, &headers, &form.logout_challenge, &form.csrf)?;
    match form.action.as_str() {
        "yes" => {
            // Whose logout, for the audit trail; it goes ahead regardless.
            let request = state.hydra.logout_request(challenge).await.ok();
            let redirect = state.hydra.accept_logout(challenge).await?;
            let event = match &request {
                Some(request) => Event::new(EventKind::Logout)
                    .subject(&request.subject)
                    .client(request.client.as_ref().map_or("", |c| c.client_id.as_str())),
                None => Event::new(EventKind::Logout),
            };
            state.audit.record(event).await;
            Ok(Redirect::to(&redirect.redirect_to).into_response())
        }
        "no" => {
            state.hydra.reject_logout(challenge).await?;
            Ok(message_page(
                StatusCode::OK,
                t!("logout-title"),
                t!("still-signed-in"),
            ))
        }
        _ => Err(PageError::BadForm),
    }
}

/// `GET /logged-out`: where Hydra sends people after a logout without a
/// client redirect.
pub async fn logged_out() -> Response {
    message_page(StatusCode::OK, t!("logout-title"), t!("logged-out"))
}
