//! Headless sign-in for native apps (backend-for-frontend).
//!
//! Gatehouse plays the browser and the OAuth2 client at once: it runs the
//! authorization code flow with PKCE against Hydra, so the app gets the
//! same tokens a browser sign-in gives, while the PKCE verifier, the client
//! secret and Hydra's cookies never leave the server.
//!
//! - [`HeadlessService::request_otp`]: `GET /oauth2/auth` (login challenge
//!   and Hydra's CSRF cookies), a code by SMS, a stored session.
//! - [`HeadlessService::verify_otp`]: the code, then the same login and
//!   consent accept calls as the browser pages ([`crate::signin`]), Hydra's
//!   two verifier redirects, and the code exchange at `/oauth2/token`.
//! - [`HeadlessService::token_exchange`]: no code; the existing system's
//!   verifier ([`crate::signin::legacy_session`]) names the user, then both halves
//!   above in one call.
//!
//! - `app_code.rs`: the same with a code from an authenticator app
//!   instead of a text (no SMS is sent).
//!
//! The hops at Hydra's public API are [`crate::hydra::public`]'s.

mod app_code;
mod session;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::config::{Config, HeadlessClient, HeadlessConfig};
use crate::directory::{Directory, DirectoryUser};
use crate::domain::{FlowId, OtpCode, PhoneNumber, SignInMethod};
use crate::hydra::public::{Authorization, HydraPublic, OAuthClient, Tokens};
use crate::hydra::HydraClient;
use crate::infra::random::random_hex;
use crate::store::sessions;
use crate::store::{Db, Store};

use super::accept::{self, Acceptor, LoginRef};
use super::audit::{AuditTrail, Event};
use super::bot_challenge::{BotChallenge, Proof};
use super::error::SignInError;
use super::legacy_session::{LegacyToken, LegacyVerifier, VerifyError};
use super::methods::TotpService;
use super::otp::OtpService;

/// Longest session id worth hashing; real ones are 64 hex characters.
const MAX_SESSION_ID_LEN: usize = 256;

/// How a token exchange proved the user (`amr`). RFC 8176 registers no
/// value for "signed in elsewhere"; custom values are allowed.
pub const AMR_LEGACY_SESSION: &str = "legacy_session";

/// What the app gets from `request_otp`.
#[derive(Debug, Clone)]
pub struct Started {
    pub session_id: String,
    pub expires_in: Duration,
}

/// The Hydra a headless flow drives: its admin API for the accept calls,
/// its public API for the browser's part.
#[derive(Clone)]
pub struct HydraApis {
    pub admin: HydraClient,
    pub public: HydraPublic,
}

#[derive(Clone)]
pub struct HeadlessService {
    config: Arc<HeadlessConfig>,
    store: Store,
    directory: Directory,
    hydra: HydraClient,
    hydra_public: HydraPublic,
    accept: Acceptor,
    otp: OtpService,
    bot: BotChallenge,
    /// Set when token exchange is enabled.
    legacy: Option<LegacyVerifier>,
    audit: AuditTrail,
    /// Authenticator apps, when `login.methods` offers them.
    totp: Option<TotpService>,
}

impl HydraApis {
    /// Hydra's admin API (`admin`), and its public API as the app's own
    /// OAuth2 client at `config`'s URLs.
    pub fn for_config(config: &Config, admin: HydraClient) -> HydraApis {
        HydraApis {
            admin,
            public: HydraPublic::new(
                config.hydra_public_url(),
                config.server.public_url.clone(),
                config.hydra.ca_file(),
            ),
        }
    }
}

impl HeadlessService {
    pub fn new(
        config: HeadlessConfig,
        store: Store,
        directory: Directory,
        hydra: HydraApis,
        accept: Acceptor,
        otp: OtpService,
        bot: BotChallenge,
    ) -> HeadlessService {
        HeadlessService {
            legacy: LegacyVerifier::from_config(&config.token_exchange),
            config: Arc::new(config),
            store,
            directory,
            hydra: hydra.admin,
            hydra_public: hydra.public,
            accept,
            otp,
            audit: AuditTrail::default(),
            bot,
            totp: None,
        }
    }

    /// Records codes sent and sign-ins in `audit`.
    pub fn with_audit(mut self, audit: AuditTrail) -> HeadlessService {
        self.audit = audit;
        self
    }

    /// The app `client_id`, when it may use the headless API.
    pub fn client(&self, client_id: &str) -> Result<&HeadlessClient, SignInError> {
        self.config
            .client(client_id)
            .ok_or(SignInError::UnauthorizedClient)
    }

