//! The bot challenge before any code is sent (`[bot_challenge]`): a proof
//! that a person, not a script, asks for the text message gatehouse pays for.
//!
//! - `proof_of_work` ([`pow`]): a SHA-256 puzzle gatehouse signs and checks
//!   itself; a used solution is remembered in the database until its
//!   challenge expires, so it cannot be used twice, restarts included.
//! - `turnstile`, `hcaptcha` ([`captcha`]): the provider's widget, its
//!   token checked at the provider; no answer is a refusal.
//!
//! With `apply = "after_limit"` a client without a proof still gets
//! `free_sends` codes an hour per number and per network: the send counts
//! them ([`Clearance::Unproven`]). Every refusal looks the same to the
//! client ([`SignInError::BotChallenge`]); the log line and
//! `gatehouse_sms_refused_total{rule}` say which check failed.

pub mod captcha;
pub mod pow;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{
    BotChallengeConfig, BotChallengeKind, CaptchaProvider, ChallengeApply, ProofKind,
};
use crate::domain::PhoneNumber;
use crate::infra::metrics::Metrics;
use crate::store::{proofs, Db, Store, StoreError};

use super::error::SignInError;
use super::otp::{Clearance, OtpService};
use captcha::{CaptchaFailure, CaptchaVerifier};
use pow::{PowChallenge, PowFailure, PowKey};

/// What a client sent to meet the challenge; only the field its kind asks
/// for is read.
#[derive(Debug, Clone, Default)]
pub struct Proof {
    pub pow_solution: Option<String>,
    pub captcha_token: Option<String>,
}

/// What a page or an app must do before a code is sent.
#[derive(Debug, Clone)]
pub enum Offer {
    ProofOfWork(PowChallenge),
    Captcha {
        provider: CaptchaProvider,
        site_key: String,
    },
}

/// Why a proof was not taken: the log's and the metric's business only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Missing,
    Invalid,
    Expired,
    Reused,
    /// The captcha provider said no.
    Rejected,
    /// The captcha provider gave no answer (fail closed).
    Unavailable,
}

impl Refusal {
    /// The `rule` label of `gatehouse_sms_refused_total`.
    fn rule(self) -> &'static str {
        match self {
            Refusal::Missing => super::otp::MISSING_PROOF,
            Refusal::Invalid => "bot_challenge_invalid",
            Refusal::Expired => "bot_challenge_expired",
            Refusal::Reused => "bot_challenge_reused",
            Refusal::Rejected => "bot_challenge_rejected",
            Refusal::Unavailable => "bot_challenge_unavailable",
        }
    }
}

/// How proofs are checked.
enum Checker {
    Off,
    ProofOfWork(PowKey),
    Captcha(CaptchaVerifier, String),
}

#[derive(Clone)]
pub struct BotChallenge {
    checker: Arc<Checker>,
    apply: ChallengeApply,
    free_sends: u32,
    difficulty: u8,
    ttl: Duration,
    /// Remembers the used proofs.
    store: Store,
    otp: OtpService,
    metrics: Metrics,
}

impl BotChallenge {
    /// `server_key` signs the proof-of-work challenges, `store` remembers
    /// the used ones, and `otp` counts the codes (for `after_limit`).
    pub fn new(
        config: &BotChallengeConfig,
        server_key: &[u8],
        store: Store,
        otp: OtpService,
    ) -> BotChallenge {
        let checker = match &config.kind {
            BotChallengeKind::Off => Checker::Off,
            BotChallengeKind::ProofOfWork => Checker::ProofOfWork(PowKey::derive(server_key)),
            BotChallengeKind::Captcha(captcha) => {
                Checker::Captcha(CaptchaVerifier::new(captcha), captcha.site_key.clone())
            }
        };
        BotChallenge {
            checker: Arc::new(checker),
            apply: config.apply,
            free_sends: config.free_sends,
            difficulty: config.difficulty,
            ttl: config.ttl,
            store,
            otp,
            metrics: Metrics::default(),
        }
    }

