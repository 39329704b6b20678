//! SMS delivery: stdout for development, an HTTP webhook for production.

mod stdout;
mod webhook;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::{SmsConfig, SmsSenderKind};
use crate::domain::{OtpCode, PhoneNumber};

pub use webhook::error_chain;
pub use webhook::WebhookSender;

/// One text message carrying a sign-in code.
pub struct SmsMessage<'a> {
    pub phone: &'a PhoneNumber,
    pub code: &'a OtpCode,
    /// The rendered template, ready to send.
    pub text: String,
}

/// Why a message could not be sent. Never contains the code.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("SMS webhook did not answer within {0:?}")]
    Timeout(std::time::Duration),
    #[error("SMS webhook refused the message: HTTP {0}")]
    Rejected(reqwest::StatusCode),
    #[error("SMS webhook failed after {attempts} attempts: {last}")]
    GaveUp { attempts: u32, last: String },
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
}

impl MemoryOutbox {
    fn keep(&self, message: &SmsMessage<'_>) {
        let mut codes = self.codes.lock().unwrap_or_else(|e| e.into_inner());
        codes.insert(
            message.phone.as_str().to_string(),
            message.code.digits().to_string(),
        );
    }

    /// Takes the last code sent to `phone` (E.164).
    pub fn take(&self, phone: &str) -> Option<String> {
        let mut codes = self.codes.lock().unwrap_or_else(|e| e.into_inner());
        codes.remove(phone)
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

    pub async fn send(&self, message: &SmsMessage<'_>) -> Result<(), SmsError> {
        match self {
            SmsSender::Stdout => {
                stdout::send(message);
                Ok(())
            }
            SmsSender::Webhook(webhook) => {
                crate::infra::metrics::upstream(webhook.send(message)).await
            }
            SmsSender::Memory(outbox) => {
                outbox.keep(message);
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
