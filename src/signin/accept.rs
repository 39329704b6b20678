//! The accept calls both sign-in flows (browser pages and headless API)
//! and the consent page make at Hydra: one code path for subjects,
//! remembering and claims.

use std::sync::Arc;

use super::claims;
use super::error::SignInError;
use crate::config::{ClaimsConfig, ConsentConfig, LoginConfig};
use crate::directory::{Directory, DirectoryUser};
use crate::domain::Assurance;
use crate::hydra::{
    AcceptConsent, AcceptLogin, ConsentRequest, ConsentSession, HydraClient, Redirect, Reject,
};
use crate::infra::clock::Clock;
use crate::store::login_sessions::{self, Proved};
use crate::store::Store;

/// How a code sign-in proved the user (RFC 8176 `amr`).
pub const AMR_SMS: &str = "sms";
/// A code from an authenticator app (RFC 8176 `otp`).
pub const AMR_TOTP: &str = "otp";

/// Answers Hydra's login and consent requests, with the `[login]`,
/// `[consent]` and `[claims]` settings.
#[derive(Clone)]
pub struct Acceptor {
    hydra: HydraClient,
    directory: Directory,
    login: LoginConfig,
    consent: Arc<ConsentConfig>,
    claims: Arc<ClaimsConfig>,
    /// Where each login session's proof is kept (`store/login_sessions.rs`).
    store: Store,
    clock: Clock,
}

/// The login a sign-in answers: Hydra's challenge, and its login session
/// id (how the sign-in is remembered for that session).
#[derive(Debug, Clone, Copy)]
pub struct LoginRef<'a> {
    pub challenge: &'a str,
    pub session_id: Option<&'a str>,
}

impl Acceptor {
    pub fn new(
        hydra: HydraClient,
        directory: Directory,
        login: LoginConfig,
        consent: ConsentConfig,
        claims: ClaimsConfig,
        (store, clock): (Store, Clock),
    ) -> Acceptor {
        Acceptor {
            hydra,
            directory,
            login,
            consent: Arc::new(consent),
            claims: Arc::new(claims),
            store,
            clock,
        }
    }

    /// Accepts a login for `user`, who proved themselves by `amr` (a
    /// verified code: [`AMR_SMS`]).
    pub async fn login(
        &self,
        login: LoginRef<'_>,
        user: &DirectoryUser,
        remember: bool,
        amr: &str,
    ) -> Result<Redirect, SignInError> {
        self.login_amr(login, user, remember, vec![amr.to_string()])
            .await
    }

    /// [`Acceptor::login`] with several `amr` values (a passkey: the key's
    /// kind and `user`). The `acr` is the level they make
    /// ([`Assurance::of_amr`]); both are kept for the login session, so a
    /// remembered sign-in in it reports them again.
    pub async fn login_amr(
        &self,
        login: LoginRef<'_>,
        user: &DirectoryUser,
        remember: bool,
        amr: Vec<String>,
    ) -> Result<Redirect, SignInError> {
        let acr = Assurance::of_amr(&amr).map(Assurance::acr);
        if let Some(session_id) = login.session_id {
            let proved = Proved {
                subject: user.id.clone(),
                amr: serde_json::to_string(&amr).unwrap_or_else(|_| "[]".into()),
                acr: acr.unwrap_or_default().to_string(),
            };
            // Hydra forgets a session at `remember_for` at the latest.
            let expires_at = self.clock.now() + self.login.remember_for.as_secs() as i64;
            let session_id = session_id.to_string();
            self.store
                .run(move |db| login_sessions::remember(db, &session_id, &proved, expires_at))
                .await?;
        }
        let accept = AcceptLogin {
            subject: user.id.clone(),
            remember,
            remember_for: if remember {
                self.login.remember_for.as_secs()
            } else {
                0
            },
            acr: acr.map(str::to_string),
            amr,
            ..AcceptLogin::default()
        };
        Ok(self.hydra.accept_login(login.challenge, &accept).await?)
    }

