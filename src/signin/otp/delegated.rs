//! Codes made, sent and checked by a delegate (`otp.issuer`), under
//! gatehouse's rules: the send is counted against every limit before the
//! delegate is asked (and given back when it cannot send); a try is taken
//! from the code's cap before the delegate checks it (and given back when
//! it cannot answer), so concurrent guesses cannot get past the cap. The
//! delegate sees a code's own random id as the flow id: a code is only
//! ever checked in the flow, and for the number, it was sent to.
//!
//! A number no code goes to (a stranger with closed sign-up, a disabled
//! account) is never asked about; its answer waits as long as the
//! delegate's recent answers took, so that the time an answer takes does
//! not tell members from strangers (gatehouse's own codes get that from
//! the outbox).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::code::live_challenge;
use super::{signed_in_user, Limit, OtpError, OtpService};
use crate::config::Signup;
use crate::directory::DirectoryUser;
use crate::domain::{FlowId, OtpCode, PhoneNumber};
use crate::sms::delegate::{CodeDelegate, Verification};
use crate::store::codes::{self, WindowLimit};
use crate::store::{Db, StoreError};

/// The delegate, and how long its sends and checks take.
#[derive(Clone)]
pub(super) struct Delegated {
    delegate: CodeDelegate,
    pub(super) sends: Timing,
    checks: Timing,
}

impl Delegated {
    pub(super) fn new(delegate: CodeDelegate) -> Delegated {
        Delegated {
            delegate,
            sends: Timing::default(),
            checks: Timing::default(),
        }
    }
}

/// A moving average of how long the delegate's answers took, in
/// microseconds (0: none yet).
#[derive(Clone, Default)]
pub(super) struct Timing(Arc<AtomicU64>);

impl Timing {
    fn record(&self, took: Duration) {
        let sample = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some(if old == 0 {
                    sample
                } else {
                    old - old / 8 + sample / 8
                })
            });
    }

    /// Waits about as long as an answer of the delegate's takes.
    pub(super) async fn imitate(&self) {
        let typical = self.0.load(Ordering::Relaxed);
        if typical > 0 {
            tokio::time::sleep(Duration::from_micros(typical)).await;
        }
    }
}

/// A try taken from a code's cap, before the delegate is asked.
struct Try {
    challenge_id: String,
    used: u32,
    max: u32,
    /// Whom a right code signs in; None: no code was sent to this number.
    user: Option<Option<DirectoryUser>>,
}

impl OtpService {
    /// Asks `delegate` to send the code of `challenge_id`; when it cannot,
    /// the challenge and the sends it counted (`counted`) are given back.
    pub(super) async fn delegate_send(
        &self,
        delegated: &Delegated,
        challenge_id: &str,
        phone: &PhoneNumber,
        now: i64,
        counted: Vec<WindowLimit<Limit>>,
    ) -> Result<(), OtpError> {
        let verification = Verification {
            phone,
            flow_id: challenge_id,
        };
        let started = Instant::now();
        let Err(error) = delegated.delegate.start(verification).await else {
            delegated.sends.record(started.elapsed());
            self.metrics.code("delegated");
            return Ok(());
        };
        let id = challenge_id.to_string();
        self.store
            .run(move |conn| codes::refund_unsent(conn, &id, now, &counted))
            .await?;
        Err(error.into())
    }

    /// [`OtpService::verify_then`] when a delegate checks the code.
    pub(super) async fn verify_delegated<T, F>(
        &self,
        delegated: &Delegated,
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
        // Asked before a try is taken: an outage costs nothing.
        let lookup = self.directory.phone_lookup(phone, &self.store).await?;
        let signup = self.signup;
        let taken = {
            let (flow, phone) = (flow.clone(), phone.clone());
            self.store
                .run(move |conn| {
                    let user = lookup.resolve(conn)?;
                    take_try(conn, &flow, &phone, user, signup, now)
                })
                .await?
        }?;
        let approved = match &taken.user {
            // No code went to this number: a guess, never asked about.
            None => {
                delegated.checks.imitate().await;
                false
            }
            Some(_) => {
                let verification = Verification {
                    phone,
                    flow_id: &taken.challenge_id,
                };
                let started = Instant::now();
                match delegated.delegate.check(verification, code.digits()).await {
                    Ok(approved) => {
                        delegated.checks.record(started.elapsed());
                        approved
                    }
                    Err(error) => {
                        let id = taken.challenge_id.clone();
                        self.store
                            .run(move |conn| codes::release_attempt(conn, &id))
                            .await?;
                        return Err(error.into());
                    }
                }
            }
        };
        let embedded = self.directory.is_embedded();
        let phone = phone.clone();
        self.store
            .run(move |conn| settle(conn, taken, approved, &phone, embedded, signup, now, then))
            .await?
    }
}

/// Under gatehouse's rules, takes one try of `flow`'s code for `phone`.
fn take_try(
    conn: &Db,
    flow: &FlowId,
    phone: &PhoneNumber,
    user: Option<DirectoryUser>,
    signup: Signup,
    now: i64,
) -> Result<Result<Try, OtpError>, StoreError> {
    let challenge = match live_challenge(conn, flow, phone, now)? {
        Ok(challenge) => challenge,
        Err(refused) => return Ok(Err(refused)),
    };
    let Some(used) = codes::record_wrong_attempt(conn, &challenge.id)? else {
        return Ok(Err(OtpError::TooManyAttempts));
    };
    let sent = match &user {
        Some(user) => !user.disabled,
        None => signup == Signup::Auto,
    };
    Ok(Ok(Try {
        challenge_id: challenge.id,
        used,
        max: challenge.max_attempts,
        user: sent.then_some(user),
    }))
}

/// The delegate's verdict on a taken try: a wrong code keeps the try and
/// counts against the phone; a right one is used up and signs in.
#[allow(clippy::too_many_arguments)]
fn settle<T, F>(
    conn: &Db,
    taken: Try,
    approved: bool,
    phone: &PhoneNumber,
    embedded: bool,
    signup: Signup,
    now: i64,
    then: F,
) -> Result<Result<(DirectoryUser, T), OtpError>, StoreError>
where
    F: FnOnce(&Db) -> Result<T, StoreError>,
{
    let user = match (approved, taken.user) {
        (true, Some(user)) => user,
        _ => {
            codes::record_failure(conn, phone.as_str(), now)?;
            return Ok(Err(if taken.used < taken.max {
                OtpError::WrongCode {
                    attempts_left: taken.max - taken.used,
                }
            } else {
                OtpError::TooManyAttempts
            }));
        }
    };
    if !codes::consume_tried(conn, &taken.challenge_id, now)? {
        return Ok(Err(OtpError::Expired));
    }
    let country = super::country_key(phone.line().country);
    codes::record_verified(conn, &country, now.div_euclid(86_400))?;
    let user = match signed_in_user(conn, user, phone, embedded, signup, now)? {
        Ok(user) => user,
        Err(refused) => return Ok(Err(refused)),
    };
    Ok(Ok((user, then(conn)?)))
}
