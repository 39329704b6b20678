//! The audit trail: one row per event in gatehouse's database (a code
//! sent, a sign-in, a consent, a logout, an operator's command), and each
//! event queued for `[events] url` in the same write when configured.
//!
//! Events are recorded where they happen: the sign-in services and the
//! consent and logout pages call [`AuditTrail::record`], the command line
//! too. Who asked (address, user agent, request id) comes from the
//! request's [`RequestContext`]. A phone number is stored masked plus a
//! keyed hash ([`AuditTrail::phone_hash`]), so an operator can search by
//! the full number while a copied database does not give it away; no code,
//! token or secret is ever part of an event. Recording never fails the
//! action it records: a write that fails is logged.

mod context;
pub mod events;
mod reason;

use std::sync::Arc;

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use tokio::sync::Notify;

use crate::config::{EventKinds, EventsConfig};
use crate::domain::{EventKind, Outcome, PhoneNumber, SignInMethod};
use crate::infra::clock::Clock;
use crate::infra::metrics::Metrics;
use crate::store::audit::{self, AuditRow, NewAuditRow};
use crate::store::Store;

use super::error::SignInError;
use super::otp::{IssuedCode, Recipient};
pub use context::{RequestContext, MAX_USER_AGENT_CHARS};
pub use events::EventDelivery;

/// Bytes of the phone number's keyed hash that are kept.
const PHONE_HASH_BYTES: usize = 16;

/// One event, as the code that saw it happen describes it.
#[derive(Debug, Clone)]
pub struct Event {
    kind: EventKind,
    outcome: Outcome,
    reason: Option<&'static str>,
    subject: Option<String>,
    phone: Option<PhoneNumber>,
    client_id: Option<String>,
    method: Option<SignInMethod>,
}

impl Event {
    /// An event of `kind` that went through (`ok`), with nothing else known yet.
    pub fn new(kind: EventKind) -> Event {
        Event {
            kind,
            outcome: Outcome::Ok,
            reason: None,
            subject: None,
            phone: None,
            client_id: None,
            method: None,
        }
    }

    pub fn kind(mut self, kind: EventKind) -> Event {
        self.kind = kind;
        self
    }

    /// Whose event it is (an empty subject is none).
    pub fn subject(mut self, subject: &str) -> Event {
        self.subject = (!subject.is_empty()).then(|| subject.to_string());
        self
    }

    pub fn phone(mut self, phone: &PhoneNumber) -> Event {
        self.phone = Some(phone.clone());
        self
    }

    /// The OAuth2 client it happened for (an empty id is none).
    pub fn client(mut self, client_id: &str) -> Event {
        self.client_id = (!client_id.is_empty()).then(|| client_id.to_string());
        self
    }

    pub fn method(mut self, method: SignInMethod) -> Event {
        self.method = Some(method);
        self
    }

    /// How it ended, and why (one of a fixed set of words).
    pub fn outcome(mut self, outcome: Outcome, reason: &'static str) -> Event {
        self.outcome = outcome;
        self.reason = Some(reason);
        self
    }

    /// It did not go through because of `error`.
    pub fn failed(self, error: &SignInError) -> Event {
        let (outcome, reason) = reason::of(error);
        self.outcome(outcome, reason)
    }

    /// A code asked for: `code_sent`, or `code_refused` and why (a limit,
    /// the SMS policy, or no message for a number that is no one's).
    pub fn code(issued: &Result<(IssuedCode, Recipient), SignInError>) -> Event {
        let event = Event::new(EventKind::CodeSent).method(SignInMethod::Sms);
        let recipient = match issued {
            Ok((_, recipient)) => recipient,
            Err(error) => return Event::code_refused(error),
        };
        let event = match &recipient.subject {
            Some(subject) => event.subject(subject),
            None => event,
        };
        match recipient.withheld {
            None => event,
            Some(reason) => event
                .kind(EventKind::CodeRefused)
                .outcome(Outcome::Refused, reason),
        }
    }

    /// A code request refused by `error` (before or while issuing).
    pub fn code_refused(error: &SignInError) -> Event {
        Event::new(EventKind::CodeRefused)
            .method(SignInMethod::Sms)
            .failed(error)
    }

    /// A sign-in attempt by `method`; [`AuditTrail::signed_in`] records
    /// how it ended.
    pub fn sign_in(method: SignInMethod) -> Event {
        Event::new(EventKind::SigninFailed).method(method)
    }
}

/// Where events are written (and queued); cheap to clone. The default
/// trail records nothing (for programs that run the services alone).
#[derive(Clone, Default)]
pub struct AuditTrail {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    store: Store,
    phone_key: [u8; 32],
    /// The kinds queued for `[events] url`; None without one.
    sent: Option<EventKinds>,
    clock: Clock,
    metrics: Metrics,
    /// Rung when an event is queued, so the events worker sends it at once.
    wake: Arc<Notify>,
    /// Who asked, outside a request (the command line).
    fallback: RequestContext,
}

