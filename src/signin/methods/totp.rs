//! Authenticator apps (TOTP, RFC 6238, with `totp-rs`): set up from a QR
//! code after a sign-in, then a code from the app instead of the SMS step.
//!
//! The shared secret is stored sealed (a key derived from the server secret
//! for this use only, bound to the credential's id) and never logged. A
//! code is taken once per time step: the credential keeps the last step it
//! accepted and a code of that step or an older one is refused (replays,
//! and two sign-ins racing with one code). Wrong codes count like SMS
//! codes': `otp.max_attempts` per sign-in flow, and per phone at most
//! [`MAX_FAILURES_PER_HOUR`] across flows and methods.

use std::sync::Arc;
use std::time::Duration;

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

use crate::config::MAX_FAILURES_PER_HOUR;
use crate::directory::{Directory, DirectoryUser};
use crate::domain::{FlowId, PhoneNumber};
use crate::infra::clock::Clock;
use crate::infra::random::{fill_random, random_hex};
use crate::signin::otp::sealed::SealingKey;
use crate::signin::otp::{Limit, OtpError};
use crate::store::codes;
use crate::store::credentials::{self, TotpCredential};
use crate::store::{Db, Store, StoreError};

/// What authenticator apps expect (RFC 6238's defaults, which every app
/// reads): HMAC-SHA1, 6 digits, 30-second steps.
pub const DIGITS: usize = 6;
const STEP_SECONDS: i64 = 30;
/// 160 bits, RFC 4226's recommended length.
const SECRET_BYTES: usize = 20;
/// A code of the step before or after the server's clock is still taken
/// (phones' clocks drift a little).
const SKEW_STEPS: i64 = 1;
/// The rate-limit events that count wrong app codes, per sign-in flow.
const FLOW_FAILURE_KIND: &str = "totp_flow_failure";
/// Longer than any sign-in flow lives.
const FLOW_WINDOW: i64 = 86_400;

/// A set-up just started: what the page shows.
#[derive(Debug, Clone)]
pub struct NewTotp {
    pub id: String,
    /// The secret in base32, for typing into the app.
    pub secret_base32: String,
    /// The `otpauth://` URI the QR code holds.
    pub uri: String,
}

#[derive(Clone)]
pub struct TotpService {
    store: Store,
    directory: Directory,
    key: SealingKey,
    clock: Clock,
    /// Wrong codes allowed per sign-in flow (`otp.max_attempts`).
    max_attempts: u32,
    /// The name the app lists the account under.
    issuer: Arc<str>,
}

impl TotpService {
    pub fn new(
        store: Store,
        directory: Directory,
        server_key: &[u8],
        clock: Clock,
        max_attempts: u32,
        issuer: &str,
    ) -> TotpService {
        TotpService {
            store,
            directory,
            key: SealingKey::derive_for(server_key, b"gatehouse totp secrets v1"),
            clock,
            max_attempts,
            issuer: issuer.into(),
        }
    }

    /// Starts a set-up for `subject`: a fresh secret, stored sealed and
    /// unconfirmed until the first right code.
    pub async fn start(&self, subject: &str) -> Result<NewTotp, StoreError> {
        let mut secret = [0u8; SECRET_BYTES];
        fill_random(&mut secret);
        let id = random_hex(16);
        let credential = TotpCredential {
            id: id.clone(),
            subject: subject.to_string(),
            name: "Authenticator app".into(),
            secret_sealed: self.key.seal_bytes(&id, &secret),
            confirmed: false,
            last_step: 0,
            created_at: self.clock.now(),
            last_used_at: None,
        };
        self.store
            .run(move |db| credentials::add_totp(db, &credential))
            .await?;
        Ok(self.describe(id, secret.to_vec()))
    }

