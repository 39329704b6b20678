//! The browser sign-in, as a service the login pages call: a login
//! challenge from Hydra, a code by SMS to the number the person typed, the
//! code checked, the login accepted. The handlers in `web/login.rs` only
//! parse the form and render what this returns.
//!
//! Each challenge is remembered ([`ChallengeMemory`]) so that a page can
//! say how long is left, a code never outlives its sign-in, and a double
//! submit lands where the first answer went.

use std::net::IpAddr;
use std::time::Duration;

use crate::domain::{Assurance, FlowId, OtpCode, PhoneNumber, SignInMethod};
use crate::hydra::{HydraClient, HydraError};
use crate::infra::metrics::Metrics;

use super::accept::{self, Acceptor, LoginRef};
use super::audit::{AuditTrail, Event};
use super::bot_challenge::{BotChallenge, Proof};
use super::challenges::ChallengeMemory;
use super::error::SignInError;
use super::login_requests::{Login, LoginRequests};
use super::methods::passkey::PasskeyError;
use super::methods::Methods;
use super::otp::{IssuedCode, OtpService};

/// What `GET /login` leads to.
pub enum Started {
    /// Hydra remembers this browser's sign-in: straight on, no page.
    Remembered { redirect_to: String },
    /// The number form, for this sign-in (or only the passkey, when the
    /// client asked for a phishing-resistant sign-in).
    Form(OpenLogin),
    /// The client asked for a passkey and this person (or this gatehouse)
    /// has none: the login is refused; the page says why and leads back.
    Refused { redirect_to: String },
}

/// What a form post finds: the challenge was answered already (double
/// submit, reload, back button), or is still open.
pub enum Resumed {
    Answered { redirect_to: String },
    Open(OpenLogin),
}

impl OpenLogin {
    /// The flow its codes belong to: the number typed in another sign-in
    /// can neither use nor burn them.
    fn flow(&self) -> FlowId {
        FlowId::browser(&self.challenge)
    }

    /// Did the client ask for a phishing-resistant sign-in (`acr_values`
    /// `phr` or `phrh`)? Then only a passkey signs in.
    pub fn passkey_only(&self) -> bool {
        self.required.is_some_and(Assurance::is_phishing_resistant)
    }

    /// The login to accept; its session's proof is kept when Hydra will
    /// remember the session (`remember`, or a remembered one stepping up):
    /// otherwise no later sign-in can find it.
    fn login_ref(&self, remember: bool) -> LoginRef<'_> {
        let kept = remember || self.step_up_subject.is_some();
        LoginRef {
            challenge: &self.challenge,
            session_id: self.session_id.as_deref().filter(|_| kept),
        }
    }

    /// Refuses a code sign-in when only a passkey will do.
    fn codes_allowed(&self) -> Result<(), SignInError> {
        if self.passkey_only() {
            return Err(SignInError::PasskeyRequired);
        }
        Ok(())
    }
}

/// A login challenge still waiting for its answer.
pub struct OpenLogin {
    pub challenge: String,
    /// The client's display name, or its id.
    pub client_name: String,
    pub client_id: String,
    /// `login_hint` from the client, if any.
    pub login_hint: String,
    /// The languages the app asked for (`ui_locales`), most wanted first.
    pub ui_locales: Vec<String>,
    /// Until the sign-in itself (Hydra's challenge) expires.
    pub time_left: Duration,
    /// Unix seconds when the challenge expires.
    deadline: i64,
    /// Hydra's login session id.
    session_id: Option<String>,
    /// The least level the client's `acr_values` accept.
    required: Option<Assurance>,
    /// A remembered session's person, who must step up to a passkey: no
    /// one else may sign in on this challenge.
    pub step_up_subject: Option<String>,
}

#[derive(Clone)]
pub struct BrowserSignIn {
    hydra: HydraClient,
    accept: Acceptor,
    otp: OtpService,
    methods: Methods,
    bot: BotChallenge,
    challenges: ChallengeMemory,
    requests: LoginRequests,
    metrics: Metrics,
    audit: AuditTrail,
}

