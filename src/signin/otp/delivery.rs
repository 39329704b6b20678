//! The SMS outbox worker. Asking for a code only queues its message (in the
//! same transaction that stores the code) and answers at once; this worker
//! sends it in the background. So the answer takes the same time and says
//! the same thing for a member and a stranger, whatever the gateway does.
//!
//! A message is tried at once, then after 1, 2, 4 ... s (or the gateway's
//! `Retry-After`, when longer), up to `sms.webhook.max_attempts`; one
//! attempt tries each of `sms.senders` in turn (`crate::sms::Failover`).
//! One the gateways refuse, whose number a provider says cannot get texts,
//! that ran out of attempts, or that could no longer arrive before its code
//! expires is withdrawn with its code, and the send it counted is refunded,
//! so the person can simply ask again. A message a provider took with an id
//! is remembered for its delivery receipt (`super::receipts`).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::pumping::country_key;
use super::sealed::SealingKey;
use crate::domain::{OtpCode, PhoneNumber};
use crate::infra::clock::Clock;
use crate::infra::in_flight::InFlight;
use crate::infra::metrics::Metrics;
use crate::sms::{Sent, SmsError, SmsMessage, SmsSender};
use crate::store::outbox::{self, Queued};
use crate::store::receipts::Handed;
use crate::store::Store;

/// Messages sent at the same time, at most.
const MAX_IN_FLIGHT: usize = 32;
/// The longest wait between two attempts gatehouse chooses itself.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How long past its attempt's timeout a claim holds, should the worker die.
const CLAIM_MARGIN_SECS: i64 = 5;

/// How hard to try: `sms.webhook.max_attempts`, and the longest one
/// attempt takes (every sender's timeout, `SmsConfig::attempt_timeout`).
#[derive(Debug, Clone, Copy)]
pub struct DeliveryPolicy {
    pub max_attempts: u32,
    pub attempt_timeout: Duration,
}

#[derive(Clone)]
pub struct Delivery {
    pub(super) store: Store,
    pub(super) sms: SmsSender,
    pub(super) key: SealingKey,
    pub(super) clock: Clock,
    pub(super) metrics: Metrics,
    pub(super) policy: DeliveryPolicy,
    /// Rung when a message is queued without being handed over, so it
    /// is claimed at once.
    pub(super) wake: Arc<Notify>,
    pub(super) handoff: Arc<Handoff>,
    pub(super) poll_every: Duration,
}

/// How a request hands its text to this process's worker (issue 25): a
/// place in the worker's queue is reserved before the code is stored, the
/// text is stored claimed by this worker, and the worker sends it without
/// a trip to the store to claim it. Without a place (the worker has
/// [`MAX_IN_FLIGHT`] texts in flight and as many waiting, has not started,
/// or has stopped), the text is stored unclaimed and the worker woken to
/// claim it.
#[derive(Default)]
pub struct Handoff {
    /// Opened by the worker once it has freed the claims left from before
    /// it started: a text handed over earlier would be freed, claimed from
    /// the outbox and sent twice.
    places: RwLock<Option<mpsc::Sender<Queued>>>,
}

/// A reserved place in the worker's queue, for a text claimed until
/// `claimed_until`.
pub(super) struct Handing {
    place: mpsc::OwnedPermit<Queued>,
    text: Queued,
    pub(super) claimed_until: i64,
}

/// A running outbox worker (this one, or the events worker); dropping it
/// stops the worker and every send in flight (sent again after the next
/// start).
pub struct DeliveryTask(pub(crate) JoinHandle<()>);

impl Drop for DeliveryTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Delivery {
    /// How often the outbox is looked at for retries that came due (1 s by
    /// default; a queued message does not wait for it).
    pub fn poll_every(mut self, interval: Duration) -> Delivery {
        self.poll_every = interval;
        self
    }

    pub fn spawn(self) -> DeliveryTask {
        DeliveryTask(tokio::spawn(self.run()))
    }

