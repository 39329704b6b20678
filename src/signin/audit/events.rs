//! The events worker: sends each queued audit event to `[events] url` as
//! JSON, signed like the SMS webhook (`X-Gatehouse-Signature:
//! t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`), from the durable
//! outbox (`store/event_outbox.rs`) the event was queued in with its row.
//! Recording an event only writes it; nothing waits for the receiver.
//!
//! Order: a person's events (or, without a subject, a number's) go one at a
//! time, oldest first; an event that fails is tried again after 1, 2, 4 ...
//! 60 s and holds back later events of its own key only. When every attempt
//! fails (the receiver is down), the worker sends one event at a time, and
//! waits as long between them, until one gets through: a receiver that was
//! down for an hour gets the backlog within a minute of coming back, each
//! event once it answered 2xx. An event still not delivered after
//! `events.max_age` is given up by the clean-up job.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use url::Url;

use super::EventJson;
use crate::config::{EventsConfig, Secret};
use crate::infra::clock::Clock;
use crate::infra::http::error_chain;
use crate::infra::http::{self, Peer};
use crate::infra::in_flight::InFlight;
use crate::infra::metrics::Metrics;
use crate::signin::otp::{backoff, DeliveryTask};
use crate::sms::{sign, SIGNATURE_HEADER};
use crate::store::event_outbox::{self, QueuedEvent};
use crate::store::Store;

/// Events sent at the same time, at most, while the receiver answers.
const MAX_IN_FLIGHT: usize = 32;
/// How long past its attempt's timeout a claim holds, should the worker die.
const CLAIM_MARGIN_SECS: i64 = 5;
/// How often the outbox's depth and oldest age are measured for metrics.
const BACKLOG_EVERY: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct EventDelivery {
    store: Store,
    http: reqwest::Client,
    url: Url,
    secret: Secret,
    timeout: Duration,
    clock: Clock,
    metrics: Metrics,
    wake: Arc<Notify>,
    poll_every: Duration,
}

/// Consecutive failures across events, and the receiver-wide pause they
/// call for (clock seconds).
#[derive(Default)]
struct Pace {
    failing: u32,
    paused_until: i64,
}

impl Pace {
    fn room(&self, in_flight: usize, now: i64) -> usize {
        if now < self.paused_until {
            return 0;
        }
        let most = if self.failing == 0 { MAX_IN_FLIGHT } else { 1 };
        most.saturating_sub(in_flight)
    }

    fn attempted(&mut self, delivered: bool, now: i64) {
        if delivered {
            self.failing = 0;
        } else {
            self.failing = self.failing.saturating_add(1);
            self.paused_until = now + backoff(self.failing).as_secs() as i64;
        }
    }
}

impl EventDelivery {
    pub(super) fn new(
        config: &EventsConfig,
        store: Store,
        clock: Clock,
        metrics: Metrics,
        wake: Arc<Notify>,
    ) -> Option<EventDelivery> {
        let http = http::client(Peer::Service {
            timeout: Some(config.timeout),
            ca_file: config.ca_file.as_ref(),
        });
        Some(EventDelivery {
            store,
            http,
            url: config.url.clone()?,
            secret: config.hmac_secret.clone()?,
            timeout: config.timeout,
            clock,
            metrics,
            wake,
            poll_every: Duration::from_secs(1),
        })
    }

    /// How often the outbox is looked at for retries that came due (1 s by
    /// default; a queued event does not wait for it).
    pub fn poll_every(mut self, interval: Duration) -> EventDelivery {
        self.poll_every = interval;
        self
    }

    pub fn spawn(self) -> DeliveryTask {
        DeliveryTask(tokio::spawn(self.run()))
    }