/// Where a browser goes after a right code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedIn {
    /// Back to Hydra.
    Continue(String),
    /// First the offer to set up another method: the grant's token, for
    /// the browser to keep (it names where to go on).
    Offer { token: String },
}

impl BrowserSignIn {
    pub fn new(
        hydra: HydraClient,
        accept: Acceptor,
        otp: OtpService,
        methods: Methods,
        bot: BotChallenge,
        challenges: ChallengeMemory,
        metrics: Metrics,
    ) -> BrowserSignIn {
        let requests = LoginRequests::new(hydra.clone(), challenges.clone(), otp.clock().clone());
        BrowserSignIn {
            hydra,
            accept,
            otp,
            methods,
            bot,
            challenges,
            requests,
            metrics,
            audit: AuditTrail::default(),
        }
    }

    /// Records codes sent and sign-ins in `audit`.
    pub fn with_audit(mut self, audit: AuditTrail) -> BrowserSignIn {
        self.audit = audit;
        self
    }

    /// The code length the form asks for.
    pub fn code_length(&self) -> usize {
        self.otp.code_length()
    }

    /// Where the client started this sign-in, to offer starting again once
    /// the challenge has expired (known only for challenges seen before).
    pub async fn start_again_url(&self, challenge: &str) -> Option<String> {
        self.challenges.request_url(challenge).await
    }

    /// `GET /login`: a remembered sign-in is accepted at once (unless the
    /// user is gone or disabled, or the client asks for a passkey and the
    /// session was proved with less: then the person steps up); otherwise
    /// the form is shown.
    pub async fn start(&self, challenge: &str) -> Result<Started, ChallengeError> {
        let request = self.requests.fetch(challenge).await;
        let request = request.map_err(ChallengeError::Lookup)?;
        let login = self.open(challenge, &request);
        if request.skip {
            let session = request.session_id.as_deref();
            let proof = self.accept.session_proof(session, &request.subject).await?;
            let enough = !login.passkey_only() || proof.1 >= login.required;
            if enough {
                let accepted = self
                    .accept
                    .remembered_login(challenge, &request.subject, proof)
                    .await
                    .map(|redirect| (redirect, request.subject.clone()));
                let attempt = Event::sign_in(SignInMethod::Remembered).client(&request.client_id);
                let redirect = self.audit.signed_in(attempt, accepted).await?;
                self.answered(challenge, &redirect.redirect_to, "remembered")
                    .await;
                return Ok(Started::Remembered {
                    redirect_to: redirect.redirect_to,
                });
            }
        }
        if login.passkey_only() && !self.can_step_up(&login).await? {
            let required = login.required.unwrap_or(Assurance::Phr);
            let redirect = self.accept.refuse_level(challenge, required).await?;
            self.answered(challenge, &redirect.redirect_to, "refused")
                .await;
            let mut event = Event::sign_in(SignInMethod::Passkey)
                .client(&login.client_id)
                .failed(&SignInError::PasskeyRequired);
            if let Some(subject) = &login.step_up_subject {
                event = event.subject(subject);
            }
            self.audit.record(event).await;
            return Ok(Started::Refused {
                redirect_to: redirect.redirect_to,
            });
        }
        Ok(Started::Form(login))
    }

    /// Can the person of `login` sign in with a passkey at all: passkeys
    /// are offered, and a remembered person stepping up has one.
    async fn can_step_up(&self, login: &OpenLogin) -> Result<bool, SignInError> {
        let Some(passkeys) = &self.methods.passkey else {
            return Ok(false);
        };
        match &login.step_up_subject {
            Some(subject) => Ok(passkeys.has_passkey(subject).await?),
            None => Ok(true),
        }
    }

