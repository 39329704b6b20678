//! `GET/POST /consent`: what the app will see, and the person's answer.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use super::client_logo::ClientLogo;
use super::csrf;
use super::error::{checked_challenge, PageError};
use super::strings;
use super::views::{no_store, page};
use crate::directory::DirectoryUser;
use crate::domain::{EventKind, Outcome};
use crate::hydra::ConsentRequest;
use crate::i18n::{self, t};
use crate::signin::accept;
use crate::signin::audit::Event;
use crate::signin::claims;
use crate::web::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConsentQuery {
    consent_challenge: Option<String>,
}

/// The consent form: its fields, and one `scope` per ticked box.
#[derive(Debug, Default)]
pub struct ConsentForm {
    consent_challenge: String,
    csrf: String,
    action: String,
    remember: bool,
    ticked: Vec<String>,
}

impl ConsentForm {
    /// Reads the form's pairs; `scope` may repeat (one per ticked box),
    /// which a struct cannot say to serde. Unknown fields are ignored.
    fn from_pairs(pairs: Vec<(String, String)>) -> ConsentForm {
        let mut form = ConsentForm::default();
        for (name, value) in pairs {
            match name.as_str() {
                "consent_challenge" => form.consent_challenge = value,
                csrf::FIELD => form.csrf = value,
                "action" => form.action = value,
                "remember" => form.remember = true,
                "scope" => form.ticked.push(value),
                _ => {}
            }
        }
        form
    }
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
    let request = match state.hydra.consent_request(&challenge).await {
        Ok(request) => request,
        Err(e) => return Err(state.challenge_error(&challenge, e).await),
    };
    state
        .challenges
        .seen(&challenge, &request.request_url)
        .await;
    i18n::prefer(&request.oidc_context.ui_locales);
    if state.accept.consent_is_automatic(&request) {
        let redirect =
            // Remembered, so that prompt=none works for these clients later.
            state.accept.consent(&request, true)
                .await
                ?;
        state
            .challenges
            .remember_answer(&challenge, &redirect.redirect_to)
            .await;
        state.metrics.consent("automatic");
        let event = consent_event(EventKind::ConsentGranted, &request);
        state
            .audit
            .record(event.outcome(Outcome::Ok, "automatic"))
            .await;
        return Ok(Redirect::to(&redirect.redirect_to).into_response());
    }
    let user = state.directory.find_by_id(&request.subject).await?;
    let held_back = state.accept.held_back(&request).await;
    Ok(render(
        &state,
        &headers,
        &challenge,
        &request,
        Shown {
            user: user.as_ref(),
            held_back: &held_back,
        },
    ))
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, PageError> {
    let Form(pairs) = form.map_err(|_| PageError::BadForm)?;
    let form = ConsentForm::from_pairs(pairs);
    let challenge = checked_challenge(&state, &headers, &form.consent_challenge, &form.csrf)?;
    // Answered already (double click, reload): go where the first answer went.
    if let Some(redirect_to) = state.challenges.answer(challenge).await {
        return Ok(Redirect::to(&redirect_to).into_response());
    }
    // The scopes come from Hydra again, never from the form.
    let request = match state.hydra.consent_request(challenge).await {
        Ok(request) => request,
        Err(e) => return Err(state.challenge_error(challenge, e).await),
    };
    let redirect = match form.action.as_str() {
        "allow" => {
            // Only among what this request offers: a crafted form that adds
            // a scope is refused, not trimmed, so it is noticed.
            let offered = claims::grantable_scopes(&request.requested_scope, &request.client.scope);
            let granted = claims::chosen_scopes(&offered, &form.ticked).map_err(|refused| {
                tracing::warn!(%refused, client = %request.client.client_id, "consent form refused");
                PageError::BadForm
            })?;
            state
                .accept
                .consent_granting(&request, granted, form.remember)
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
    let (result, event) = match form.action.as_str() {
        "allow" => (
            "allowed",
            consent_event(EventKind::ConsentGranted, &request),
        ),
        _ => (
            "denied",
            consent_event(EventKind::ConsentDenied, &request).outcome(Outcome::Refused, "denied"),
        ),
    };
    state.metrics.consent(result);
    state.audit.record(event).await;
    state
        .challenges
        .remember_answer(challenge, &redirect.redirect_to)
        .await;
    Ok(Redirect::to(&redirect.redirect_to).into_response())
}

/// A consent's audit event, for the request's person and client.
fn consent_event(kind: EventKind, request: &ConsentRequest) -> Event {
    Event::new(kind)
        .subject(&request.subject)
        .client(&request.client.client_id)
}

/// One permission: `openid` as required, any other as a labelled checkbox,
/// ticked unless the person held it back from this client before.
fn scope_item(scope: &str, shown: &Shown<'_>) -> Markup {
    let (what, shares) = strings::scope_description(scope);
    let id = format!("scope-{}", scope_id(scope));
    let described = format!("{id}-shares");
    let detail = html! {
        span.shares id=(described) {
            (shares)
            @if let Some(value) = shared_value(scope, shown.user) { ": " (value) }
        }
    };
    if scope == claims::REQUIRED_SCOPE {
        return html! {
            li.required {
                strong { (what) } " " span.badge { (t!("consent-required")) }
                (detail)
            }
        };
    }
    let ticked = !shown.held_back.iter().any(|held| held == scope);
    html! {
        li {
            label.check for=(id) {
                input type="checkbox" name="scope" value=(scope) id=(id)
                    checked[ticked] aria-describedby=(described);
                strong { (what) }
            }
            (detail)
        }
    }
}

/// A scope as an HTML id: letters, digits and `-` only (scopes may hold
/// `:` or `/`), with the byte values of the rest so ids stay unique.
fn scope_id(scope: &str) -> String {
    scope
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("-{b:02x}")
            }
        })
        .collect()
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
    Some(value.unwrap_or_else(|| t!("not-set")))
}

