//! The chain of `sms.senders`: within one outbox attempt each message goes
//! to the first gateway that takes it. A gateway that timed out, answered
//! 5xx or 429 (or its own word for busy) is skipped for `sms.cool_off` (a
//! small circuit breaker, in memory) while there are others; an answer
//! that the number cannot get texts is final and tried nowhere else. With
//! one gateway there is nothing to skip to, and nothing is skipped.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Provider, Sent, SmsError, SmsMessage};
use crate::infra::metrics::Metrics;

#[derive(Clone)]
pub struct Failover {
    gates: Arc<[Gate]>,
    cool_off: Duration,
    metrics: Metrics,
}

struct Gate {
    provider: Provider,
    /// Skipped until then, after a transient failure.
    open_until: Mutex<Option<Instant>>,
}

impl Gate {
    /// How long it is still skipped, if it is.
    fn cooling(&self, now: Instant) -> Option<Duration> {
        let until = (*self.open_until.lock().unwrap_or_else(|e| e.into_inner()))?;
        until
            .checked_duration_since(now)
            .filter(|left| !left.is_zero())
    }

    fn set_open_until(&self, until: Option<Instant>) {
        *self.open_until.lock().unwrap_or_else(|e| e.into_inner()) = until;
    }
}

/// What the gateways said, none of them having taken the message.
#[derive(Default)]
struct Failures {
    transient: Option<SmsError>,
    rejected: Option<SmsError>,
    /// The soonest a skipped gateway may be tried again.
    cooling: Option<Duration>,
}

impl Failover {
    pub fn new(providers: Vec<Provider>, cool_off: Duration) -> Failover {
        let gates = providers
            .into_iter()
            .map(|provider| Gate {
                provider,
                open_until: Mutex::new(None),
            })
            .collect();
        Failover {
            gates,
            cool_off,
            metrics: Metrics::default(),
        }
    }

    pub fn with_metrics(mut self, metrics: Metrics) -> Failover {
        self.metrics = metrics;
        self
    }

    /// The gateways, in order.
    pub fn providers(&self) -> impl Iterator<Item = &Provider> {
        self.gates.iter().map(|gate| &gate.provider)
    }

    /// One attempt: each gateway in turn until one takes the message.
    pub async fn send(&self, message: &SmsMessage<'_>) -> Result<Sent, SmsError> {
        let several = self.gates.len() > 1;
        let mut failures = Failures::default();
        for gate in self.gates.iter() {
            let name = gate.provider.name();
            if several {
                if let Some(left) = gate.cooling(Instant::now()) {
                    self.metrics.sms_provider_skipped(name);
                    failures.cooling = Some(failures.cooling.map_or(left, |c| c.min(left)));
                    continue;
                }
            }
            let started = Instant::now();
            let result = gate.provider.send(message).await;
            self.metrics
                .sms_provider_request(name, outcome(&result), started.elapsed());
            let error = match result {
                Ok(message_id) => {
                    gate.set_open_until(None);
                    return Ok(Sent {
                        provider: name,
                        message_id,
                    });
                }
                Err(error) => error,
            };
            let phone = message.phone.masked();
            if let SmsError::InvalidNumber(_) = error {
                return Err(error);
            }
            if several {
                tracing::warn!(provider = name, %phone, %error, "SMS provider could not take the message");
            }
            if error.is_transient() {
                if several {
                    gate.set_open_until(Some(Instant::now() + self.cool_off));
                }
                failures.transient.get_or_insert(error);
            } else {
                failures.rejected.get_or_insert(error);
            }
        }
        Err(failures.into_error())
    }
}

impl Failures {
    /// Later when a gateway may yet take the message; refused when every
    /// one tried refused it and none is cooling off.
    fn into_error(self) -> SmsError {
        if let Some(error) = self.transient {
            return error;
        }
        match (self.cooling, self.rejected) {
            (Some(wait), _) => SmsError::Unavailable {
                reason: "every SMS sender that could take it is cooling off after failing".into(),
                retry_after: Some(wait),
            },
            (None, Some(error)) => error,
            (None, None) => SmsError::Rejected("no SMS sender is configured".into()),
        }
    }
}

/// The `result` label of a request.
fn outcome(result: &Result<Option<String>, SmsError>) -> &'static str {
    match result {
        Ok(_) => "sent",
        Err(SmsError::InvalidNumber(_)) => "invalid_number",
        Err(error) if error.is_transient() => "unavailable",
        Err(_) => "rejected",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected() -> SmsError {
        SmsError::Rejected("HTTP 401".into())
    }

    #[test]
    fn a_message_no_gateway_took_waits_while_any_may_yet_take_it() {
        let busy = SmsError::Unavailable {
            reason: "HTTP 500".into(),
            retry_after: Some(Duration::from_secs(7)),
        };
        let failures = Failures {
            transient: Some(busy),
            rejected: Some(rejected()),
            cooling: Some(Duration::from_secs(30)),
        };
        assert_eq!(
            failures.into_error().retry_after(),
            Some(Duration::from_secs(7))
        );
        // One refused, the other cooling off: later, when it is back.
        let failures = Failures {
            transient: None,
            rejected: Some(rejected()),
            cooling: Some(Duration::from_secs(30)),
        };
        let error = failures.into_error();
        assert!(error.is_transient(), "{error}");
        assert_eq!(error.retry_after(), Some(Duration::from_secs(30)));
        // Every one refused it: final.
        let failures = Failures {
            rejected: Some(rejected()),
            ..Failures::default()
        };
        assert!(matches!(failures.into_error(), SmsError::Rejected(_)));
    }
}