    /// A form post: the challenge as it stands.
    pub async fn resume(&self, challenge: &str) -> Result<Resumed, ChallengeError> {
        if let Some(redirect_to) = self.challenges.answer(challenge).await {
            return Ok(Resumed::Answered { redirect_to });
        }
        // The page's own request, when this instance showed it.
        let request = self.requests.get(challenge).await;
        let request = request.map_err(ChallengeError::Lookup)?;
        Ok(Resumed::Open(self.open(challenge, &request)))
    }

    /// The person cancelled: Hydra tells the client `access_denied`.
    pub async fn cancel(&self, login: &OpenLogin) -> Result<String, SignInError> {
        let redirect = self
            .hydra
            .reject_login(
                &login.challenge,
                &accept::access_denied("The person cancelled the sign-in."),
            )
            .await?;
        self.answered(&login.challenge, &redirect.redirect_to, "cancelled")
            .await;
        Ok(redirect.redirect_to)
    }

    /// Sends a code to `phone` for this sign-in, once `proof` meets the bot
    /// challenge; the code dies with the challenge.
    pub async fn send_code(
        &self,
        login: &OpenLogin,
        phone: &PhoneNumber,
        client_ip: IpAddr,
        proof: &Proof,
    ) -> Result<IssuedCode, SignInError> {
        let issued = async {
            login.codes_allowed()?;
            let clearance = self.bot.check(proof, phone, client_ip).await?;
            let (flow, ip, deadline) = (login.flow(), Some(client_ip), Some(login.deadline));
            Ok(self
                .otp
                .issue_cleared(&flow, phone, ip, deadline, clearance)
                .await?)
        }
        .await;
        let event = Event::code(&issued).phone(phone).client(&login.client_id);
        self.audit.record(event).await;
        issued.map(|(answer, _)| answer)
    }

    /// Checks the code; when right, accepts the login and returns where the
    /// browser goes next (first to the offer of another method, when it
    /// applies: a failure there costs the sign-in nothing).
    pub async fn verify_code(
        &self,
        login: &OpenLogin,
        phone: &PhoneNumber,
        code: &OtpCode,
        remember: bool,
    ) -> Result<SignedIn, SignInError> {
        let signed_in = self.sign_in(login, phone, code, remember).await;
        let subject = signed_in.as_ref().ok().map(|(_, subject)| subject.clone());
        let attempt = Event::sign_in(SignInMethod::Sms)
            .phone(phone)
            .client(&login.client_id);
        let redirect_to = self.audit.signed_in(attempt, signed_in).await?;
        let Some(subject) = subject else {
            return Ok(SignedIn::Continue(redirect_to));
        };
        match self
            .methods
            .offer_after_sign_in(&subject, &redirect_to)
            .await
        {
            Ok(Some(token)) => Ok(SignedIn::Offer { token }),
            Ok(None) => Ok(SignedIn::Continue(redirect_to)),
            Err(error) => {
                tracing::warn!(%error, "the offer of another sign-in method failed; going on");
                Ok(SignedIn::Continue(redirect_to))
            }
        }
    }

    /// Checks a passkey's answer to ceremony `id` of this sign-in; when it
    /// verifies, accepts the login (amr `hwk` or `swk`, and `user`) and
    /// returns where the browser goes next. No text is sent.
    pub async fn sign_in_with_passkey(
        &self,
        login: &OpenLogin,
        id: &str,
        credential: &str,
    ) -> Result<String, SignInError> {
        let signed_in = async {
            let Some(passkeys) = &self.methods.passkey else {
                return Err(PasskeyError::Refused("passkeys are not offered").into());
            };
            let verified = passkeys.finish_sign_in(&login.challenge, id, credential);
            let signed_in = verified.await.inspect_err(|_| {
                self.metrics.sign_in("browser", "failure");
            })?;
            let (user, amr) = (signed_in.user, signed_in.amr);
            if login
                .step_up_subject
                .as_ref()
                .is_some_and(|s| *s != user.id)
            {
                return Err(PasskeyError::Refused("not the remembered session's person").into());
            }
            if Assurance::of_amr(&amr) < login.required {
                return Err(PasskeyError::Refused("below the level the client asked for").into());
            }
            let accept = self
                .accept
                .login_amr(login.login_ref(false), &user, false, amr);
            let redirect = accept.await?;
            self.answered(&login.challenge, &redirect.redirect_to, "success")
                .await;
            Ok((redirect.redirect_to, user.id))
        }
        .await;
        let attempt = Event::sign_in(SignInMethod::Passkey).client(&login.client_id);
        self.audit.signed_in(attempt, signed_in).await
    }

