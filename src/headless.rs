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
//!   verifier ([`crate::legacy_session`]) names the user, then both halves
//!   above in one call.
//!
//! Hydra's public API is called on its own URL, not through gatehouse's
//! proxy: Hydra's redirects name its issuer (gatehouse's public URL), which
//! may be a TLS-terminating proxy this process cannot reach, and the detour
//! would buy nothing. So each redirect's origin is swapped for Hydra's before
//! it is followed, and `X-Forwarded-Proto` carries the public scheme as the
//! proxy sends it (without it an https Hydra refuses plain-http requests).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use crate::config::{Config, HeadlessClient};
use crate::directory::{Directory, DirectoryError, DirectoryUser};
use crate::domain::otp_code::OtpCodeError;
use crate::domain::phone::PhoneNumberError;
use crate::domain::{OtpCode, PhoneNumber};
use crate::hydra::{HydraClient, HydraError};
use crate::legacy_session::{LegacyToken, LegacyVerifier, VerifyError};
use crate::otp::{OtpError, OtpService};
use crate::signin::{self, SignInError};
use crate::sms::SmsError;
use crate::store::headless::{self as headless_store, Cookies, NewSession};
use crate::store::{random_hex, Store, StoreError};

/// Longest session id worth hashing; real ones are 64 hex characters.
const MAX_SESSION_ID_LEN: usize = 256;

/// How a token exchange proved the user (`amr`). RFC 8176 registers no
/// value for "signed in elsewhere"; custom values are allowed.
pub const AMR_LEGACY_SESSION: &str = "legacy_session";