    async fn run(self) {
        // The data dir lock says nobody else is sending.
        if let Err(error) = self.store.run(|db| event_outbox::release_claims(db)).await {
            tracing::error!(%error, "cannot read the events outbox");
        }
        let mut in_flight = InFlight::default();
        let mut pace = Pace::default();
        let mut measured: Option<Instant> = None;
        loop {
            if measured.is_none_or(|at| at.elapsed() >= BACKLOG_EVERY) {
                self.measure_backlog().await;
                measured = Some(Instant::now());
            }
            // Every finished delivery leaves the set before the room is
            // counted (`finished` below takes one a turn).
            while let Some(done) = in_flight.try_finished() {
                pace.attempted(done.unwrap_or(false), self.clock.now());
            }
            let room = pace.room(in_flight.len(), self.clock.now());
            if room > 0 {
                for event in self.claim(room).await {
                    in_flight.start(event.event.id, self.clone().deliver(event));
                }
            }
            tokio::select! {
                () = self.wake.notified() => {}
                Some(done) = in_flight.finished(), if !in_flight.is_empty() => {
                    pace.attempted(done.unwrap_or(false), self.clock.now());
                }
                () = tokio::time::sleep(self.poll_every) => {}
            }
        }
    }

    async fn measure_backlog(&self) {
        let now = self.clock.now();
        match self.store.run(|db| event_outbox::backlog(db)).await {
            Ok(backlog) => {
                let age = backlog.oldest.map_or(0, |oldest| (now - oldest).max(0));
                self.metrics.events_backlog(backlog.depth, age);
            }
            Err(error) => tracing::error!(%error, "cannot read the events outbox"),
        }
    }

    async fn claim(&self, limit: usize) -> Vec<QueuedEvent> {
        let now = self.clock.now();
        let until = now + self.timeout.as_secs() as i64 + CLAIM_MARGIN_SECS;
        let claimed = self
            .store
            .run(move |db| event_outbox::claim_due(db, now, until, limit))
            .await;
        claimed.unwrap_or_else(|error| {
            tracing::error!(%error, "cannot read the events outbox");
            Vec::new()
        })
    }

    /// One attempt; true when the receiver took the event.
    async fn deliver(self, queued: QueuedEvent) -> bool {
        let id = queued.event.id;
        let body = serde_json::to_vec(&EventJson::of(&queued.event)).expect("events serialize");
        // Signed at each attempt with the wall clock, which the receiver
        // compares `t` with.
        let signature = sign(&self.secret, Clock::system().now(), &body);
        let sent = self
            .http
            .post(self.url.clone())
            .timeout(self.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await;
        let problem = match sent {
            Ok(response) if response.status().is_success() => {
                self.metrics.event_delivery("delivered");
                let done = self
                    .store
                    .run(move |db| event_outbox::delivered(db, id))
                    .await;
                if let Err(error) = done {
                    tracing::error!(%error, "a delivered event stays in the outbox");
                }
                return true;
            }
            Ok(response) => format!("HTTP {}", response.status()),
            Err(error) => error_chain(&error),
        };
        let attempts = queued.attempts.saturating_add(1);
        tracing::warn!(event = id, attempts, %problem, "events receiver: attempt failed");
        self.metrics.event_delivery("failed");
        let next = self.clock.now() + backoff(attempts).as_secs() as i64;
        let saved = self
            .store
            .run(move |db| event_outbox::retry_later(db, id, attempts, next))
            .await;
        if let Err(error) = saved {
            tracing::error!(%error, "cannot schedule the event's next attempt");
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn while_everything_fails_one_event_goes_at_a_time() {
        let mut pace = Pace::default();
        assert_eq!(pace.room(0, 100), MAX_IN_FLIGHT);
        pace.attempted(false, 100);
        assert_eq!(pace.room(0, 100), 0, "paused after a failure");
        assert_eq!(pace.room(0, 101), 1, "then one probe");
        assert_eq!(pace.room(1, 101), 0);
        pace.attempted(false, 101);
        assert_eq!(pace.room(0, 102), 0, "the pause grows");
        assert_eq!(pace.room(0, 103), 1);
        pace.attempted(true, 103);
        assert_eq!(pace.room(3, 103), MAX_IN_FLIGHT - 3, "back to full speed");
    }
}