    /// Checks a code from an authenticator app of the person `phone`
    /// belongs to, instead of a text; when right, accepts the login (amr
    /// `otp`) and returns where the browser goes next.
    pub async fn verify_app_code(
        &self,
        login: &OpenLogin,
        phone: &PhoneNumber,
        code: &OtpCode,
        remember: bool,
    ) -> Result<String, SignInError> {
        let signed_in = async {
            login.codes_allowed()?;
            let flow = login.flow();
            let verified = self.methods.totp.verify(&flow, phone, code.digits());
            let user = verified.await.inspect_err(|_| {
                self.metrics.sign_in("browser", "failure");
            })?;
            let redirect = self
                .accept
                .login(login.login_ref(remember), &user, remember, accept::AMR_TOTP)
                .await?;
            self.answered(&login.challenge, &redirect.redirect_to, "success")
                .await;
            Ok((redirect.redirect_to, user.id))
        }
        .await;
        let attempt = Event::sign_in(SignInMethod::Totp)
            .phone(phone)
            .client(&login.client_id);
        self.audit.signed_in(attempt, signed_in).await
    }

    /// [`BrowserSignIn::verify_code`]'s work: where the browser goes, and who
    /// signed in.
    async fn sign_in(
        &self,
        login: &OpenLogin,
        phone: &PhoneNumber,
        code: &OtpCode,
        remember: bool,
    ) -> Result<(String, String), SignInError> {
        login.codes_allowed()?;
        let user = match self.otp.verify(&login.flow(), phone, code).await {
            Ok(user) => user,
            Err(error) => {
                self.metrics.sign_in("browser", "failure");
                return Err(error.into());
            }
        };
        let redirect = self
            .accept
            .login(login.login_ref(remember), &user, remember, accept::AMR_SMS)
            .await?;
        self.answered(&login.challenge, &redirect.redirect_to, "success")
            .await;
        Ok((redirect.redirect_to, user.id))
    }

    fn open(&self, challenge: &str, request: &Login) -> OpenLogin {
        let (now, deadline) = (self.otp.clock().now(), request.deadline);
        OpenLogin {
            challenge: challenge.to_string(),
            client_name: request.client_name.clone(),
            client_id: request.client_id.clone(),
            login_hint: request.login_hint.clone().unwrap_or_default(),
            ui_locales: request.ui_locales.clone(),
            time_left: Duration::from_secs((deadline - now).max(0) as u64),
            deadline,
            required: Assurance::required_by(&request.acr_values),
            step_up_subject: request.skip.then(|| request.subject.clone()),
            session_id: request.session_id.clone(),
        }
    }

    /// Remembers the answer for a double submit, and counts the outcome.
    async fn answered(&self, challenge: &str, redirect_to: &str, result: &'static str) {
        self.challenges
            .remember_answer(challenge, redirect_to)
            .await;
        self.metrics.sign_in("browser", result);
    }
}

/// Why a login challenge could not be taken up.
#[derive(Debug, thiserror::Error)]
pub enum ChallengeError {
    /// Hydra could not give the challenge: expired, unknown, or Hydra down.
    /// (An expired one seen before can be started again.)
    #[error(transparent)]
    Lookup(HydraError),
    /// A later step failed (a remembered login's accept).
    #[error(transparent)]
    SignIn(#[from] SignInError),
}

impl From<HydraError> for ChallengeError {
    fn from(error: HydraError) -> Self {
        ChallengeError::SignIn(error.into())
    }
}