    /// `subject`'s set-up `id` while it waits for its first code (to show
    /// it again after a wrong one); None once confirmed, or not theirs.
    pub async fn pending(&self, subject: &str, id: &str) -> Result<Option<NewTotp>, StoreError> {
        let (subject, id) = (subject.to_string(), id.to_string());
        let found = self
            .store
            .run(move |db| credentials::totp_by_id(db, &subject, &id))
            .await?;
        let Some(credential) = found.filter(|c| !c.confirmed) else {
            return Ok(None);
        };
        let secret = self
            .key
            .open_bytes(&credential.id, &credential.secret_sealed);
        Ok(secret.map(|secret| self.describe(credential.id, secret)))
    }

    /// What the set-up page shows of a secret.
    fn describe(&self, id: String, secret: Vec<u8>) -> NewTotp {
        let secret_base32 = generator(secret).get_secret_base32();
        let issuer = utf8_percent_encode(&self.issuer, NON_ALPHANUMERIC).to_string();
        let uri = format!(
            "otpauth://totp/{issuer}?secret={secret_base32}&issuer={issuer}\
             &algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}"
        );
        NewTotp {
            id,
            secret_base32,
            uri,
        }
    }

    /// Confirms `subject`'s set-up `id` with a first code from the app. At
    /// most `otp.max_attempts` wrong codes: then the set-up starts over.
    pub async fn confirm(&self, subject: &str, id: &str, code: &str) -> Result<(), OtpError> {
        let (subject, id, code) = (subject.to_string(), id.to_string(), code.to_string());
        let (key, now, max) = (self.key.clone(), self.clock.now(), self.max_attempts);
        self.store
            .run(move |db| {
                let flow_key = format!("enrol:{id}");
                let failed =
                    codes::count_events(db, FLOW_FAILURE_KIND, &flow_key, now - FLOW_WINDOW)?;
                let credential = credentials::totp_by_id(db, &subject, &id)?;
                let Some(credential) = credential.filter(|c| !c.confirmed) else {
                    return Ok(Err(OtpError::Expired));
                };
                if failed >= max {
                    return Ok(Err(OtpError::TooManyAttempts));
                }
                if take_matching(db, &key, &[credential], &code, now)? == Match::Taken {
                    return Ok(Ok(()));
                }
                codes::record_event(db, FLOW_FAILURE_KIND, &flow_key, now)?;
                Ok(Err(wrong(max, failed + 1)))
            })
            .await?
    }

    /// The sign-in step: `code` from an app of the person `phone` belongs
    /// to. A number without an app (or without an account) is answered
    /// like a wrong code, so the answer says nothing about who has one.
    pub async fn verify(
        &self,
        flow: &FlowId,
        phone: &PhoneNumber,
        code: &str,
    ) -> Result<DirectoryUser, OtpError> {
        let lookup = self.directory.phone_lookup(phone, &self.store).await?;
        let (flow, phone, code) = (flow.clone(), phone.clone(), code.to_string());
        let (key, now, max) = (self.key.clone(), self.clock.now(), self.max_attempts);
        self.store
            .run(move |db| {
                let user = lookup.resolve(db)?;
                if let Some(retry_after) =
                    codes::failures_exceeded(db, phone.as_str(), MAX_FAILURES_PER_HOUR, 3600, now)?
                {
                    return Ok(Err(OtpError::Throttled {
                        limit: Limit::FailuresPerHour,
                        retry_after: Duration::from_secs(retry_after.max(1) as u64),
                    }));
                }
                let flow_key = flow.as_str();
                let failed =
                    codes::count_events(db, FLOW_FAILURE_KIND, flow_key, now - FLOW_WINDOW)?;
                if failed >= max {
                    return Ok(Err(OtpError::TooManyAttempts));
                }
                let apps = match &user {
                    Some(user) => credentials::totp_of(db, &user.id)?,
                    None => Vec::new(),
                };
                let apps: Vec<_> = apps.into_iter().filter(|c| c.confirmed).collect();
                let matched = take_matching(db, &key, &apps, &code, now)?;
                match (matched, user) {
                    (Match::Taken, Some(user)) if user.disabled => Ok(Err(OtpError::Disabled)),
                    (Match::Taken, Some(user)) => Ok(Ok(user)),
                    (matched, _) => {
                        codes::record_event(db, FLOW_FAILURE_KIND, flow_key, now)?;
                        codes::record_failure(db, phone.as_str(), now)?;
                        // A replay is told so (only a right code gets
                        // here): the app's next code will do.
                        Ok(Err(match matched {
                            Match::Replayed => OtpError::Expired,
                            _ => wrong(max, failed + 1),
                        }))
                    }
                }
            })
            .await?
    }
}

