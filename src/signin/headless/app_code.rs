//! The headless sign-in with a code from an authenticator app (TOTP)
//! instead of a text: `start_app_code` is `request_otp` without the text
//! (the bot challenge still comes first: no login request at Hydra for a
//! bot), `verify_app_code` is `verify_otp` with the app's code. The same
//! limits as the browser's app codes hold: `otp.max_attempts` wrong codes
//! per session (then the session is used up), 100 an hour per number, a
//! code once per time step.

use std::net::IpAddr;

use super::{hash_session_id, resolve_scope, HeadlessService, Started};
use crate::config::HeadlessClient;
use crate::domain::{FlowId, OtpCode, PhoneNumber, SignInMethod};
use crate::hydra::public::Tokens;
use crate::infra::random::random_hex;
use crate::signin::accept;
use crate::signin::audit::Event;
use crate::signin::bot_challenge::Proof;
use crate::signin::error::SignInError;
use crate::signin::methods::totp::{self, TotpService};

impl HeadlessService {
    /// Offers the app-code step (when `login.methods` has `"totp"`).
    pub fn with_totp(mut self, totp: TotpService) -> HeadlessService {
        self.totp = Some(totp);
        self
    }

    /// Is the app-code step offered?
    pub fn offers_app_codes(&self) -> bool {
        self.totp.is_some()
    }

    /// Starts a sign-in for `client` whose code will come from the
    /// person's authenticator app: the bot challenge, Hydra's login
    /// challenge, a session; no text.
    pub async fn start_app_code(
        &self,
        client: &HeadlessClient,
        phone: &PhoneNumber,
        scope: Option<&str>,
        client_ip: IpAddr,
        proof: &Proof,
    ) -> Result<Started, SignInError> {
        if self.totp.is_none() {
            return Err(SignInError::UnauthorizedClient);
        }
        let scope = resolve_scope(scope, &client.scope)?;
        // The clearance is for texts; none is sent.
        self.bot.check(proof, phone, client_ip).await?;
        let authorization = self.authorize(client, &scope).await?;
        let session_id = random_hex(32);
        let id_hash = hash_session_id(&session_id);
        let started = self
            .save_session(client, phone, &id_hash, authorization)
            .await?;
        tracing::info!(client_id = %client.client_id, phone = %phone.masked(), "headless app-code sign-in started");
        Ok(Started {
            session_id,
            ..started
        })
    }

    /// Finishes a sign-in with a code from the person's app.
    pub async fn verify_app_code(
        &self,
        session_id: &str,
        code: &str,
    ) -> Result<Tokens, SignInError> {
        let mut attempt = Event::sign_in(SignInMethod::Totp);
        let finished = self
            .verify_app_session(session_id, code, &mut attempt)
            .await;
        self.audit.signed_in(attempt, finished).await
    }

    async fn verify_app_session(
        &self,
        session_id: &str,
        code: &str,
        event: &mut Event,
    ) -> Result<(Tokens, String), SignInError> {
        let totp = self.totp.as_ref().ok_or(SignInError::UnauthorizedClient)?;
        let (session, id_hash, phone) = self.live_session(session_id, event).await?;
        let code = OtpCode::parse(code, totp::DIGITS)?;
        let client = self.client(&session.client_id)?;
        let flow = FlowId::headless(&id_hash);
        let user = match totp.verify(&flow, &phone, code.digits()).await {
            Ok(user) => user,
            Err(error) => match SignInError::from(error) {
                SignInError::CodeDead => {
                    // Too many wrong codes: the session is dead too.
                    self.consume(&id_hash).await?;
                    return Err(SignInError::CodeDead);
                }
                other => return Err(other),
            },
        };
        // The step is taken once; the session too: whoever is first goes on.
        if !self.consume(&id_hash).await? {
            return Err(SignInError::InvalidSession);
        }
        self.complete(client, session, &user, accept::AMR_TOTP)
            .await
    }
}
