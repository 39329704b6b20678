//! One-time code policy: issue, verify, abuse limits and sign-up rules.
//!
//! The rules (docs/ARCHITECTURE.md, "OTP policy"): codes come from the OS CSPRNG,
//! are stored only as a keyed hash, compared in constant time, used once,
//! allow a bounded number of wrong tries and expire. Sending is throttled per
//! phone and per client network, with counters kept in SQLite.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

mod clearance;
mod code;
mod delegated;
mod delivery;
mod limits;
mod pumping;
pub mod receipts;
pub(super) mod sealed;
mod text;

use crate::config::{Config, OtpConfig, ProofKind, Signup, SmsPolicy};
use crate::directory::{Directory, DirectoryError, DirectoryUser};
use crate::domain::{FlowId, OtpCode, PhoneNumber};
use crate::infra::clock::Clock;
use crate::infra::metrics::Metrics;
use crate::infra::random::random_hex;
use crate::sms::delegate::{CodeDelegate, DelegateError};
use crate::sms::SmsSender;
use crate::store::codes::{self, NewChallenge};
use crate::store::users;
use crate::store::{Db, Store, StoreError};
use clearance::free_send_limits;
pub use clearance::{Clearance, MISSING_PROOF};
use code::{generate_code, hash_code, use_code};
pub(crate) use delivery::backoff;
pub use delivery::{Delivery, DeliveryPolicy, DeliveryTask};
pub use limits::Limit;
use pumping::{country_key, Pumping};
use sealed::{QueuedMessage, SealingKey};
use text::MessageText;

#[derive(Debug, thiserror::Error)]
pub enum OtpError {
    #[error("too many codes requested ({limit:?}); retry in {retry_after:?}")]
    Throttled { limit: Limit, retry_after: Duration },
    /// `sms.policy.allowed_countries` does not list the number's country.
    #[error("codes are not sent to this country")]
    CountryNotServed,
    /// `sms.policy.allowed_number_types` does not list the line's type.
    #[error("codes are not sent to this kind of number")]
    NumberTypeNotServed,
    /// A cap of `[sms.policy]` (the instance's, a country's, an IPv6
    /// site's): the person is not told which, nor when it frees up.
    #[error("refused by sms.policy ({0:?})")]
    PolicyRefused(Limit),
    #[error("wrong code; {attempts_left} tries left")]
    WrongCode { attempts_left: u32 },
    #[error("too many wrong codes; request a new one")]
    TooManyAttempts,
    /// Expired, already used, replaced by a newer code, or never sent.
    #[error("the code has expired or was already used")]
    Expired,
    #[error("this account is disabled")]
    Disabled,
    /// No proof came with the request, and the free codes are used up.
    #[error("a bot challenge must be met first")]
    ProofRequired(ProofKind),
    /// The user directory could not say who the phone belongs to; nothing
    /// was sent or counted, so the person may simply try again.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// The code delegate (`otp.issuer`) could not send or check the code;
    /// nothing was counted, so the person may simply try again.
    #[error(transparent)]
    Delegate(#[from] DelegateError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the person is told after a code was (or seemed to be) sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCode {
    pub expires_in: Duration,
    /// When "send a new code" may be used again.
    pub resend_after: Duration,
}

/// What the answer does not say about whom a code went to: for the audit
/// trail, never for the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// Whose number it is, when it is someone's.
    pub subject: Option<String>,
    /// Why no message was queued, though the answer says one was: the
    /// number is no one's (closed sign-up) or its account is disabled.
    pub withheld: Option<&'static str>,
}

/// The settings the code policy follows: `[otp]`, `users.signup`, the
/// text of the message (`sms.template`, `sms.app_name`) and how hard to try
/// to deliver it (`sms.webhook`).
#[derive(Debug, Clone)]
pub struct OtpPolicy {
    pub codes: OtpConfig,
    pub signup: Signup,
    pub template: String,
    pub app_name: String,
    /// `sms.autofill_host`.
    pub autofill_host: Option<String>,
    pub delivery: DeliveryPolicy,
    /// `[sms.policy]`.
    pub pumping: SmsPolicy,
}