    /// How login session `session_id` of `subject` was proved: its `amr`
    /// and level, or nothing known (no level, no `amr`).
    pub async fn session_proof(
        &self,
        session_id: Option<&str>,
        subject: &str,
    ) -> Result<(Vec<String>, Option<Assurance>), SignInError> {
        let Some(session_id) = session_id.map(str::to_string) else {
            return Ok((Vec::new(), None));
        };
        let now = self.clock.now();
        let found = self
            .store
            .run(move |db| login_sessions::find(db, &session_id, now))
            .await?;
        Ok(match found {
            Some(proved) if proved.subject == subject => {
                let amr: Vec<String> = serde_json::from_str(&proved.amr).unwrap_or_default();
                (amr, Assurance::parse(&proved.acr))
            }
            _ => (Vec::new(), None),
        })
    }

    /// Accepts a login Hydra wants to skip (a remembered session) with the
    /// `amr` and level its sign-in had (`proof`, from
    /// [`Acceptor::session_proof`]), unless the remembered user is gone or
    /// disabled: then the login is refused.
    pub async fn remembered_login(
        &self,
        challenge: &str,
        subject: &str,
        proof: (Vec<String>, Option<Assurance>),
    ) -> Result<Redirect, SignInError> {
        match self.directory.find_by_id(subject).await? {
            Some(user) if !user.disabled => {
                let (amr, level) = proof;
                let accept = AcceptLogin {
                    subject: user.id,
                    acr: level.map(|level| level.acr().to_string()),
                    amr,
                    ..AcceptLogin::default()
                };
                Ok(self.hydra.accept_login(challenge, &accept).await?)
            }
            _ => Ok(self
                .hydra
                .reject_login(
                    challenge,
                    &access_denied("This account can no longer sign in."),
                )
                .await?),
        }
    }

    /// Refuses a login that asked for a phishing-resistant sign-in the
    /// person cannot give (no passkey): `access_denied` for the client.
    pub async fn refuse_level(
        &self,
        challenge: &str,
        required: Assurance,
    ) -> Result<Redirect, SignInError> {
        let reject = access_denied(&format!(
            "The client asked for acr {} (a passkey); this person cannot sign in with one.",
            required.acr()
        ));
        Ok(self.hydra.reject_login(challenge, &reject).await?)
    }

    /// Is consent given without asking? (Hydra remembers it, the client was
    /// registered with skip_consent, or the operator trusts the client.)
    pub fn consent_is_automatic(&self, request: &ConsentRequest) -> bool {
        if prompts_for_consent(&request.request_url) {
            return false;
        }
        request.skip
            || request.client.skip_consent
            || self
                .consent
                .trusted_clients
                .contains(&request.client.client_id)
    }

    /// Grants the requested scopes the client may have, with the claims the
    /// user's directory record fills for them.
    pub async fn consent(
        &self,
        request: &ConsentRequest,
        remember: bool,
    ) -> Result<Redirect, SignInError> {
        let granted = claims::grantable_scopes(&request.requested_scope, &request.client.scope);
        self.consent_granting(request, granted, remember).await
    }

    /// Grants `granted` (the person's choice on the consent page, checked
    /// with [`claims::chosen_scopes`]) and the claims that go with it.
    pub async fn consent_granting(
        &self,
        request: &ConsentRequest,
        granted: Vec<String>,
        remember: bool,
    ) -> Result<Redirect, SignInError> {
        let user = self.directory.find_by_id(&request.subject).await?;
        self.grant(request, user.as_ref(), granted, remember).await
    }

    /// [`Acceptor::consent`] for a `user` already looked up (the consent's
    /// subject, or None when the directory no longer has them: no claims
    /// then).
    pub async fn consent_as(
        &self,
        request: &ConsentRequest,
        user: Option<&DirectoryUser>,
        remember: bool,
    ) -> Result<Redirect, SignInError> {
        let granted = claims::grantable_scopes(&request.requested_scope, &request.client.scope);
        self.grant(request, user, granted, remember).await
    }

