//! The accept calls both sign-in flows (browser pages and headless API)
//! and the consent page make at Hydra: one code path for subjects,
//! remembering and claims.

use std::sync::Arc;

use super::claims;
use super::error::SignInError;
use crate::config::{ClaimsConfig, ConsentConfig, LoginConfig};
use crate::directory::{Directory, DirectoryUser};
use crate::hydra::{
    AcceptConsent, AcceptLogin, ConsentRequest, ConsentSession, HydraClient, Redirect, Reject,
};

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
}

impl Acceptor {
    pub fn new(
        hydra: HydraClient,
        directory: Directory,
        login: LoginConfig,
        consent: ConsentConfig,
        claims: ClaimsConfig,
    ) -> Acceptor {
        Acceptor {
            hydra,
            directory,
            login,
            consent: Arc::new(consent),
            claims: Arc::new(claims),
        }
    }

    /// Accepts a login for `user`, who proved themselves by `amr` (a
    /// verified code: [`AMR_SMS`]).
    pub async fn login(
        &self,
        challenge: &str,
        user: &DirectoryUser,
        remember: bool,
        amr: &str,
    ) -> Result<Redirect, SignInError> {
        self.login_amr(challenge, user, remember, vec![amr.to_string()])
            .await
    }

    /// [`Acceptor::login`] with several `amr` values (a passkey: the key's
    /// kind and `user`).
    pub async fn login_amr(
        &self,
        challenge: &str,
        user: &DirectoryUser,
        remember: bool,
        amr: Vec<String>,
    ) -> Result<Redirect, SignInError> {
        let accept = AcceptLogin {
            subject: user.id.clone(),
            remember,
            remember_for: if remember {
                self.login.remember_for.as_secs()
            } else {
                0
            },
            amr,
            ..AcceptLogin::default()
        };
        Ok(self.hydra.accept_login(challenge, &accept).await?)
    }

    /// Accepts a login Hydra wants to skip (a remembered session), unless
    /// the remembered user is gone or disabled: then the login is refused.
    pub async fn remembered_login(
        &self,
        challenge: &str,
        subject: &str,
    ) -> Result<Redirect, SignInError> {
        match self.directory.find_by_id(subject).await? {
            Some(user) if !user.disabled => {
                let accept = AcceptLogin {
                    subject: user.id,
                    amr: vec![AMR_SMS.to_string()],
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
