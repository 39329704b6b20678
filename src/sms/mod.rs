//! SMS delivery: stdout for development; for production the operator's
//! webhook or a provider gatehouse speaks to directly (Twilio, Vonage,
//! Bird, Amazon SNS), one or several in order (`failover`).

mod answer;
mod aws_sns;
pub mod delegate;
mod failover;
mod messagebird;
mod provider;
mod sigv4;
mod stdout;
pub mod twilio;
pub mod vonage;
mod webhook;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use url::Url;

use crate::config::{SmsConfig, SmsSenderKind};
use crate::domain::{OtpCode, PhoneNumber};
use crate::infra::metrics::Metrics;

pub use failover::Failover;
pub use provider::{CredentialCheck, Provider};
pub use sigv4::{sign as sigv4_sign, SigV4Request, SigV4Signing};
pub use webhook::WebhookSender;
pub use webhook::{sign, SIGNATURE_HEADER};

/// One text message carrying a sign-in code.
pub struct SmsMessage<'a> {
    pub phone: &'a PhoneNumber,
    pub code: &'a OtpCode,
    /// The rendered template, ready to send.
    pub text: String,
    /// The same at every attempt to send this message, on every instance
    /// (derived from its code's id, which it does not reveal): the webhook
    /// sends it as `Idempotency-Key`, so a gateway can drop a repeat (after
    /// an instance died between the gateway's answer and noting it).
    pub idempotency_key: &'a str,
}

/// A message a sender took: who took it, and the id it gave the message
/// (for its delivery receipts), when it gives one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub provider: &'static str,
    pub message_id: Option<String>,
}

/// Why one attempt to send a message failed. Never contains the code.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("the SMS gateway did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// Connection errors, 5xx and 429 (or the provider's own word for
    /// "busy"): worth another try later, no sooner than `retry_after` when
    /// the gateway said so.
    #[error("the SMS gateway is unavailable: {reason}")]
    Unavailable {
        reason: String,
        retry_after: Option<std::time::Duration>,
    },
    /// Any other refusal (credentials, balance, a 4xx): this gateway will
    /// not send this message; another one may.
    #[error("the SMS gateway refused the message: {0}")]
    Rejected(String),
    /// The provider says the number cannot get texts (invalid, not a
    /// mobile, barred): final, no other gateway is tried.
    #[error("the SMS gateway says the number cannot receive texts: {0}")]
    InvalidNumber(String),
}

impl SmsError {
    /// May the same message succeed on another attempt?
    pub fn is_transient(&self) -> bool {
        matches!(self, SmsError::Timeout(_) | SmsError::Unavailable { .. })
    }

    /// How long the gateway asked us to wait (`Retry-After`), if it did.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            SmsError::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

#[derive(Clone)]
pub enum SmsSender {
    Stdout,
    /// The webhook or providers of `sms.sender` / `sms.senders`, in order.
    Gateways(Failover),
    /// Never chosen by configuration: for programs that drive
    /// [`crate::signin::otp::OtpService`] directly (the benchmark) and read the codes.
    Memory(MemoryOutbox),
}

/// The last code sent to each phone, kept in memory.
#[derive(Clone, Default)]
pub struct MemoryOutbox {
    codes: Arc<Mutex<HashMap<String, String>>>,
    arrived: Arc<tokio::sync::Notify>,
}

impl MemoryOutbox {
    /// Keeps `code` as the last one sent to `phone` (E.164).
    pub fn keep(&self, phone: &str, code: &str) {
        let mut codes = self.codes.lock().unwrap_or_else(|e| e.into_inner());
        codes.insert(phone.to_string(), code.to_string());
        self.arrived.notify_waiters();
    }

    /// Takes the last code sent to `phone` (E.164).
    pub fn take(&self, phone: &str) -> Option<String> {
        let mut codes = self.codes.lock().unwrap_or_else(|e| e.into_inner());
        codes.remove(phone)
    }

    /// Takes the code sent to `phone`, waiting up to `limit` for the
    /// outbox worker to send one.
    pub async fn wait_for(&self, phone: &str, limit: std::time::Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            // Listening before looking, so a code sent in between is not missed.
            arrived.as_mut().enable();
            if let Some(code) = self.take(phone) {
                return Some(code);
            }
            tokio::time::timeout_at(deadline, arrived).await.ok()?;
        }
    }
}

impl SmsSender {
    /// The senders `config` names; `public_url` is where providers send
    /// their delivery receipts (`server.public_url`).
    pub fn from_config(config: &SmsConfig, public_url: &Url) -> SmsSender {
        if config.sender == SmsSenderKind::Stdout {
            return SmsSender::Stdout;
        }
        let providers = config
            .chain()
            .filter_map(|kind| Provider::from_config(kind, config, public_url))
            .collect();
        SmsSender::Gateways(Failover::new(providers, config.cool_off))
    }

    /// Counts each provider's sends, failures and latency in `metrics`.
    pub fn with_metrics(self, metrics: Metrics) -> SmsSender {
        match self {
            SmsSender::Gateways(failover) => SmsSender::Gateways(failover.with_metrics(metrics)),
            other => other,
        }
    }

    /// One attempt to hand `message` over (to each gateway in turn, when
    /// there are several); retrying later is the caller's business
    /// (`signin::otp::delivery`).
    pub async fn send(&self, message: &SmsMessage<'_>) -> Result<Sent, SmsError> {
        match self {
            SmsSender::Stdout => {
                stdout::send(message);
                Ok(Sent {
                    provider: "stdout",
                    message_id: None,
                })
            }
            SmsSender::Gateways(failover) => failover.send(message).await,
            SmsSender::Memory(outbox) => {
                outbox.keep(message.phone.as_str(), message.code.digits());
                Ok(Sent {
                    provider: "memory",
                    message_id: None,
                })
            }
        }
    }
}

/// Fills `{app}` and `{code}` in the configured template.
pub fn render(template: &str, app_name: &str, code: &OtpCode) -> String {
    template
        .replace("{app}", app_name)
        .replace("{code}", code.digits())
}