    /// A place for the text of challenge `challenge_id` in the worker's
    /// queue, if one is free.
    pub(super) fn reserve(
        &self,
        now: i64,
        challenge_id: &str,
        sealed: &[u8],
        expires_at: i64,
    ) -> Option<Handing> {
        let places = self.handoff.places.read().ok()?.clone()?;
        let place = places.try_reserve_owned().ok()?;
        // Handed texts start before the worker claims any from the outbox,
        // and every send in flight ends within one attempt: a handed text
        // starts within one attempt's time, and takes one.
        let attempt = self.policy.attempt_timeout.as_secs() as i64;
        Some(Handing {
            place,
            text: Queued {
                challenge_id: challenge_id.to_string(),
                sealed: sealed.to_vec(),
                attempts: 0,
                expires_at,
            },
            claimed_until: now + 2 * attempt + CLAIM_MARGIN_SECS,
        })
    }

    /// A text just stored goes to the worker: `handing` it over, or (with
    /// no place reserved) waking the worker to claim it.
    pub(super) fn hand_over(&self, handing: Option<Handing>) {
        match handing {
            Some(handing) => {
                handing.place.send(handing.text);
            }
            None => self.wake.notify_one(),
        }
    }

    async fn run(self) {
        // The data dir lock says nobody else is sending: what a crashed
        // process had claimed is due again now.
        if let Err(error) = self.store.run(|db| outbox::release_claims(db)).await {
            tracing::error!(%error, "cannot read the SMS outbox");
        }
        // Owned here, so stopping the worker stops its sends too (and the
        // texts handed over: stored claimed, they are due again at the
        // next start, or when their claim runs out).
        let mut in_flight = InFlight::default();
        let (places, mut handed) = mpsc::channel(MAX_IN_FLIGHT);
        if let Ok(mut open) = self.handoff.places.write() {
            *open = Some(places);
        }
        let (mut claim_next, mut next_poll) = (true, Instant::now() + self.poll_every);
        loop {
            // Every finished send leaves the set before the room is
            // counted: `finished` below takes one a turn, and a set of
            // finished sends left room for one text per claim (one store
            // round trip per text under load, issue 25).
            while in_flight.try_finished().is_some() {}
            // Handed texts first: their claims count on starting soon.
            while in_flight.len() < MAX_IN_FLIGHT {
                let Ok(text) = handed.try_recv() else { break };
                in_flight.start(text.challenge_id.clone(), self.clone().deliver(text));
            }
            let room = MAX_IN_FLIGHT - in_flight.len();
            if claim_next && room > 0 {
                let claimed = self.claim(room).await;
                // A full claim may have left more in the outbox.
                claim_next = claimed.len() == room;
                for message in claimed {
                    in_flight.start(message.challenge_id.clone(), self.clone().deliver(message));
                }
            }
            let has_room = in_flight.len() < MAX_IN_FLIGHT;
            tokio::select! {
                () = self.wake.notified() => claim_next = true,
                Some(text) = handed.recv(), if has_room => {
                    in_flight.start(text.challenge_id.clone(), self.clone().deliver(text));
                }
                Some(_) = in_flight.finished(), if !in_flight.is_empty() => {}
                // Retries that came due, and texts left by a crash or by
                // another instance: on a timer that busy turns do not reset.
                () = tokio::time::sleep_until(next_poll) => {
                    claim_next = true;
                    next_poll = Instant::now() + self.poll_every;
                }
            }
        }
    }

    async fn claim(&self, limit: usize) -> Vec<Queued> {
        let now = self.clock.now();
        let until = now + self.policy.attempt_timeout.as_secs() as i64 + CLAIM_MARGIN_SECS;
        let claimed = self
            .store
            .run(move |db| outbox::claim_due(db, now, until, limit))
            .await;
        claimed.unwrap_or_else(|error| {
            tracing::error!(%error, "cannot read the SMS outbox");
            Vec::new()
        })
    }