impl OtpPolicy {
    pub fn from_config(config: &Config) -> OtpPolicy {
        OtpPolicy {
            codes: config.otp.clone(),
            signup: config.users.signup,
            template: config.sms.template.clone(),
            app_name: config.sms.app_name.clone(),
            autofill_host: config.sms.autofill_host.clone(),
            delivery: DeliveryPolicy {
                max_attempts: config.sms.webhook.max_attempts,
                attempt_timeout: config.sms.attempt_timeout(),
            },
            pumping: config.sms.policy.clone(),
        }
    }
}

#[derive(Clone)]
pub struct OtpService {
    store: Store,
    directory: Directory,
    policy: OtpConfig,
    signup: Signup,
    template: Arc<MessageText>,
    key: Arc<[u8]>,
    clock: Clock,
    metrics: Metrics,
    pumping: Pumping,
    /// The outbox's worker, which this service queues messages for.
    delivery: Delivery,
    /// `otp.issuer`: the system that sends and checks the codes instead.
    delegate: Option<delegated::Delegated>,
}

impl OtpService {
    /// `key` is the server secret that keys the code hashes; codes and
    /// limits live in `store`, people in `directory`.
    pub fn new(
        store: Store,
        directory: Directory,
        sms: SmsSender,
        policy: OtpPolicy,
        key: &[u8],
        clock: Clock,
    ) -> OtpService {
        let delivery = Delivery {
            store: store.clone(),
            sms,
            key: SealingKey::derive(key),
            clock: clock.clone(),
            metrics: Metrics::default(),
            policy: policy.delivery,
            wake: Arc::default(),
            handoff: Arc::default(),
            poll_every: Duration::from_secs(1),
        };
        OtpService {
            store,
            directory,
            policy: policy.codes,
            signup: policy.signup,
            template: Arc::new(MessageText {
                template: policy.template,
                app_name: policy.app_name,
                autofill_host: policy.autofill_host,
            }),
            key: key.into(),
            clock,
            metrics: Metrics::default(),
            pumping: Pumping::new(policy.pumping),
            delivery,
            delegate: None,
        }
    }

    /// Codes made, sent and checked by `delegate` (`otp.issuer`); gatehouse's
    /// rules and limits still decide whether it is asked.
    pub fn with_delegate(mut self, delegate: Option<CodeDelegate>) -> OtpService {
        self.delegate = delegate.map(delegated::Delegated::new);
        self
    }