#[derive(Debug, thiserror::Error)]
pub enum HeadlessError {
    #[error("the client may not use the headless API")]
    UnauthorizedClient,
    #[error("{0}")]
    InvalidPhone(#[from] PhoneNumberError),
    #[error("{0}")]
    MalformedCode(#[from] OtpCodeError),
    #[error("the scope `{0}` is not allowed for this client")]
    InvalidScope(String),
    #[error("wrong code; {attempts_left} tries left")]
    WrongCode { attempts_left: u32 },
    /// Too many wrong tries: the code, and with it the session, is dead.
    #[error("too many wrong codes")]
    CodeDead,
    #[error("the code has expired or was already used")]
    CodeExpired,
    #[error("unknown, used or expired session")]
    InvalidSession,
    #[error("too many codes requested; retry in {retry_after:?}")]
    Throttled { retry_after: Duration },
    #[error("the code could not be sent: {0}")]
    Sms(SmsError),
    #[error("this account is disabled")]
    AccountDisabled,
    /// `[headless.token_exchange] url` is not set.
    #[error("token exchange is not enabled")]
    ExchangeNotEnabled,
    #[error("the client may not exchange legacy tokens")]
    ExchangeNotAllowed,
    /// The verifier said no, or named no user of gatehouse.
    #[error("the legacy token was not accepted")]
    InvalidToken,
    #[error("the legacy-session verifier: {0}")]
    VerifierUnavailable(String),
    /// Hydra said no to a request built from gatehouse's configuration
    /// (client not registered, wrong secret or redirect URI, ...).
    #[error("Hydra refused the sign-in: {error}: {description}")]
    HydraRefused { error: String, description: String },
    #[error(transparent)]
    HydraAdmin(#[from] HydraError),
    /// Hydra's public API is down or answered something unexpected.
    #[error("Hydra's public API: {0}")]
    HydraPublic(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error("{0}")]
    Internal(String),
}

impl From<SignInError> for HeadlessError {
    fn from(error: SignInError) -> Self {
        match error {
            SignInError::Hydra(e) => e.into(),
            SignInError::Directory(e) => e.into(),
        }
    }
}

/// What the app gets from `request_otp`.
#[derive(Debug, Clone)]
pub struct Started {
    pub session_id: String,
    pub expires_in: Duration,
}

/// One authorization request gatehouse made at Hydra in the app's place:
/// the login challenge to answer, what the end of the flow must match
/// (state, nonce, PKCE verifier) and Hydra's cookies for the hops between.
struct Authorization {
    login_challenge: String,
    state: String,
    nonce: String,
    code_verifier: String,
    cookies: Cookies,
}

/// Hydra's token response, handed to the app as it is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Only with the `offline_access` scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    pub token_type: String,
    #[serde(default)]
    pub scope: String,
}

#[derive(Clone)]
pub struct HeadlessService {
    config: Arc<Config>,
    store: Store,
    directory: Directory,
    hydra: HydraClient,
    otp: OtpService,
    /// Set when token exchange is enabled.
    legacy: Option<LegacyVerifier>,
    /// Follows no redirects and keeps no cookies: every hop is done by hand.
    http: reqwest::Client,
    hydra_public: Url,
}

impl HeadlessService {
    pub fn new(
        config: Arc<Config>,
        store: Store,
        directory: Directory,
        hydra: HydraClient,
        otp: OtpService,
    ) -> HeadlessService {
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(15))
            .build()
            .expect("reqwest client with static settings");
        HeadlessService {
            hydra_public: config.hydra_public_url(),
            legacy: LegacyVerifier::from_config(&config.headless.token_exchange),
            config,
            store,
            directory,
            hydra,
            otp,
            http,
        }
    }

    /// Starts a sign-in: Hydra's login challenge, a code by SMS, a session.
    pub async fn request_otp(
        &self,
        phone: &str,
        client_id: &str,
        scope: Option<&str>,
        client_ip: IpAddr,
    ) -> Result<Started, HeadlessError> {
        let client = self
            .config
            .headless
            .client(client_id)
            .ok_or(HeadlessError::UnauthorizedClient)?;
        let phone = PhoneNumber::parse(phone, self.config.users.default_region)?;
        let scope = resolve_scope(scope, &client.scope)?;

        // Hydra first: if it is down, no SMS is paid for.
        let authorization = self.authorize(client, &scope).await?;

        self.otp
            .issue(&phone, Some(client_ip))
            .await
            .map_err(|error| match error {
                OtpError::Throttled { retry_after, .. } => HeadlessError::Throttled { retry_after },
                OtpError::Sms(e) => HeadlessError::Sms(e),
                OtpError::Store(e) => HeadlessError::Store(e),
                OtpError::Directory(e) => HeadlessError::Directory(e),
                other => HeadlessError::Internal(other.to_string()),
            })?;

        let session_id = random_hex(32);
        let now = self.otp.clock().now();
        let ttl = self.config.headless.session_ttl;
        {
            let id_hash = hash_session_id(&session_id);
            let client_id = client.client_id.clone();
            let phone = phone.clone();
            self.store
                .run(move |conn| {
                    headless_store::insert(
                        conn,
                        &NewSession {
                            id_hash: &id_hash,
                            client_id: &client_id,
                            phone: phone.as_str(),
                            state: &authorization.state,
                            nonce: &authorization.nonce,
                            code_verifier: &authorization.code_verifier,
                            login_challenge: &authorization.login_challenge,
                            cookies: &authorization.cookies,
                            created_at: now,
                            expires_at: now + ttl.as_secs() as i64,
                        },
                    )
                })
                .await?;
        }
        tracing::info!(client_id, phone = %phone.masked(), "headless sign-in started");
        Ok(Started {
            session_id,
            expires_in: ttl,
        })
    }

    /// Finishes a sign-in: checks the code, then drives Hydra to the tokens.
    pub async fn verify_otp(&self, session_id: &str, otp: &str) -> Result<Tokens, HeadlessError> {
        if session_id.is_empty() || session_id.len() > MAX_SESSION_ID_LEN {
            return Err(HeadlessError::InvalidSession);
        }
        let id_hash = hash_session_id(session_id);
        let now = self.otp.clock().now();
        let session = {
            let id_hash = id_hash.clone();
            self.store
                .run(move |conn| headless_store::find_live(conn, &id_hash, now))
                .await?
                .ok_or(HeadlessError::InvalidSession)?
        };
        let code = OtpCode::parse(otp, self.otp.code_length())?;
        // The configuration may have changed since the session started.
        let client = self
            .config
            .headless
            .client(&session.client_id)
            .ok_or(HeadlessError::UnauthorizedClient)?;
        let phone = PhoneNumber::from_trusted_e164(session.phone.clone());

        // The session is used up together with the code (one store trip):
        // whoever does so first goes on; everyone else is late.
        let use_session = {
            let id_hash = id_hash.clone();
            move |conn: &rusqlite::Connection| headless_store::consume(conn, &id_hash, now)
        };
        let user = match self.otp.verify_then(&phone, &code, use_session).await {
            Ok((user, true)) => user,
            Ok((_, false)) => return Err(HeadlessError::InvalidSession),
            Err(OtpError::WrongCode { attempts_left }) => {
                return Err(HeadlessError::WrongCode { attempts_left })
            }
            Err(OtpError::TooManyAttempts) => {
                // The code is dead, so is the session: the app starts again.
                self.consume(&id_hash).await?;
                return Err(HeadlessError::CodeDead);
            }
            // Also what the loser of two concurrent right answers sees; the
            // session stays for the winner to consume.
            Err(OtpError::Expired) => return Err(HeadlessError::CodeExpired),
            Err(OtpError::Disabled) => return Err(HeadlessError::AccountDisabled),
            Err(OtpError::Store(e)) => return Err(e.into()),
            Err(OtpError::Directory(e)) => return Err(e.into()),
            Err(other) => return Err(HeadlessError::Internal(other.to_string())),
        };

        let authorization = Authorization {
            login_challenge: session.login_challenge,
            state: session.state,
            nonce: session.nonce,
            code_verifier: session.code_verifier,
            cookies: session.cookies,
        };
        let tokens = self
            .finish(client, authorization, &user, signin::AMR_SMS)
            .await?;
        tracing::info!(
            client_id = %client.client_id,
            subject = %user.id,
            "headless sign-in finished"
        );
        Ok(tokens)
    }

    /// Trades a session of the existing system for tokens: its verifier
    /// names the user, then the flow goes on as after a verified code.
    pub async fn token_exchange(
        &self,
        legacy_token: &LegacyToken,
        client_id: &str,
        scope: Option<&str>,
    ) -> Result<Tokens, HeadlessError> {
        let verifier = self
            .legacy
            .as_ref()
            .ok_or(HeadlessError::ExchangeNotEnabled)?;
        let client = self
            .config
            .headless
            .client(client_id)
            .filter(|client| client.token_exchange)
            .ok_or(HeadlessError::ExchangeNotAllowed)?;
        let scope = resolve_scope(scope, &client.scope)?;
        if legacy_token.expose().is_empty() {
            return Err(HeadlessError::InvalidToken);
        }

        // The verifier before Hydra: a bad token costs no login request.
        let subject = verifier
            .verify(legacy_token)
            .await
            .map_err(|error| match error {
                VerifyError::Rejected => HeadlessError::InvalidToken,
                VerifyError::Unavailable(reason) => HeadlessError::VerifierUnavailable(reason),
            })?;
        let user = match self.find_user(&subject).await? {
            Some(user) if user.disabled => return Err(HeadlessError::AccountDisabled),
            Some(user) => user,
            None => {
                // The app hears the same as for a rejected token; the
                // operator learns why (Debug quotes any control characters).
                let subject: String = subject.chars().take(64).collect();
                tracing::info!(
                    ?subject,
                    "token exchange: the verified subject is not a user here"
                );
                return Err(HeadlessError::InvalidToken);
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
        Ok(tokens)
    }

    /// The user a verified subject names, in the user directory.
    async fn find_user(&self, subject: &str) -> Result<Option<DirectoryUser>, HeadlessError> {
        Ok(self.directory.find_by_id(subject).await?)
    }

    /// Starts an authorization code flow with PKCE at Hydra as the app's
    /// browser, up to Hydra's redirect to the login page.
    async fn authorize(
        &self,
        client: &HeadlessClient,
        scope: &str,
    ) -> Result<Authorization, HeadlessError> {
        let code_verifier = random_hex(32);
        let state = random_hex(16);
        let nonce = random_hex(16);
        let mut authorize = self.hydra_url(&["oauth2", "auth"]);
        authorize.query_pairs_mut().extend_pairs([
            ("response_type", "code"),
            ("client_id", client.client_id.as_str()),
            ("redirect_uri", client.redirect_uri.as_str()),
            ("scope", scope),
            ("state", state.as_str()),
            ("nonce", nonce.as_str()),
            ("code_challenge", pkce_challenge(&code_verifier).as_str()),
            ("code_challenge_method", "S256"),
        ]);
        let mut cookies = Cookies::new();
        let to_login = self.hop(&authorize, &mut cookies).await?;
        let login_challenge = query_param(&to_login, "login_challenge")
            .ok_or_else(|| unexpected_redirect(&to_login, "login_challenge"))?;
        Ok(Authorization {
            login_challenge,
            state,
            nonce,
            code_verifier,
            cookies,
        })
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
    ) -> Result<Tokens, HeadlessError> {
        let mut cookies = authorization.cookies;
        let accepted = signin::accept_login(
            &self.hydra,
            &self.config,
            &authorization.login_challenge,
            user,
            false,
            amr,
        )
        .await?;
        let to_consent = self
            .hop(&self.to_hydra(&accepted.redirect_to)?, &mut cookies)
            .await?;
        let consent_challenge = query_param(&to_consent, "consent_challenge")
            .ok_or_else(|| unexpected_redirect(&to_consent, "consent_challenge"))?;
        let consent = self.hydra.consent_request(&consent_challenge).await?;
        if consent.subject != user.id || consent.client.client_id != client.client_id {
            return Err(HeadlessError::Internal(
                "Hydra's consent request is for another user or client".into(),
            ));
        }
        // The app is first-party (it is listed in [headless]): consent is
        // given, with the claims of the user just looked up.
        let granted =
            signin::accept_consent_as(&self.hydra, &self.config, &consent, Some(user), false)
                .await?;
        let to_app = self
            .hop(&self.to_hydra(&granted.redirect_to)?, &mut cookies)
            .await?;
        if !same_endpoint(&to_app, &client.redirect_uri) {
            return Err(unexpected_redirect(&to_app, "the client's redirect_uri"));
        }
        let code =
            query_param(&to_app, "code").ok_or_else(|| unexpected_redirect(&to_app, "code"))?;
        if query_param(&to_app, "state").as_deref() != Some(authorization.state.as_str()) {
            return Err(HeadlessError::Internal(
                "Hydra's redirect carries another state".into(),
            ));
        }

        let tokens = self
            .exchange(
                client,
                &consent.client.token_endpoint_auth_method,
                &code,
                &authorization.code_verifier,
            )
            .await?;
        if let Some(id_token) = &tokens.id_token {
            if id_token_nonce(id_token).as_deref() != Some(authorization.nonce.as_str()) {
                return Err(HeadlessError::Internal(
                    "the id_token carries another nonce".into(),
                ));
            }
        }
        Ok(tokens)
    }

    async fn consume(&self, id_hash: &[u8]) -> Result<bool, HeadlessError> {
        let id_hash = id_hash.to_vec();
        let now = self.otp.clock().now();
        Ok(self
            .store
            .run(move |conn| headless_store::consume(conn, &id_hash, now))
            .await?)
    }

    /// Exchanges the authorization code, authenticating the way the client
    /// is registered in Hydra.
    async fn exchange(
        &self,
        client: &HeadlessClient,
        auth_method: &str,
        code: &str,
        code_verifier: &str,
    ) -> Result<Tokens, HeadlessError> {
        let url = self.hydra_url(&["oauth2", "token"]);
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", client.redirect_uri.as_str()),
            ("code_verifier", code_verifier),
        ];
        let mut request = self
            .http
            .post(url)
            .header("x-forwarded-proto", self.forwarded_proto());
        let secret = client.client_secret.expose();
        match auth_method {
            "client_secret_post" => {
                form.push(("client_id", &client.client_id));
                form.push(("client_secret", secret));
            }
            "none" => form.push(("client_id", &client.client_id)),
            // Hydra's default. RFC 6749 2.3.1: both parts are form-encoded
            // before they go into the Basic header.
            _ => {
                request =
                    request.basic_auth(form_encode(&client.client_id), Some(form_encode(secret)))
            }
        }
        let sent = async {
            let response = request.form(&form).send().await?;
            let status = response.status();
            Ok::<_, reqwest::Error>((status, response.bytes().await?))
        };
        let (status, body) = crate::metrics::upstream(sent)
            .await
            .map_err(|e| HeadlessError::HydraPublic(format!("POST /oauth2/token: {e}")))?;
        if status.is_client_error() {
            let error: Value = serde_json::from_slice(&body).unwrap_or_default();
            let text = |key: &str| error[key].as_str().unwrap_or_default().to_string();
            return Err(HeadlessError::HydraRefused {
                error: text("error"),
                description: text("error_description"),
            });
        }
        if !status.is_success() {
            return Err(HeadlessError::HydraPublic(format!(
                "POST /oauth2/token answered {status}"
            )));
        }
        serde_json::from_slice(&body).map_err(|e| {
            HeadlessError::HydraPublic(format!("POST /oauth2/token: unexpected answer: {e}"))
        })
    }

    /// GETs `url` on Hydra's public API as a browser would: sends `cookies`,
    /// keeps those Hydra sets, and returns where Hydra redirects (an OAuth2
    /// error in that redirect becomes [`HeadlessError::HydraRefused`]).
    async fn hop(&self, url: &Url, cookies: &mut Cookies) -> Result<Url, HeadlessError> {
        // Paths only in errors: the queries carry verifiers.
        let path = url.path();
        let mut request = self
            .http
            .get(url.clone())
            .header("x-forwarded-proto", self.forwarded_proto());
        if !cookies.is_empty() {
            request = request.header(COOKIE, cookie_header(cookies));
        }
        let response = crate::metrics::upstream(request.send())
            .await
            .map_err(|e| HeadlessError::HydraPublic(format!("GET {path}: {e}")))?;
        for value in response.headers().get_all(SET_COOKIE) {
            if let Ok(value) = value.to_str() {
                keep_cookie(cookies, value);
            }
        }
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|location| url.join(location).ok());
        let location = match location {
            Some(location) if status.is_redirection() => location,
            _ => {
                return Err(HeadlessError::HydraPublic(format!(
                    "GET {path} answered {status} without a redirect"
                )))
            }
        };
        if let Some(error) = query_param(&location, "error") {
            return Err(HeadlessError::HydraRefused {
                error,
                description: query_param(&location, "error_description").unwrap_or_default(),
            });
        }
        Ok(location)
    }

    /// Where to follow a redirect Hydra named: its own public URL as it is,
    /// its issuer (gatehouse's public URL) moved onto Hydra's public URL.
    /// Any other origin never gets Hydra's cookies.
    fn to_hydra(&self, redirect_to: &str) -> Result<Url, HeadlessError> {
        let url = Url::parse(redirect_to)
            .map_err(|e| HeadlessError::HydraPublic(format!("bad redirect from Hydra: {e}")))?;
        if url.origin() == self.hydra_public.origin() {
            return Ok(url);
        }
        if url.origin() != self.config.server.public_url.origin() {
            return Err(unexpected_redirect(&url, "Hydra's own URL"));
        }
        let mut target = self.hydra_public.clone();
        target.set_path(url.path());
        target.set_query(url.query());
        Ok(target)
    }

    /// Hydra's public URL with `segments` appended (keeping any base path).
    fn hydra_url(&self, segments: &[&str]) -> Url {
        let mut url = self.hydra_public.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// The scheme clients use, as the proxy tells Hydra.
    fn forwarded_proto(&self) -> &str {
        self.config.server.public_url.scheme()
    }
}

/// The scopes to ask Hydra for: the app's, when each is allowed for it,
/// else the client's configured ones.
fn resolve_scope(requested: Option<&str>, allowed: &str) -> Result<String, HeadlessError> {
    let allowed: Vec<&str> = allowed.split_whitespace().collect();
    let mut scopes: Vec<&str> = Vec::new();
    for scope in requested.unwrap_or_default().split_whitespace() {
        if !allowed.contains(&scope) {
            return Err(HeadlessError::InvalidScope(
                scope.chars().take(64).collect(),
            ));
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

/// RFC 7636 S256: BASE64URL(SHA256(verifier)).
fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// Same scheme, host, port and path: where the client's code is delivered.
fn same_endpoint(url: &Url, redirect_uri: &str) -> bool {
    Url::parse(redirect_uri).is_ok_and(|expected| {
        url.scheme() == expected.scheme()
            && url.host() == expected.host()
            && url.port_or_known_default() == expected.port_or_known_default()
            && url.path() == expected.path()
    })
}

fn unexpected_redirect(location: &Url, expected: &str) -> HeadlessError {
    HeadlessError::HydraPublic(format!(
        "Hydra redirected to {}{} instead of {expected}",
        location.origin().ascii_serialization(),
        location.path()
    ))
}

/// `name=value; name=value`, as a browser sends them.
fn cookie_header(cookies: &Cookies) -> String {
    cookies
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Applies one `Set-Cookie` to `cookies`. Only name and value matter: every
/// hop goes to the same Hydra, and attributes such as `Secure` are kept out
/// of the decision on purpose (over plain-http loopback a browser-like jar
/// would drop Hydra's Secure cookies and the flow would fail its CSRF check).
fn keep_cookie(cookies: &mut Cookies, set_cookie: &str) {
    let mut parts = set_cookie.split(';');
    let Some((name, value)) = parts.next().and_then(|pair| pair.split_once('=')) else {
        return;
    };
    let name = name.trim();
    if name.is_empty() {
        return;
    }
    let deleted = parts.any(|attribute| match attribute.trim().split_once('=') {
        Some((key, age)) if key.trim().eq_ignore_ascii_case("max-age") => {
            age.trim().parse::<i64>().is_ok_and(|age| age <= 0)
        }
        _ => false,
    });
    if deleted || value.trim().is_empty() {
        cookies.remove(name);
    } else {
        cookies.insert(name.to_string(), value.trim().to_string());
    }
}

fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The `nonce` claim of an id_token. The token comes straight from Hydra's
/// token endpoint, so its payload is read without checking the signature
/// (OIDC Core 3.1.3.7).
fn id_token_nonce(id_token: &str) -> Option<String> {
    let payload = id_token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims["nonce"].as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_matches_rfc_7636_example() {
        // RFC 7636 appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

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
            Err(HeadlessError::InvalidScope(s)) if s == "admin"
        ));
    }

    #[test]
    fn cookies_are_kept_replaced_and_deleted() {
        let mut cookies = Cookies::new();
        keep_cookie(
            &mut cookies,
            "ory_hydra_login_csrf_dev_123=abc==; Path=/; Expires=Mon, 01 Jan 2035 00:00:00 GMT; Max-Age=1800; HttpOnly; Secure; SameSite=Lax",
        );
        keep_cookie(&mut cookies, "other=1; Path=/");
        assert_eq!(cookies["ory_hydra_login_csrf_dev_123"], "abc==");
        keep_cookie(&mut cookies, "other=2");
        assert_eq!(cookies["other"], "2");
        keep_cookie(&mut cookies, "other=; Max-Age=0");
        keep_cookie(&mut cookies, "ory_hydra_login_csrf_dev_123=x; max-age=-1");
        assert!(cookies.is_empty(), "{cookies:?}");
        for garbage in ["", "=x", "novalue", ";;;"] {
            keep_cookie(&mut cookies, garbage);
        }
        assert!(cookies.is_empty(), "{cookies:?}");
        cookies.insert("a".into(), "1".into());
        cookies.insert("b".into(), "2".into());
        assert_eq!(cookie_header(&cookies), "a=1; b=2");
    }

    #[test]
    fn nonce_is_read_from_the_payload() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"u","nonce":"n-1"}"#);
        assert_eq!(
            id_token_nonce(&format!("h.{payload}.s")).as_deref(),
            Some("n-1")
        );
        for garbage in ["", "a", "a.!!!.c", "a.e30.c"] {
            assert_eq!(id_token_nonce(garbage), None, "{garbage}");
        }
    }

    #[test]
    fn redirect_endpoint_ignores_the_query_only() {
        let registered = "https://app.example/cb";
        let ok = Url::parse("https://app.example/cb?code=1&state=2").unwrap();
        let other_path = Url::parse("https://app.example/cb2?code=1").unwrap();
        let other_host = Url::parse("https://evil.example/cb?code=1").unwrap();
        assert!(same_endpoint(&ok, registered));
        assert!(!same_endpoint(&other_path, registered));
        assert!(!same_endpoint(&other_host, registered));
        // Native apps often register a private-use scheme (RFC 8252 7.1).
        let native = Url::parse("com.example.app:/oauth2?code=1&state=2").unwrap();
        assert!(same_endpoint(&native, "com.example.app:/oauth2"));
    }

    #[test]
    fn basic_credentials_are_form_encoded() {
        assert_eq!(form_encode("my app:1/é"), "my+app%3A1%2F%C3%A9");
    }
}