impl AuditTrail {
    /// `server_key`: the server secret, from which the phone hashes' key is
    /// derived (for this use only).
    pub fn new(store: Store, server_key: &[u8], events: &EventsConfig, clock: Clock) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(server_key).expect("any key length");
        mac.update(b"gatehouse audit phone v1");
        AuditTrail {
            inner: Some(Arc::new(Inner {
                store,
                phone_key: mac.finalize().into_bytes().into(),
                sent: events.url.as_ref().map(|_| events.kinds.clone()),
                clock,
                metrics: Metrics::default(),
                wake: Arc::default(),
                fallback: RequestContext::default(),
            })),
        }
    }

    /// Counts events by kind and result in `metrics`.
    pub fn with_metrics(self, metrics: Metrics) -> AuditTrail {
        self.with(|inner| inner.metrics = metrics)
    }

    /// Who asked when no request is being served (the command line).
    pub fn with_fallback(self, context: RequestContext) -> AuditTrail {
        self.with(|inner| inner.fallback = context)
    }

    fn with(mut self, change: impl FnOnce(&mut Inner)) -> AuditTrail {
        if let Some(inner) = self.inner.as_mut().and_then(Arc::get_mut) {
            change(inner);
        }
        self
    }

    /// The keyed hash stored with `phone`: what `gatehouse audit --phone`
    /// looks for. None for a trail that records nothing.
    pub fn phone_hash(&self, phone: &PhoneNumber) -> Option<Vec<u8>> {
        let inner = self.inner.as_ref()?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&inner.phone_key).expect("any key length");
        mac.update(phone.as_str().as_bytes());
        Some(mac.finalize().into_bytes()[..PHONE_HASH_BYTES].to_vec())
    }

    /// Writes `event` (and queues it for the receiver, when it wants this
    /// kind). A failed write is logged, never returned.
    pub async fn record(&self, event: Event) {
        let Some(inner) = &self.inner else {
            return;
        };
        let context = RequestContext::current().unwrap_or_else(|| inner.fallback.clone());
        let phone_hash = event
            .phone
            .as_ref()
            .and_then(|phone| self.phone_hash(phone));
        let row = AuditRow {
            id: 0,
            at: inner.clock.now(),
            kind: event.kind.as_str().into(),
            result: event.outcome.as_str().into(),
            reason: event.reason.map(str::to_string),
            subject: event.subject,
            phone_masked: event.phone.as_ref().map(PhoneNumber::masked),
            client_id: event.client_id,
            client_address: context.client_address.map(|ip| ip.to_string()),
            user_agent: context.user_agent,
            method: event.method.map(|m| m.as_str().to_string()),
            request_id: context.request_id,
        };
        // A person's events go in order; without a subject, a number's.
        let queued = inner
            .sent
            .as_ref()
            .is_some_and(|kinds| kinds.wants(event.kind));
        let ordering_key = row.subject.clone().or_else(|| {
            phone_hash
                .as_ref()
                .map(|hash| format!("phone:{}", hex::encode(hash)))
        });
        inner
            .metrics
            .audit_event(event.kind.as_str(), event.outcome.as_str());
        let written = inner
            .store
            .run(move |db| {
                let queue = queued.then_some(ordering_key.as_deref());
                let new = NewAuditRow {
                    row: &row,
                    phone_hash: phone_hash.as_deref(),
                    queue,
                };
                audit::insert(db, &new)
            })
            .await;
        match written {
            Ok(_) if queued => inner.wake.notify_one(),
            Ok(_) => {}
            Err(error) => {
                tracing::error!(%error, kind = %event.kind, "an audit event was not recorded")
            }
        }
    }

    /// Records a sign-in attempt's end, `signin_succeeded` by the subject
    /// `result` names or `signin_failed` and why, and passes the result on.
    pub async fn signed_in<T>(
        &self,
        attempt: Event,
        result: Result<(T, String), SignInError>,
    ) -> Result<T, SignInError> {
        let event = match &result {
            Ok((_, subject)) => attempt.kind(EventKind::SigninSucceeded).subject(subject),
            Err(error) => attempt.kind(EventKind::SigninFailed).failed(error),
        };
        self.record(event).await;
        result.map(|(value, _)| value)
    }

    /// The worker that sends queued events to `[events] url`; None without
    /// one (or for a trail that records nothing).
    pub fn delivery(&self, config: &EventsConfig) -> Option<EventDelivery> {
        let inner = self.inner.as_ref()?;
        EventDelivery::new(
            config,
            inner.store.clone(),
            inner.clock.clone(),
            inner.metrics.clone(),
            inner.wake.clone(),
        )
    }
}

/// An event as the receiver gets it and `gatehouse audit --json` prints it.
#[derive(Debug, Serialize)]
pub struct EventJson<'a> {
    pub id: i64,
    /// RFC 3339, UTC.
    pub time: String,
    pub kind: &'a str,
    pub result: &'a str,
    pub reason: Option<&'a str>,
    pub subject: Option<&'a str>,
    /// Masked: `+120•••23`.
    pub phone: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub client_address: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub method: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

impl<'a> EventJson<'a> {
    pub fn of(row: &'a AuditRow) -> EventJson<'a> {
        EventJson {
            id: row.id,
            time: rfc3339(row.at),
            kind: &row.kind,
            result: &row.result,
            reason: row.reason.as_deref(),
            subject: row.subject.as_deref(),
            phone: row.phone_masked.as_deref(),
            client_id: row.client_id.as_deref(),
            client_address: row.client_address.as_deref(),
            user_agent: row.user_agent.as_deref(),
            method: row.method.as_deref(),
            request_id: row.request_id.as_deref(),
        }
    }
}

/// Unix seconds as RFC 3339 in UTC, e.g. `2026-01-15T09:30:00Z`.
pub fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| unix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_800_000_000), "2027-01-15T08:00:00Z");
    }
}