    /// Counts codes, verifications and throttling in `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> OtpService {
        self.delivery.sms = self.delivery.sms.clone().with_metrics(metrics.clone());
        self.delivery.metrics = metrics.clone();
        self.metrics = metrics;
        self
    }

    /// The worker that sends what this service queues; someone must
    /// [`Delivery::spawn`] it (start-up does) or no message goes out.
    pub fn delivery(&self) -> Delivery {
        self.delivery.clone()
    }

    pub fn code_length(&self) -> usize {
        usize::from(self.policy.length)
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Sends a new code to `phone`, replacing any previous one.
    ///
    /// With closed sign-up, an unknown (or disabled) phone gets the same
    /// answer and the same limits as a known one, but no message: the answer
    /// must not reveal who has an account.
    pub async fn issue(
        &self,
        flow: &FlowId,
        phone: &PhoneNumber,
        client_ip: Option<IpAddr>,
    ) -> Result<IssuedCode, OtpError> {
        self.issue_until(flow, phone, client_ip, None).await
    }

    /// Like [`OtpService::issue`], but the code dies no later than `deadline`
    /// (unix seconds): a code must not outlive the sign-in it belongs to.
    pub async fn issue_until(
        &self,
        flow: &FlowId,
        phone: &PhoneNumber,
        client_ip: Option<IpAddr>,
        deadline: Option<i64>,
    ) -> Result<IssuedCode, OtpError> {
        let issued = self
            .issue_cleared(flow, phone, client_ip, deadline, Clearance::Cleared)
            .await?;
        Ok(issued.0)
    }

    /// [`OtpService::issue_until`] after the bot challenge said
    /// `clearance`, and whom the code went to.
    pub async fn issue_cleared(
        &self,
        flow: &FlowId,
        phone: &PhoneNumber,
        client_ip: Option<IpAddr>,
        deadline: Option<i64>,
        clearance: Clearance,
    ) -> Result<(IssuedCode, Recipient), OtpError> {
        let now = self.clock.now();
        let line = phone.line();
        self.pumping.check_number(phone, &line, &self.metrics)?;
        let code = generate_code(self.policy.length);
        let challenge_id = random_hex(16);
        let code_hash = self.hash(&challenge_id, &code);
        let mut limits = limits::per_person(&self.policy, phone, client_ip);
        limits.extend(self.pumping.caps(&line, client_ip));
        if let Clearance::Unproven { free_sends, .. } = clearance {
            limits.extend(free_send_limits(Some(phone), client_ip, free_sends));
        }
        let ttl_end = now + self.policy.ttl.as_secs() as i64;
        let expires_at = deadline.map_or(ttl_end, |deadline| ttl_end.min(deadline));
        let max_attempts = self.policy.max_attempts;
        // Asked before anything is counted: an outage must not cost the
        // person one of their codes for the hour.
        let lookup = self.directory.phone_lookup(phone, &self.store).await?;
        let signup = self.signup;
        // Sealed for members and strangers alike, so both answers take the
        // same work; only a member's is queued.
        let sealed = self.seal(&challenge_id, phone, &code);
        let delegated = self.delegate.is_some();
        let handing = match delegated {
            false => self
                .delivery
                .reserve(now, &challenge_id, &sealed, expires_at),
            true => None,
        };
        let claimed_until = handing.as_ref().map(|handing| handing.claimed_until);
        let (withheld, subject, reported, counted) = {
            let (number, flow, pumping) = (phone.clone(), flow.clone(), self.pumping.clone());
            let challenge_id = challenge_id.clone();
            self.store
                .run(move |conn| {
                    let user = lookup.resolve(conn)?;
                    let withheld = match &user {
                        Some(user) if user.disabled => Some("account_disabled"),
                        Some(_) => None,
                        None if signup == Signup::Auto => None,
                        None => Some("unknown_number"),
                    };
                    let subject = user.map(|user| user.id);
                    limits.push(pumping.adaptive_cap(conn, &line, now)?);
                    let new = NewChallenge {
                        id: &challenge_id,
                        flow: flow.as_str(),
                        phone: number.as_str(),
                        code_hash: &code_hash,
                        created_at: now,
                        expires_at,
                        max_attempts,
                        // A delegate sends its own code: nothing for the outbox.
                        message: (withheld.is_none() && !delegated).then_some(sealed.as_slice()),
                        claimed_until,
                    };
                    let issued = codes::issue_challenge(conn, &new, &limits)?;
                    Ok(issued.map(|reported| (withheld, subject, reported, limits)))
                })
                .await?
                .map_err(|exceeded| self.refused(exceeded, phone, clearance))?
        };
        for limit in reported {
            self.pumping.report(limit.label(), phone, &self.metrics);
        }
        self.dispatch(withheld, &challenge_id, phone, now, counted, handing)
            .await?;
        let answer = IssuedCode {
            expires_in: Duration::from_secs((expires_at - now).max(0) as u64),
            resend_after: self.policy.resend_cooldown,
        };
        Ok((answer, Recipient { subject, withheld }))
    }

    /// A code just recorded goes out: to the delegate, or to the outbox's
    /// worker (`handing` it over, or waking it to claim it); nowhere when
    /// `withheld` says why not.
    async fn dispatch(
        &self,
        withheld: Option<&'static str>,
        challenge_id: &str,
        phone: &PhoneNumber,
        now: i64,
        counted: Vec<codes::WindowLimit<Limit>>,
        handing: Option<delivery::Handing>,
    ) -> Result<(), OtpError> {
        if withheld.is_some() {
            self.metrics.code("withheld");
            tracing::info!(phone = %phone.masked(), "no code sent: no such user or account disabled");
            if let Some(delegate) = &self.delegate {
                delegate.sends.imitate().await;
            }
        } else if let Some(delegate) = &self.delegate {
            self.delegate_send(delegate, challenge_id, phone, now, counted)
                .await?;
        } else {
            self.delivery.hand_over(handing);
        }
        Ok(())
    }

    /// Checks `code` against the phone's current code. On success the code is
    /// used up and the user returned (created first with `signup = "auto"`).
    pub async fn verify(
        &self,
        flow: &FlowId,
        phone: &PhoneNumber,
        code: &OtpCode,
    ) -> Result<DirectoryUser, OtpError> {
        let (user, ()) = self.verify_then(flow, phone, code, |_| Ok(())).await?;
        Ok(user)
    }

    /// [`OtpService::verify`], then `then` in the same trip to the store's
    /// thread, only when the code was right and used up (the caller's own
    /// bookkeeping of the sign-in).
    pub async fn verify_then<T, F>(
        &self,
        flow: &FlowId,
        phone: &PhoneNumber,
        code: &OtpCode,
        then: F,
    ) -> Result<(DirectoryUser, T), OtpError>
    where
        T: Send + 'static,
        F: FnOnce(&Db) -> Result<T, StoreError> + Send + 'static,
    {
        if let Some(delegate) = &self.delegate {
            let outcome = self
                .verify_delegated(delegate, flow, phone, code, then)
                .await;
            self.count_verification(&outcome);
            return outcome;
        }
        let now = self.clock.now();
        let key = self.key.clone();
        let signup = self.signup;
        // Asked before the code is touched: during an outage the code and
        // its tries stay as they were.
        let lookup = self.directory.phone_lookup(phone, &self.store).await?;
        let embedded = self.directory.is_embedded();
        let phone = phone.clone();
        let code = code.clone();
        let flow = flow.clone();
        let country = country_key(phone.line().country);
        let verified_in = country.clone();
        let outcome = self
            .store
            .run_atomically(move |conn| {
                let user = lookup.resolve(conn)?;
                if let Err(refused) = use_code(conn, &flow, &phone, &code, &key, now)? {
                    return Ok(Err(refused));
                }
                // The text reached a person: the adaptive ceiling's measure.
                codes::record_verified(conn, &country, now.div_euclid(86_400))?;
                let user = match signed_in_user(conn, user, &phone, embedded, signup, now)? {
                    Ok(user) => user,
                    Err(refused) => return Ok(Err(refused)),
                };
                Ok(Ok((user, then(conn)?)))
            })
            .await?;
        if outcome.is_ok() {
            self.metrics.sms_verified(&verified_in);
        }
        self.count_verification(&outcome);
        outcome
    }

    /// Counts a verification's outcome in the metrics.
    fn count_verification<T>(&self, outcome: &Result<T, OtpError>) {
        self.metrics.verification(match outcome {
            Ok(_) => "ok",
            Err(OtpError::WrongCode { .. }) => "wrong_code",
            Err(OtpError::TooManyAttempts) => "too_many_attempts",
            Err(OtpError::Expired) => "expired",
            Err(OtpError::Disabled) => "disabled",
            Err(OtpError::Throttled { .. }) => "locked",
            Err(_) => "error",
        });
    }

    /// The text message for `code`, sealed for the outbox.
    fn seal(&self, challenge_id: &str, phone: &PhoneNumber, code: &OtpCode) -> Vec<u8> {
        self.delivery.key.seal(
            challenge_id,
            &QueuedMessage {
                phone: phone.as_str().to_string(),
                code: code.digits().to_string(),
                text: self.template.render(code),
            },
        )
    }

    fn hash(&self, challenge_id: &str, code: &OtpCode) -> Vec<u8> {
        hash_code(&self.key, challenge_id, code)
    }
}

/// The person a right code signs in, on the store's thread: `user` as the
/// directory found them (their phone marked verified in gatehouse's own
/// table), or, with open sign-up, a new user of the embedded directory.
fn signed_in_user(
    conn: &Db,
    user: Option<DirectoryUser>,
    phone: &PhoneNumber,
    embedded: bool,
    signup: Signup,
    now: i64,
) -> Result<Result<DirectoryUser, OtpError>, StoreError> {
    Ok(Ok(match user {
        Some(user) if user.disabled => return Ok(Err(OtpError::Disabled)),
        Some(mut user) => {
            if embedded {
                users::mark_phone_verified(conn, &user.id, now)?;
            }
            user.phone_verified = true;
            user
        }
        // Only the embedded directory allows auto sign-up (config checks).
        None if signup == Signup::Auto && embedded => {
            users::find_or_create(conn, phone, now)?.into()
        }
        // Closed sign-up: no code was ever sent, so a match is a guess.
        None => return Ok(Err(OtpError::Expired)),
    }))
}