    /// Starts a sign-in for `client` (from [`HeadlessService::client`]):
    /// the bot challenge, Hydra's login challenge, a code by SMS, a session.
    pub async fn request_otp(
        &self,
        client: &HeadlessClient,
        phone: &PhoneNumber,
        scope: Option<&str>,
        client_ip: IpAddr,
        proof: &Proof,
    ) -> Result<Started, SignInError> {
        let scope = resolve_scope(scope, &client.scope)?;
        // A bot gets no login request at Hydra either.
        let clearance = match self.bot.check(proof, phone, client_ip).await {
            Ok(clearance) => clearance,
            Err(refused) => return Err(self.code_refused(refused, phone, client).await),
        };

        // Hydra first: if it is down, no SMS is paid for.
        let authorization = self.authorize(client, &scope).await?;

        // The code belongs to this session and no other flow.
        let session_id = random_hex(32);
        let id_hash = hash_session_id(&session_id);
        let flow = FlowId::headless(&id_hash);
        let issued = self
            .otp
            .issue_cleared(&flow, phone, Some(client_ip), None, clearance)
            .await;
        let issued = issued.map_err(SignInError::from);
        let event = Event::code(&issued).phone(phone).client(&client.client_id);
        self.audit.record(event).await;
        issued?;

        let started = self
            .save_session(client, phone, &id_hash, authorization)
            .await?;
        tracing::info!(client_id = %client.client_id, phone = %phone.masked(), "headless sign-in started");
        Ok(Started {
            session_id,
            ..started
        })
    }

    /// Records a code request refused before any code (the bot challenge)
    /// in the audit trail, and hands the refusal back.
    async fn code_refused(
        &self,
        refused: SignInError,
        phone: &PhoneNumber,
        client: &HeadlessClient,
    ) -> SignInError {
        let event = Event::code_refused(&refused).phone(phone);
        self.audit.record(event.client(&client.client_id)).await;
        refused
    }

    /// Finishes a sign-in: checks the code, then drives Hydra to the tokens.
    pub async fn verify_otp(&self, session_id: &str, otp: &str) -> Result<Tokens, SignInError> {
        let mut attempt = Event::sign_in(SignInMethod::Sms);
        let finished = self.verify_session(session_id, otp, &mut attempt).await;
        self.audit.signed_in(attempt, finished).await
    }

    /// [`HeadlessService::verify_otp`]'s work: the tokens, and who signed
    /// in; `event` learns the number and the client on the way.
    async fn verify_session(
        &self,
        session_id: &str,
        otp: &str,
        event: &mut Event,
    ) -> Result<(Tokens, String), SignInError> {
        let (session, id_hash, phone) = self.live_session(session_id, event).await?;
        let now = self.otp.clock().now();
        let code = OtpCode::parse(otp, self.otp.code_length())?;
        // The configuration may have changed since the session started.
        let client = self.client(&session.client_id)?;

        // The session is used up together with the code (one store trip):
        // whoever does so first goes on; everyone else is late.
        let use_session = {
            let id_hash = id_hash.clone();
            move |db: &Db| sessions::consume(db, &id_hash, now)
        };
        // A code that expired is also what the loser of two concurrent
        // right answers sees; the session stays for the winner to consume.
        let flow = FlowId::headless(&id_hash);
        let user = match self
            .otp
            .verify_then(&flow, &phone, &code, use_session)
            .await
        {
            Ok((user, true)) => user,
            Ok((_, false)) => return Err(SignInError::InvalidSession),
            Err(error) => match SignInError::from(error) {
                SignInError::CodeDead => {
                    // The code is dead, so is the session: the app starts again.
                    self.consume(&id_hash).await?;
                    return Err(SignInError::CodeDead);
                }
                other => return Err(other),
            },
        };

        self.complete(client, session, &user, accept::AMR_SMS).await
    }

    /// Trades a session of the existing system for tokens: its verifier
    /// names the user, then the flow goes on as after a verified code.
    pub async fn token_exchange(
        &self,
        legacy_token: &LegacyToken,
        client_id: &str,
        scope: Option<&str>,
    ) -> Result<Tokens, SignInError> {
        let exchanged = self.exchange(legacy_token, client_id, scope).await;
        let attempt = Event::sign_in(SignInMethod::Exchange).client(client_id);
        self.audit.signed_in(attempt, exchanged).await
    }

    /// [`HeadlessService::token_exchange`]'s work: the tokens, and who.
    async fn exchange(
        &self,
        legacy_token: &LegacyToken,
        client_id: &str,
        scope: Option<&str>,
    ) -> Result<(Tokens, String), SignInError> {
        let verifier = self
            .legacy
            .as_ref()
            .ok_or(SignInError::ExchangeNotEnabled)?;
        let client = self
            .config
            .client(client_id)
            .filter(|client| client.token_exchange)
            .ok_or(SignInError::ExchangeNotAllowed)?;
        let scope = resolve_scope(scope, &client.scope)?;
        if legacy_token.expose().is_empty() {
            return Err(SignInError::InvalidToken);
        }

        // The verifier before Hydra: a bad token costs no login request.
        let subject = verifier
            .verify(legacy_token)
            .await
            .map_err(|error| match error {
                VerifyError::Rejected => SignInError::InvalidToken,
                VerifyError::Unavailable(reason) => SignInError::VerifierUnavailable(reason),
            })?;
        let user = match self.find_user(&subject).await? {
            Some(user) if user.disabled => return Err(SignInError::AccountDisabled),
            Some(user) => user,
            None => {
                // The app hears the same as for a rejected token; the
                // operator learns why (Debug quotes any control characters).
                let subject: String = subject.chars().take(64).collect();
                tracing::info!(
                    ?subject,
                    "token exchange: the verified subject is not a user here"
                );
                return Err(SignInError::InvalidToken);
            }
        };

        let authorization = self.authorize(client, &scope).await?;
        let tokens = self
            .finish(client, authorization, &user, AMR_LEGACY_SESSION)
            .await?;
        tracing::info!(
            client_id = %client.client_id,
            subject = %user.id,
            "legacy session exchanged for tokens"
        );
        Ok((tokens, user.id))
    }

