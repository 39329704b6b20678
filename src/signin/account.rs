//! The account page's sign-in and the changes a person makes there to
//! their own methods. Gatehouse signs people in to its own page the way
//! any app does: it is a first-party OAuth2 client of its Hydra
//! ([`CLIENT_ID`], public, code flow with PKCE, redirect to
//! [`CALLBACK_PATH`], consent skipped), registered the first time the page
//! is used. The code is exchanged on the back channel (Hydra's token
//! endpoint, straight from Hydra: OIDC Core 3.1.3.7 lets a client trust
//! such an id_token without checking its signature) and the page's
//! session is a short-lived sealed cookie ([`AccountSession`]), never a
//! row: nothing to purge, and a stolen cookie dies in
//! [`SESSION_LIFETIME`]. Removing a method needs a sign-in of the last
//! [`REAUTH_WITHIN`] seconds (`prompt=login` asks for one).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use super::audit::{AuditTrail, Event};
use super::otp::sealed::SealingKey;
use crate::config::{LoginConfig, LoginMethod, SmsPolicy};
use crate::directory::{Directory, DirectoryError};
use crate::domain::{EventKind, Outcome, PhoneNumber, SignInMethod};
use crate::hydra::public::{Authorization, HydraPublic, OAuthClient, PublicError};
use crate::hydra::{HydraClient, HydraError, NewClient};
use crate::infra::clock::Clock;
use crate::infra::random::random_hex;
use crate::store::methods::{self, Method, MethodKind, Removal};
use crate::store::{Store, StoreError};

