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
mod delivery;
mod sealed;

use crate::config::{Config, OtpConfig, ProofKind, Signup};
use crate::directory::{Directory, DirectoryError, DirectoryUser};
use crate::domain::{FlowId, OtpCode, PhoneNumber};
use crate::infra::clock::Clock;
use crate::infra::metrics::Metrics;
use crate::infra::random::random_hex;
use crate::sms::{self, SmsSender};
use crate::store::codes::{self, NewChallenge, WindowLimit};
use crate::store::users;
use crate::store::{Db, Store, StoreError};
use clearance::free_send_limits;
pub use clearance::{Clearance, MISSING_PROOF};
use code::{generate_code, hash_code, use_code};
pub use delivery::{Delivery, DeliveryPolicy, DeliveryTask};
use sealed::{QueuedMessage, SealingKey};

/// Which abuse limit stopped a code from being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// A code was sent to this phone moments ago.
    ResendCooldown,
    PhonePerHour,
    IpPerHour,
    /// Too many wrong codes for this phone, across all flows, this hour.
    FailuresPerHour,
    /// The codes a number or a network gets without a bot challenge are
    /// used up: never answered as throttling, but as
    /// [`OtpError::ProofRequired`].
    FreeSends,
}

impl Limit {
    /// The metrics label.
    pub fn label(self) -> &'static str {
        match self {
            Limit::ResendCooldown => "resend_cooldown",
            Limit::PhonePerHour => "phone_per_hour",
            Limit::IpPerHour => "ip_per_hour",
            Limit::FailuresPerHour => "failures_per_hour",
            Limit::FreeSends => "free_sends",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OtpError {
    #[error("too many codes requested ({limit:?}); retry in {retry_after:?}")]
    Throttled { limit: Limit, retry_after: Duration },
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

/// The settings the code policy follows: `[otp]`, `users.signup`, the
/// text of the message (`sms.template`, `sms.app_name`) and how hard to try
/// to deliver it (`sms.webhook`).
#[derive(Debug, Clone)]
pub struct OtpPolicy {
    pub codes: OtpConfig,
    pub signup: Signup,
    pub template: String,
    pub app_name: String,
    pub delivery: DeliveryPolicy,
}

impl OtpPolicy {
    pub fn from_config(config: &Config) -> OtpPolicy {
        OtpPolicy {
            codes: config.otp.clone(),
            signup: config.users.signup,
            template: config.sms.template.clone(),
            app_name: config.sms.app_name.clone(),
            delivery: DeliveryPolicy {
                max_attempts: config.sms.webhook.max_attempts,
                attempt_timeout: config.sms.webhook.timeout,
            },
        }
    }
}

#[derive(Clone)]
pub struct OtpService {
    store: Store,
    directory: Directory,
    policy: OtpConfig,
    signup: Signup,
    template: Arc<(String, String)>,
    key: Arc<[u8]>,
    clock: Clock,
    metrics: Metrics,
    /// The outbox's worker, which this service queues messages for.
    delivery: Delivery,
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
            poll_every: Duration::from_secs(1),
        };
        OtpService {
            store,
            directory,
            policy: policy.codes,
            signup: policy.signup,
            template: Arc::new((policy.template, policy.app_name)),
            key: key.into(),
            clock,
            metrics: Metrics::default(),
            delivery,
        }
    }

    /// Counts codes, verifications and throttling in `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> OtpService {
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
        self.issue_cleared(flow, phone, client_ip, deadline, Clearance::Cleared)
            .await
    }