    /// The user a verified subject names, in the user directory.
    async fn find_user(&self, subject: &str) -> Result<Option<DirectoryUser>, SignInError> {
        Ok(self.directory.find_by_id(subject).await?)
    }

    /// Starts an authorization code flow at Hydra as the app's browser, up
    /// to Hydra's redirect to the login page.
    async fn authorize(
        &self,
        client: &HeadlessClient,
        scope: &str,
    ) -> Result<Authorization, SignInError> {
        Ok(self
            .hydra_public
            .authorize(&oauth_client(client), scope)
            .await?)
    }

    /// Signs `user` in on a started authorization: accepts the login (proved
    /// by `amr`) and the consent, follows Hydra's redirects to the client's
    /// redirect URI, and exchanges the code for the tokens.
    async fn finish(
        &self,
        client: &HeadlessClient,
        authorization: Authorization,
        user: &DirectoryUser,
        amr: &str,
    ) -> Result<Tokens, SignInError> {
        let oauth = oauth_client(client);
        let mut cookies = authorization.cookies.clone();
        let accepted = self
            .accept
            .login(
                LoginRef {
                    challenge: &authorization.login_challenge,
                    session_id: None,
                },
                user,
                false,
                amr,
            )
            .await?;
        let consent_challenge = self
            .hydra_public
            .follow_to_consent(&accepted.redirect_to, &mut cookies)
            .await?;
        let consent = self.hydra.consent_request(&consent_challenge).await?;
        if consent.subject != user.id || consent.client.client_id != client.client_id {
            return Err(SignInError::Inconsistent(
                "the consent request is for another user or client",
            ));
        }
        // The app is first-party (it is listed in [headless]): consent is
        // given, with the claims of the user just looked up.
        let granted = self.accept.consent_as(&consent, Some(user), false).await?;
        let code = self
            .hydra_public
            .follow_to_client(&granted.redirect_to, &mut cookies, &oauth, &authorization)
            .await?;
        let auth_method = &consent.client.token_endpoint_auth_method;
        Ok(self
            .hydra_public
            .exchange_code(&oauth, auth_method, &code, &authorization)
            .await?)
    }

    async fn consume(&self, id_hash: &[u8]) -> Result<bool, SignInError> {
        let id_hash = id_hash.to_vec();
        let now = self.otp.clock().now();
        Ok(self
            .store
            .run(move |conn| sessions::consume(conn, &id_hash, now))
            .await?)
    }
}

/// The scopes to ask Hydra for: the app's, when each is allowed for it,
/// else the client's configured ones.
fn resolve_scope(requested: Option<&str>, allowed: &str) -> Result<String, SignInError> {
    let allowed: Vec<&str> = allowed.split_whitespace().collect();
    let mut scopes: Vec<&str> = Vec::new();
    for scope in requested.unwrap_or_default().split_whitespace() {
        if !allowed.contains(&scope) {
            return Err(SignInError::InvalidScope(scope.chars().take(64).collect()));
        }
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    if scopes.is_empty() {
        scopes = allowed;
    }
    Ok(scopes.join(" "))
}

/// The session id is looked up by its hash, never stored as such.
fn hash_session_id(session_id: &str) -> Vec<u8> {
    Sha256::digest(session_id.as_bytes()).to_vec()
}

/// The app's client as Hydra knows it.
fn oauth_client(client: &HeadlessClient) -> OAuthClient<'_> {
    OAuthClient {
        client_id: &client.client_id,
        client_secret: client.client_secret.expose(),
        redirect_uri: &client.redirect_uri,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_checked_against_the_client() {
        let allowed = "openid offline_access profile";
        assert_eq!(resolve_scope(None, allowed).unwrap(), allowed);
        assert_eq!(resolve_scope(Some("  "), allowed).unwrap(), allowed);
        assert_eq!(
            resolve_scope(Some("openid profile openid"), allowed).unwrap(),
            "openid profile"
        );
        assert!(matches!(
            resolve_scope(Some("openid admin"), allowed),
            Err(SignInError::InvalidScope(s)) if s == "admin"
        ));
    }
}