    /// Counts refusals in `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> BotChallenge {
        self.metrics = metrics;
        self
    }

    /// The proof a client must send, or None when the challenge is off.
    pub fn kind(&self) -> Option<ProofKind> {
        match &*self.checker {
            Checker::Off => None,
            Checker::ProofOfWork(_) => Some(ProofKind::ProofOfWork),
            Checker::Captcha(..) => Some(ProofKind::Captcha),
        }
    }

    pub fn apply(&self) -> ChallengeApply {
        self.apply
    }

    /// A fresh challenge (or the widget to show), needed or not; None when
    /// the challenge is off.
    pub fn fresh(&self) -> Option<Offer> {
        match &*self.checker {
            Checker::Off => None,
            Checker::ProofOfWork(key) => Some(Offer::ProofOfWork(key.issue(
                self.otp.clock().now(),
                self.ttl,
                self.difficulty,
            ))),
            Checker::Captcha(verifier, site_key) => Some(Offer::Captcha {
                provider: verifier.provider(),
                site_key: site_key.clone(),
            }),
        }
    }

    /// What a page shows a client at `client_ip` about to ask for a code (to
    /// `phone`, when known): the challenge when it will be asked, else
    /// nothing. When the count cannot be read it is shown.
    pub async fn offer(&self, client_ip: IpAddr, phone: Option<&PhoneNumber>) -> Option<Offer> {
        self.kind()?;
        if self.apply == ChallengeApply::AfterLimit {
            let used = self.otp.free_sends_used(phone, client_ip, self.free_sends);
            match used.await {
                Ok(false) => return None,
                Ok(true) => {}
                Err(error) => {
                    tracing::warn!(%error, "cannot count codes; showing the bot challenge")
                }
            }
        }
        self.fresh()
    }

    /// Checks `proof` from `client_ip` before a code goes to `phone`: Ok
    /// says what the send itself must still count; a refusal is logged and
    /// counted here and told the client as [`SignInError::BotChallenge`].
    pub async fn check(
        &self,
        proof: &Proof,
        phone: &PhoneNumber,
        client_ip: IpAddr,
    ) -> Result<Clearance, SignInError> {
        let Some(kind) = self.kind() else {
            return Ok(Clearance::Cleared);
        };
        let answer = match kind {
            ProofKind::ProofOfWork => proof.pow_solution.as_deref(),
            ProofKind::Captcha => proof.captcha_token.as_deref(),
        };
        let refusal = match answer.map(str::trim).filter(|a| !a.is_empty()) {
            None if self.apply == ChallengeApply::AfterLimit => {
                return Ok(Clearance::Unproven {
                    free_sends: self.free_sends,
                    kind,
                })
            }
            None => Refusal::Missing,
            Some(answer) => match self.verify(answer, client_ip).await? {
                Ok(()) => return Ok(Clearance::Cleared),
                Err(refusal) => refusal,
            },
        };
        self.metrics.sms_refused(refusal.rule(), true);
        tracing::info!(rule = refusal.rule(), phone = %phone.masked(), "no code sent: the bot challenge was not met");
        Err(SignInError::BotChallenge(kind))
    }

    /// Is `answer` a right proof, not used before (and now used up)?
    async fn verify(
        &self,
        answer: &str,
        client_ip: IpAddr,
    ) -> Result<Result<(), Refusal>, StoreError> {
        match &*self.checker {
            Checker::Off => Ok(Ok(())),
            Checker::ProofOfWork(key) => {
                let now = self.otp.clock().now();
                let solved = match key.check(answer, now, self.difficulty) {
                    Ok(solved) => solved,
                    Err(PowFailure::Invalid) => return Ok(Err(Refusal::Invalid)),
                    Err(PowFailure::Expired) => return Ok(Err(Refusal::Expired)),
                };
                let spend = move |db: &mut Db| proofs::spend(db, &solved.salt, solved.expires_at);
                let fresh = self.store.run(spend).await?;
                Ok(if fresh { Ok(()) } else { Err(Refusal::Reused) })
            }
            Checker::Captcha(verifier, _) => Ok(match verifier.verify(answer, client_ip).await {
                Ok(()) => Ok(()),
                Err(CaptchaFailure::Rejected(codes)) => {
                    tracing::info!(?codes, "the captcha provider rejected a token");
                    Err(Refusal::Rejected)
                }
                Err(CaptchaFailure::Unavailable(reason)) => {
                    tracing::warn!(%reason, "the captcha provider did not answer: codes are refused until it does");
                    Err(Refusal::Unavailable)
                }
            }),
        }
    }
}