    /// [`OtpService::issue_until`] after the bot challenge said `clearance`.
    pub async fn issue_cleared(
        &self,
        flow: &FlowId,
        phone: &PhoneNumber,
        client_ip: Option<IpAddr>,
        deadline: Option<i64>,
        clearance: Clearance,
    ) -> Result<IssuedCode, OtpError> {
        let now = self.clock.now();
        let code = generate_code(self.policy.length);
        let challenge_id = random_hex(16);
        let code_hash = self.hash(&challenge_id, &code);
        let mut limits = self.limits(phone, client_ip);
        if let Clearance::Unproven { free_sends, .. } = clearance {
            limits.extend(free_send_limits(Some(phone), client_ip, free_sends));
        }
        let mut expires_at = now + self.policy.ttl.as_secs() as i64;
        if let Some(deadline) = deadline {
            expires_at = expires_at.min(deadline);
        }
        let max_attempts = self.policy.max_attempts;
        // Asked before anything is counted: an outage must not cost the
        // person one of their codes for the hour.
        let lookup = self.directory.phone_lookup(phone, &self.store).await?;
        let signup = self.signup;

        // Sealed for members and strangers alike, so both answers take the
        // same work; only a member's is queued.
        let sealed = self.delivery.key.seal(
            &challenge_id,
            &QueuedMessage {
                phone: phone.as_str().to_string(),
                code: code.digits().to_string(),
                text: sms::render(&self.template.0, &self.template.1, &code),
            },
        );
        let queued = {
            let phone = phone.clone();
            let flow = flow.clone();
            self.store
                .run(move |conn| {
                    let deliver = match lookup.resolve(conn)? {
                        Some(user) => !user.disabled,
                        None => signup == Signup::Auto,
                    };
                    let new = NewChallenge {
                        id: &challenge_id,
                        flow: flow.as_str(),
                        phone: phone.as_str(),
                        code_hash: &code_hash,
                        created_at: now,
                        expires_at,
                        max_attempts,
                        message: deliver.then_some(sealed.as_slice()),
                    };
                    let issued = codes::issue_challenge(conn, &new, &limits)?;
                    Ok(issued.map(|()| deliver))
                })
                .await?
        };
        let queued = queued.map_err(|exceeded| self.refused(exceeded, phone, clearance))?;
        if queued {
            self.delivery.wake.notify_one();
        } else {
            self.metrics.code("withheld");
            tracing::info!(phone = %phone.masked(), "no code sent: no such user or account disabled");
        }
        Ok(IssuedCode {
            expires_in: Duration::from_secs((expires_at - now).max(0) as u64),
            resend_after: self.policy.resend_cooldown,
        })
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
        let outcome = self
            .store
            .run(move |conn| {
                let user = lookup.resolve(conn)?;
                if let Err(refused) = use_code(conn, &flow, &phone, &code, &key, now)? {
                    return Ok(Err(refused));
                }
                let user = match user {
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
                        users::find_or_create(conn, &phone, now)?.into()
                    }
                    // Closed sign-up: no code was ever sent, so a match is a guess.
                    None => return Ok(Err(OtpError::Expired)),
                };
                Ok(Ok((user, then(conn)?)))
            })
            .await?;
        self.metrics.verification(match &outcome {
            Ok(_) => "ok",
            Err(OtpError::WrongCode { .. }) => "wrong_code",
            Err(OtpError::TooManyAttempts) => "too_many_attempts",
            Err(OtpError::Expired) => "expired",
            Err(OtpError::Disabled) => "disabled",
            Err(OtpError::Throttled { .. }) => "locked",
            Err(_) => "error",
        });
        outcome
    }

    fn hash(&self, challenge_id: &str, code: &OtpCode) -> Vec<u8> {
        hash_code(&self.key, challenge_id, code)
    }

    fn limits(&self, phone: &PhoneNumber, client_ip: Option<IpAddr>) -> Vec<WindowLimit<Limit>> {
        let mut limits = vec![
            WindowLimit {
                name: Limit::ResendCooldown,
                kind: "phone",
                key: phone.as_str().to_string(),
                window: self.policy.resend_cooldown.as_secs() as i64,
                max: 1,
            },
            WindowLimit {
                name: Limit::PhonePerHour,
                kind: "phone",
                key: phone.as_str().to_string(),
                window: 3600,
                max: self.policy.max_per_phone_per_hour,
            },
        ];
        if let Some(ip) = client_ip {
            limits.push(WindowLimit {
                name: Limit::IpPerHour,
                kind: "ip",
                key: network_key(ip),
                window: 3600,
                max: self.policy.max_per_ip_per_hour,
            });
        }
        limits.retain(|limit| limit.window > 0);
        limits
    }
}

/// The key an address is throttled under: IPv4 per address, IPv6 per /64,
/// since one IPv6 host commonly owns a whole /64.
fn network_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_is_throttled_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(network_key(a), network_key(b));
        assert_ne!(network_key(a), network_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(network_key(mapped), "192.0.2.7");
    }
}
