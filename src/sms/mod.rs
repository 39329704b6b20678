//! SMS delivery: stdout for development, an HTTP webhook for production.

mod stdout;
mod webhook;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::{SmsConfig, SmsSenderKind};
use crate::domain::{OtpCode, PhoneNumber};

pub use webhook::WebhookSender;
pub use webhook::{error_chain, sign, SIGNATURE_HEADER};

/// One text message carrying a sign-in code.
pub struct SmsMessage<'a> {
    pub phone: &'a PhoneNumber,
    pub code: &'a OtpCode,
    /// The rendered template, ready to send.
    pub text: String,
}

/// Why one attempt to send a message failed. Never contains the code.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("the SMS gateway did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// Connection errors, 5xx and 429: worth another try later, no sooner
    /// than `retry_after` when the gateway said so.
    #[error("the SMS gateway is unavailable: {reason}")]
    Unavailable {
        reason: String,
        retry_after: Option<std::time::Duration>,
    },
    /// Any other answer: sending the same message again will not help.
    #[error("the SMS gateway refused the message: HTTP {0}")]
    Rejected(reqwest::StatusCode),
}

impl SmsError {
    /// May the same message succeed on another attempt?
    pub fn is_transient(&self) -> bool {
        !matches!(self, SmsError::Rejected(_))
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
    Webhook(WebhookSender),
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
    pub fn from_config(config: &SmsConfig) -> SmsSender {
        match &config.sender {
            SmsSenderKind::Stdout => SmsSender::Stdout,
            SmsSenderKind::Webhook { url } => {
                SmsSender::Webhook(WebhookSender::new(url, &config.webhook))
            }
        }
    }

    /// One attempt to hand `message` over; retrying is the caller's
    /// business (`signin::otp::delivery`).
    pub async fn send(&self, message: &SmsMessage<'_>) -> Result<(), SmsError> {
        match self {
            SmsSender::Stdout => {
                stdout::send(message);
                Ok(())
            }
            SmsSender::Webhook(webhook) => webhook.send(message).await,
            SmsSender::Memory(outbox) => {
                outbox.keep(message.phone.as_str(), message.code.digits());
                Ok(())
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