/// The answer after the `failed`th wrong code of `max`.
fn wrong(max: u32, failed: u32) -> OtpError {
    match max.checked_sub(failed) {
        Some(left) if left > 0 => OtpError::WrongCode {
            attempts_left: left,
        },
        _ => OtpError::TooManyAttempts,
    }
}

/// What became of a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    /// Right, and its time step is now used.
    Taken,
    /// Right, but its time step (or a later one) was used already.
    Replayed,
    /// No credential made it.
    Wrong,
}

/// Finds the credential and time step `code` belongs to (within the skew)
/// and takes that step.
fn take_matching(
    db: &Db,
    key: &SealingKey,
    apps: &[TotpCredential],
    code: &str,
    now: i64,
) -> Result<Match, StoreError> {
    let current = now.div_euclid(STEP_SECONDS);
    for app in apps {
        let Some(secret) = key.open_bytes(&app.id, &app.secret_sealed) else {
            tracing::warn!(credential = %app.id, "an authenticator app's secret does not open (server secret changed?)");
            continue;
        };
        let totp = generator(secret);
        for step in current - SKEW_STEPS..=current + SKEW_STEPS {
            let expected = code_at_step(&totp, step);
            if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
                return Ok(match credentials::take_totp_step(db, &app.id, step, now)? {
                    true => Match::Taken,
                    false => Match::Replayed,
                });
            }
        }
    }
    Ok(Match::Wrong)
}

/// The generator apps use for `secret`.
fn generator(secret: Vec<u8>) -> TOTP {
    TOTP::new_unchecked(Algorithm::SHA1, DIGITS, 0, STEP_SECONDS as u64, secret)
}

/// The code of time step `step` (None before the epoch: no code).
fn code_at_step(totp: &TOTP, step: i64) -> String {
    totp.generate(u64::try_from(step).unwrap_or(0) * totp.step)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: the seeds and the 8-digit codes at each time.
    #[test]
    fn rfc_6238_test_vectors() {
        let sha1 = b"12345678901234567890".to_vec();
        let sha256 = b"12345678901234567890123456789012".to_vec();
        let sha512 = b"1234567890123456789012345678901234567890123456789012345678901234".to_vec();
        let vectors: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for (time, one, two_five_six, five_one_two) in vectors {
            let step = (time / 30) as i64;
            let at = |algorithm, seed: &Vec<u8>| {
                code_at_step(
                    &TOTP::new_unchecked(algorithm, 8, 0, 30, seed.clone()),
                    step,
                )
            };
            assert_eq!(at(Algorithm::SHA1, &sha1), one, "SHA1 at {time}");
            assert_eq!(
                at(Algorithm::SHA256, &sha256),
                two_five_six,
                "SHA256 at {time}"
            );
            assert_eq!(
                at(Algorithm::SHA512, &sha512),
                five_one_two,
                "SHA512 at {time}"
            );
            // The 6-digit code apps show is the same value mod 10^6.
            let six = code_at_step(&generator(sha1.clone()), step);
            assert_eq!(six, one[2..], "6 digits at {time}");
        }
    }

    #[test]
    fn attempts_left_count_down_to_dead() {
        assert!(matches!(
            wrong(5, 1),
            OtpError::WrongCode { attempts_left: 4 }
        ));
        assert!(matches!(wrong(5, 5), OtpError::TooManyAttempts));
        assert!(matches!(wrong(5, 9), OtpError::TooManyAttempts));
    }
}