    async fn deliver(self, message: Queued) {
        let Some(queued) = self.key.open(&message.challenge_id, &message.sealed) else {
            let reason = "it cannot be opened (was the server secret replaced?)";
            return self.withdraw(&message, None, reason).await;
        };
        let phone = PhoneNumber::from_trusted_e164(queued.phone);
        if message.expires_at <= self.clock.now() {
            return self
                .withdraw(&message, Some(&phone), "its code expired first")
                .await;
        }
        let code = OtpCode::from_generated(queued.code);
        let text = queued.text;
        let attempt = message.attempts + 1;
        let key = idempotency_key(&message.challenge_id);
        let sent = self
            .sms
            .send(&SmsMessage {
                phone: &phone,
                code: &code,
                text,
                idempotency_key: &key,
            })
            .await;
        let error = match sent {
            Ok(sent) => return self.handed_over(&message, &phone, attempt, sent).await,
            Err(error) => error,
        };
        tracing::warn!(phone = %phone.masked(), attempt, %error, "SMS attempt failed");
        if let SmsError::InvalidNumber(_) = error {
            let reason = "the gateway says the number cannot receive texts";
            return self.withdraw(&message, Some(&phone), reason).await;
        }
        if !error.is_transient() {
            return self
                .withdraw(&message, Some(&phone), "the gateway refused it")
                .await;
        }
        if attempt >= self.policy.max_attempts {
            let reason = "no attempt got through (sms.webhook.max_attempts)";
            return self.withdraw(&message, Some(&phone), reason).await;
        }
        let wait = backoff(attempt).max(error.retry_after().unwrap_or_default());
        let next = self.clock.now() + wait.as_secs_f64().ceil() as i64;
        if next >= message.expires_at {
            let reason = "the next attempt would come after its code expired";
            return self.withdraw(&message, Some(&phone), reason).await;
        }
        let id = message.challenge_id;
        let saved = self
            .store
            .run(move |db| outbox::retry_later(db, &id, attempt, next))
            .await;
        if let Err(error) = saved {
            tracing::error!(%error, "cannot schedule the next SMS attempt");
        }
    }

    /// A gateway took the message: it leaves the outbox, and is remembered
    /// for its delivery receipt when the provider gave it an id.
    async fn handed_over(&self, message: &Queued, phone: &PhoneNumber, attempt: u32, sent: Sent) {
        let provider = sent.provider;
        tracing::info!(phone = %phone.masked(), attempt, provider, "SMS handed to the gateway");
        self.metrics.code("sent");
        let country = country_key(phone.line().country);
        self.metrics.sms_sent(&country);
        let handed = sent.message_id.map(|message_id| Handed {
            provider,
            message_id,
            country,
            sent_at: self.clock.now(),
        });
        let id = message.challenge_id.clone();
        let done = self
            .store
            .run(move |db| outbox::delivered(db, &id, handed.as_ref()))
            .await;
        if let Err(error) = done {
            tracing::error!(%error, "a delivered SMS stays in the outbox");
        }
    }

    /// The message will not arrive: its code goes, and so does the send it
    /// counted against the person's limits.
    async fn withdraw(&self, message: &Queued, phone: Option<&PhoneNumber>, reason: &str) {
        let phone = phone.map(PhoneNumber::masked).unwrap_or_default();
        tracing::warn!(%phone, reason, "sign-in code not delivered; withdrawn so a new one can be asked for");
        self.metrics.code("failed");
        let id = message.challenge_id.clone();
        if let Err(error) = self.store.run(move |db| outbox::withdraw(db, &id)).await {
            tracing::error!(%error, "could not withdraw an undelivered code");
        }
    }
}

/// Gatehouse's own wait after the `attempt`th failure: 1, 2, 4 ... s.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let exponent = attempt.saturating_sub(1).min(16);
    Duration::from_secs(1 << exponent).min(MAX_BACKOFF)
}

/// A message's idempotency key: a hash of its code's id (32 hex digits).
fn idempotency_key(challenge_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("gatehouse sms {challenge_id}").as_bytes());
    hex::encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let waits: Vec<u64> = (1..=9).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}