/// Gatehouse's own client in Hydra, for the account page.
pub const CLIENT_ID: &str = "gatehouse-account";
pub const CALLBACK_PATH: &str = "/account/callback";
/// How long the page's session lasts after its sign-in.
pub const SESSION_LIFETIME: i64 = 15 * 60;
/// How recent a sign-in must be to remove a method.
pub const REAUTH_WITHIN: i64 = 5 * 60;
/// How long a sign-in to the page may take.
const FLOW_LIFETIME: i64 = 10 * 60;
/// The longest name a method may be given.
pub const MAX_NAME: usize = 60;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Hydra(#[from] HydraError),
    #[error(transparent)]
    Public(#[from] PublicError),
    /// The callback does not belong to a sign-in this browser started.
    #[error("the sign-in to the account page is unknown or expired")]
    BadCallback,
    #[error("no such method")]
    NoSuchMethod,
    /// Removing it would leave the person no way to sign in.
    #[error("the last way to sign in cannot be removed")]
    LastWayIn,
    #[error("a name must be 1 to {MAX_NAME} characters")]
    BadName,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Directory(#[from] DirectoryError),
}

/// A signed-in browser on the account page (sealed in its cookie).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSession {
    /// Random: what the page's CSRF tokens are bound to.
    pub id: String,
    pub subject: String,
    /// When the person last proved themselves (the id_token's `auth_time`).
    pub auth_time: i64,
    pub expires_at: i64,
}

/// A sign-in to the page in progress (sealed in its own cookie).
#[derive(Debug, Serialize, Deserialize)]
struct Flow {
    state: String,
    nonce: String,
    verifier: String,
    expires_at: i64,
}

/// Where to send the browser to sign in, and the cookie that remembers it.
pub struct Started {
    pub url: String,
    pub flow_cookie: String,
}

#[derive(Clone)]
pub struct AccountService {
    hydra: HydraClient,
    public: HydraPublic,
    /// Gatehouse's public URL (where the callback is).
    issuer: Url,
    /// Where browsers reach Hydra's `/oauth2/auth`: gatehouse's public URL
    /// (its proxy) with a supervised Hydra, Hydra's public URL otherwise.
    hydra_for_browsers: Url,
    key: Arc<SealingKey>,
    store: Store,
    directory: Directory,
    clock: Clock,
    login: LoginConfig,
    sms_policy: SmsPolicy,
    audit: AuditTrail,
    registered: Arc<AtomicBool>,
}

/// What the service needs besides its own settings.
pub struct AccountParts {
    pub hydra: HydraClient,
    pub public: HydraPublic,
    pub issuer: Url,
    pub hydra_for_browsers: Url,
    pub server_key: Vec<u8>,
    pub store: Store,
    pub directory: Directory,
    pub clock: Clock,
    pub audit: AuditTrail,
}

impl AccountService {
    pub fn new(parts: AccountParts, login: LoginConfig, sms_policy: SmsPolicy) -> AccountService {
        AccountService {
            hydra: parts.hydra,
            public: parts.public,
            issuer: parts.issuer,
            hydra_for_browsers: parts.hydra_for_browsers,
            key: Arc::new(SealingKey::derive_for(
                &parts.server_key,
                b"gatehouse account page v1",
            )),
            store: parts.store,
            directory: parts.directory,
            clock: parts.clock,
            login,
            sms_policy,
            audit: parts.audit,
            registered: Arc::new(AtomicBool::new(false)),
        }
    }

    fn redirect_uri(&self) -> String {
        let mut url = self.issuer.clone();
        url.set_path(CALLBACK_PATH);
        url.to_string()
    }

    /// Registers gatehouse's client in Hydra, once (again when the public
    /// URL changed since).
    async fn ensure_client(&self) -> Result<(), AccountError> {
        if self.registered.load(Ordering::Relaxed) {
            return Ok(());
        }
        let redirect_uri = self.redirect_uri();
        match self.hydra.get_client(CLIENT_ID).await {
            Ok(client) if client.redirect_uris == [redirect_uri.clone()] => {}
            Ok(_) => {
                self.hydra.delete_client(CLIENT_ID).await?;
                self.create_client(redirect_uri).await?;
            }
            Err(HydraError::NotFound { .. }) => self.create_client(redirect_uri).await?,
            Err(error) => return Err(error.into()),
        }
        self.registered.store(true, Ordering::Relaxed);
        Ok(())
    }

    async fn create_client(&self, redirect_uri: String) -> Result<(), AccountError> {
        let client = NewClient {
            client_id: Some(CLIENT_ID.into()),
            client_name: "Your account".into(),
            redirect_uris: vec![redirect_uri],
            grant_types: vec!["authorization_code".into()],
            response_types: vec!["code".into()],
            scope: "openid".into(),
            token_endpoint_auth_method: "none".into(),
            skip_consent: true,
            ..NewClient::default()
        };
        match self.hydra.create_client(&client).await {
            // Another instance registered it first.
            Ok(_) | Err(HydraError::Conflict { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// Starts a sign-in to the page; `again`: ask for the person's proof
    /// even when Hydra remembers them (`prompt=login`).
    pub async fn start(&self, again: bool) -> Result<Started, AccountError> {
        self.ensure_client().await?;
        let flow = Flow {
            state: random_hex(16),
            nonce: random_hex(16),
            verifier: random_hex(32),
            expires_at: self.clock.now() + FLOW_LIFETIME,
        };
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(flow.verifier.as_bytes()));
        let mut url = self
            .hydra_for_browsers
            .join("oauth2/auth")
            .unwrap_or_else(|_| self.hydra_for_browsers.clone());
        url.query_pairs_mut().extend_pairs([
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", self.redirect_uri().as_str()),
            ("scope", "openid"),
            ("state", flow.state.as_str()),
            ("nonce", flow.nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ]);
        if again {
            url.query_pairs_mut().append_pair("prompt", "login");
        }
        Ok(Started {
            url: url.to_string(),
            flow_cookie: self.seal("flow", &flow),
        })
    }

    /// Finishes a sign-in to the page: the callback's `code` and `state`,
    /// with the flow cookie of the browser that started it. Returns the
    /// session and its sealed cookie value.
    pub async fn finish(
        &self,
        flow_cookie: Option<&str>,
        code: &str,
        state: &str,
    ) -> Result<(AccountSession, String), AccountError> {
        let now = self.clock.now();
        let flow: Flow = flow_cookie
            .and_then(|cookie| self.open("flow", cookie))
            .filter(|flow: &Flow| flow.expires_at > now && flow.state == state)
            .ok_or(AccountError::BadCallback)?;
        let redirect_uri = self.redirect_uri();
        let client = OAuthClient {
            client_id: CLIENT_ID,
            client_secret: "",
            redirect_uri: &redirect_uri,
        };
        let authorization = Authorization {
            login_challenge: String::new(),
            state: flow.state,
            nonce: flow.nonce,
            code_verifier: flow.verifier,
            cookies: Default::default(),
        };
        let tokens = self
            .public
            .exchange_code(&client, "none", code, &authorization)
            .await?;
        let claims = tokens
            .id_token
            .as_deref()
            .and_then(id_token_claims)
            .ok_or(AccountError::BadCallback)?;
        let subject = claims["sub"].as_str().ok_or(AccountError::BadCallback)?;
        let session = AccountSession {
            id: random_hex(16),
            subject: subject.to_string(),
            auth_time: claims["auth_time"].as_i64().unwrap_or(0),
            expires_at: now + SESSION_LIFETIME,
        };
        let sealed = self.seal("session", &session);
        Ok((session, sealed))
    }

    /// The session a cookie holds, while it lasts.
    pub fn session(&self, cookie: &str) -> Option<AccountSession> {
        let now = self.clock.now();
        self.open("session", cookie)
            .filter(|session: &AccountSession| session.expires_at > now)
    }

    /// Did the person prove themselves recently enough to remove a method?
    pub fn recent(&self, session: &AccountSession) -> bool {
        self.clock.now() - session.auth_time <= REAUTH_WITHIN
    }

    /// `subject`'s methods next to the text message.
    pub async fn methods(&self, subject: &str) -> Result<Vec<Method>, StoreError> {
        let owner = subject.to_string();
        self.store.run(move |db| methods::of(db, &owner)).await
    }

    /// Can `subject` sign in by text message? `login.methods` offers it,
    /// they have a number, and `[sms.policy]` (enforced) texts it.
    pub async fn texts_reach(&self, subject: &str) -> Result<Option<PhoneNumber>, AccountError> {
        if !self.login.offers(LoginMethod::Sms) {
            return Ok(None);
        }
        let user = self.directory.find_by_id(subject).await?;
        let phone = user
            .and_then(|user| user.phone)
            .and_then(|phone| PhoneNumber::parse(&phone, None).ok());
        Ok(phone.filter(|phone| self.sms_policy.reaches(&phone.line())))
    }

    /// Renames `subject`'s method `id`.
    pub async fn rename(&self, subject: &str, id: &str, name: &str) -> Result<(), AccountError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control)
        {
            return Err(AccountError::BadName);
        }
        let (owner, id, name) = (subject.to_string(), id.to_string(), name.to_string());
        let renamed = self
            .store
            .run(move |db| methods::rename(db, &owner, &id, &name))
            .await?;
        renamed.then_some(()).ok_or(AccountError::NoSuchMethod)
    }

    /// Removes `subject`'s method `id`, unless it is their last way in
    /// (texts count when they reach the person: [`Self::texts_reach`]).
    pub async fn remove(&self, subject: &str, id: &str) -> Result<MethodKind, AccountError> {
        let keep_one = self.texts_reach(subject).await?.is_none();
        let (owner, method) = (subject.to_string(), id.to_string());
        let removal = self
            .store
            .run(move |db| methods::remove(db, &owner, &method, keep_one))
            .await?;
        let kind = match removal {
            Removal::Removed(kind) => kind,
            Removal::NotFound => return Err(AccountError::NoSuchMethod),
            Removal::LastWayIn => return Err(AccountError::LastWayIn),
        };
        let event = Event::new(EventKind::MethodRemoved)
            .subject(subject)
            .method(sign_in_method(kind))
            .outcome(Outcome::Ok, "self_service");
        self.audit.record(event).await;
        Ok(kind)
    }

    fn seal<T: Serialize>(&self, purpose: &str, value: &T) -> String {
        let json = serde_json::to_vec(value).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(self.key.seal_bytes(purpose, &json))
    }

    fn open<T: for<'de> Deserialize<'de>>(&self, purpose: &str, cookie: &str) -> Option<T> {
        let sealed = URL_SAFE_NO_PAD.decode(cookie).ok()?;
        let json = self.key.open_bytes(purpose, &sealed)?;
        serde_json::from_slice(&json).ok()
    }
}

/// The audit trail's name for a method of `kind`.
pub fn sign_in_method(kind: MethodKind) -> SignInMethod {
    match kind {
        MethodKind::Totp => SignInMethod::Totp,
        MethodKind::Passkey => SignInMethod::Passkey,
    }
}

/// An id_token's claims, unchecked (it came straight from Hydra).
fn id_token_claims(id_token: &str) -> Option<Value> {
    let payload = id_token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}
