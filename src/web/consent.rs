//! `GET/POST /consent`: what the app will see, and the person's answer.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::csrf;
use super::error::{checked_challenge, PageError};
use super::strings;
use super::views::{no_store, page};
use crate::directory::DirectoryUser;
use crate::hydra::ConsentRequest;
use crate::signin::accept;
use crate::signin::claims;
use crate::web::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConsentQuery {
    consent_challenge: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConsentForm {
    consent_challenge: String,
    csrf: String,
    action: String,
    remember: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ConsentQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    let Query(query) = query.map_err(|_| PageError::BadForm)?;
    let challenge = query
        .consent_challenge
        .filter(|c| !c.trim().is_empty())
        .ok_or(PageError::MissingChallenge)?;
    let request = state
        .hydra
        .consent_request(&challenge)
        .await
        .map_err(|e| state.challenge_error(&challenge, e))?;
    state.challenges.seen(&challenge, &request.request_url);
    if state.accept.consent_is_automatic(&request) {
        let redirect =
            // Remembered, so that prompt=none works for these clients later.
            state.accept.consent(&request, true)
                .await
                ?;
        state
            .challenges
            .remember_answer(&challenge, &redirect.redirect_to);
        state.metrics.consent("automatic");
        return Ok(Redirect::to(&redirect.redirect_to).into_response());
    }
    let user = state.directory.find_by_id(&request.subject).await?;
    Ok(render(
        &state,
        &headers,
        &challenge,
        &request,
        user.as_ref(),
    ))
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<ConsentForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Form(form) = form.map_err(|_| PageError::BadForm)?;
    let challenge = checked_challenge(&state, &headers, &form.consent_challenge, &form.csrf)?;
    // Answered already (double click, reload): go where the first answer went.
    if let Some(redirect_to) = state.challenges.answer(challenge) {
        return Ok(Redirect::to(&redirect_to).into_response());
    }
    // The scopes come from Hydra again, never from the form.
    let request = state
        .hydra
        .consent_request(challenge)
        .await
        .map_err(|e| state.challenge_error(challenge, e))?;
    let redirect = match form.action.as_str() {
        "allow" => {
            state
                .accept
                .consent(&request, form.remember.is_some())
                .await?
        }
        "deny" => {
            state
                .hydra
                .reject_consent(
                    challenge,
                    &accept::access_denied("The person did not allow access."),
                )
                .await?
        }
        _ => return Err(PageError::BadForm),
    };
    state.metrics.consent(if form.action == "allow" {
        "allowed"
    } else {
        "denied"
    });
    state
        .challenges
        .remember_answer(challenge, &redirect.redirect_to);
    Ok(Redirect::to(&redirect.redirect_to).into_response())
}

/// What a scope would share of this user, shown next to the scope.
fn shared_value(scope: &str, user: Option<&DirectoryUser>) -> Option<String> {
    let user = user?;
    let profile = &user.profile;
    let value = match scope {
        "profile" => claims::full_name(user),
        "email" => profile.email.clone(),
        "phone" => user.phone.clone(),
        "address" => {
            let parts: Vec<&str> = [
                &profile.street_address,
                &profile.locality,
                &profile.region,
                &profile.postal_code,
                &profile.country,
            ]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }
        _ => return None,
    };
    Some(value.unwrap_or_else(|| strings::NOT_SET.to_string()))
}

fn render(
    state: &AppState,
    headers: &HeaderMap,
    challenge: &str,
    request: &ConsentRequest,
    user: Option<&DirectoryUser>,
) -> Response {
    let client = if request.client.client_name.trim().is_empty() {
        request.client.client_id.as_str()
    } else {
        request.client.client_name.as_str()
    };
    let title = format!("{}: {client}", strings::CONSENT_TITLE);
    let secret = state.csrf.browser_secret(headers);
    let token = state.csrf.token(&secret, challenge);
    let scopes = claims::grantable_scopes(&request.requested_scope, &request.client.scope);
    let body = html! {
        h1 { (title) }
        p { (strings::consent_intro(client)) }
        ul.scopes {
            @for scope in &scopes {
                @let (what, shares) = strings::scope_description(scope);
                li {
                    strong { (what) }
                    span.shares {
                        (shares)
                        @if let Some(value) = shared_value(scope, user) { ": " (value) }
                    }
                }
            }
        }
        form method="post" action="/consent" {
            input type="hidden" name="consent_challenge" value=(challenge);
            input type="hidden" name=(csrf::FIELD) value=(token);
            label.check { input type="checkbox" name="remember" value="1"; (strings::CONSENT_REMEMBER) }
            div.row {
                button.secondary type="submit" name="action" value="deny" { (strings::CONSENT_DENY) }
                button type="submit" name="action" value="allow" { (strings::CONSENT_ALLOW) }
            }
        }
    };
    let mut response = (StatusCode::OK, no_store(), page(&title, body)).into_response();
    if let Some(cookie) = secret.set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}