    /// The scopes the person held back from this client the last time Hydra
    /// remembered their answer: shown unticked when it asks for them again.
    /// Empty when there is no such answer, or Hydra cannot say.
    pub async fn held_back(&self, request: &ConsentRequest) -> Vec<String> {
        let sessions = match self.hydra.consent_sessions(&request.subject).await {
            Ok(sessions) => sessions,
            Err(error) => {
                tracing::warn!(%error, "cannot read remembered consents; every scope starts ticked");
                return Vec::new();
            }
        };
        let Some(last) = sessions
            .into_iter()
            .filter(|s| s.consent_request.client.client_id == request.client.client_id)
            .max_by(|a, b| a.handled_at.cmp(&b.handled_at))
        else {
            return Vec::new();
        };
        let asked = last.consent_request.requested_scope;
        asked
            .into_iter()
            .filter(|scope| !last.grant_scope.contains(scope))
            .collect()
    }

    async fn grant(
        &self,
        request: &ConsentRequest,
        user: Option<&DirectoryUser>,
        granted: Vec<String>,
        remember: bool,
    ) -> Result<Redirect, SignInError> {
        let ConsentSession {
            id_token,
            access_token,
        } = match user {
            Some(user) => self.session_claims(&granted, user),
            None => ConsentSession::default(),
        };
        let accept = AcceptConsent {
            grant_scope: granted,
            grant_access_token_audience: request.requested_access_token_audience.clone(),
            // Hydra already remembers a skipped consent; do not extend it.
            remember: remember && !request.skip,
            remember_for: if remember {
                self.consent.remember_for.as_secs()
            } else {
                0
            },
            session: ConsentSession {
                id_token,
                access_token,
            },
        };
        Ok(self
            .hydra
            .accept_consent(&request.challenge, &accept)
            .await?)
    }
}

impl Acceptor {
    /// The claims `user` gets in tokens for the `granted` scopes.
    fn session_claims(&self, granted: &[String], user: &DirectoryUser) -> ConsentSession {
        let (mut id_token, access_token) =
            claims::custom_claims(granted, user, &self.claims.custom);
        // The standard claims win over a custom claim of the same name.
        id_token.extend(claims::id_token_claims(granted, user));
        ConsentSession {
            id_token,
            access_token,
        }
    }

    /// Hydra's token hook: at each token issued to `subject` (a code
    /// exchanged, a token refreshed), the claims the directory gives them
    /// now, or None when they are gone or disabled and get no more tokens.
    pub async fn current_claims(
        &self,
        subject: &str,
        granted: &[String],
    ) -> Result<Option<ConsentSession>, SignInError> {
        Ok(match self.directory.find_by_id(subject).await? {
            Some(user) if !user.disabled => Some(self.session_claims(granted, &user)),
            _ => None,
        })
    }
}

/// Did the client ask with `prompt=consent` (show the page whatever else holds)?
fn prompts_for_consent(request_url: &str) -> bool {
    // Hydra gives a path-only URL when it has no base; any base parses it.
    let Ok(url) = url::Url::parse("http://request.invalid").and_then(|base| base.join(request_url))
    else {
        return false;
    };
    url.query_pairs()
        .any(|(k, v)| k == "prompt" && v.split(' ').any(|p| p == "consent"))
}

/// Refuses a login or consent because the person said no.
pub fn access_denied(description: &str) -> Reject {
    Reject {
        error: "access_denied".into(),
        error_description: description.into(),
        ..Reject::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_consent_is_found_in_the_request_url() {
        assert!(prompts_for_consent(
            "https://id.example/oauth2/auth?client_id=a&prompt=consent"
        ));
        assert!(prompts_for_consent("/oauth2/auth?prompt=login%20consent"));
        assert!(!prompts_for_consent("/oauth2/auth?prompt=login"));
        assert!(!prompts_for_consent("/oauth2/auth?client_id=consent"));
        assert!(!prompts_for_consent(""));
    }
}