/// What the page shows besides the request: the person's values, and the
/// scopes they held back from this client last time (shown unticked).
struct Shown<'a> {
    user: Option<&'a DirectoryUser>,
    held_back: &'a [String],
}

fn render(
    state: &AppState,
    headers: &HeaderMap,
    challenge: &str,
    request: &ConsentRequest,
    shown: Shown<'_>,
) -> Response {
    let client = request.client.display_name();
    let title = strings::consent_title(client);
    let secret = state.csrf.browser_secret(headers);
    let token = state.csrf.token(&secret, challenge);
    let scopes = claims::grantable_scopes(&request.requested_scope, &request.client.scope);
    let logo = ClientLogo::from_client(&request.client.logo_uri);
    let body = html! {
        @if let Some(logo) = &logo {
            // The name beside it says whose logo it is.
            img.client-logo src=(logo.src) alt="" referrerpolicy="no-referrer";
        }
        h1 { (title) }
        p { (strings::consent_intro(client)) }
        form method="post" action="/consent" {
            fieldset.scopes {
                legend { (t!("consent-choose")) }
                ul.scopes {
                    @for scope in &scopes {
                        (scope_item(scope, &shown))
                    }
                }
            }
            input type="hidden" name="consent_challenge" value=(challenge);
            input type="hidden" name=(csrf::FIELD) value=(token);
            label.check { input type="checkbox" name="remember" value="1"; (t!("consent-remember")) }
            div.row {
                button.secondary type="submit" name="action" value="deny" { (t!("consent-deny")) }
                button type="submit" name="action" value="allow" { (t!("consent-allow")) }
            }
        }
    };
    let mut response = (StatusCode::OK, no_store(), page(&title, body)).into_response();
    if let Some(logo) = &logo {
        let policy = logo.content_security_policy();
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    if let Some(cookie) = secret.set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}
