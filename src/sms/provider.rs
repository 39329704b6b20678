//! One gateway of the chain: the operator's webhook or a provider API.

use url::Url;

use super::aws_sns::AwsSns;
use super::messagebird::MessageBird;
use super::twilio::Twilio;
use super::vonage::Vonage;
use super::{SmsError, SmsMessage, WebhookSender};
use crate::config::{SmsConfig, SmsSenderKind};

#[derive(Clone)]
pub enum Provider {
    Webhook(WebhookSender),
    Twilio(Twilio),
    Vonage(Vonage),
    MessageBird(MessageBird),
    AwsSns(AwsSns),
}

/// What `doctor` learns from a provider's credentials.
#[derive(Debug)]
pub enum CredentialCheck {
    /// A call that sends nothing was answered; what it said.
    Accepted(String),
    /// The call failed: why.
    Refused(String),
    /// The webhook has no such call.
    NotApplicable,
}

impl Provider {
    /// The gateway `kind` names (`None` for stdout, which is no gateway);
    /// `public_url` is where delivery receipts come back.
    pub fn from_config(
        kind: &SmsSenderKind,
        sms: &SmsConfig,
        public_url: &Url,
    ) -> Option<Provider> {
        Some(match kind {
            SmsSenderKind::Stdout => return None,
            SmsSenderKind::Webhook { url } => {
                Provider::Webhook(WebhookSender::new(url, &sms.webhook))
            }
            SmsSenderKind::Twilio(c) => Provider::Twilio(Twilio::new(c, public_url)),
            SmsSenderKind::Vonage(c) => Provider::Vonage(Vonage::new(c, public_url)),
            SmsSenderKind::MessageBird(c) => Provider::MessageBird(MessageBird::new(c)),
            SmsSenderKind::AwsSns(c) => Provider::AwsSns(AwsSns::new(c)),
        })
    }

    /// Its name in `sms.senders`, logs and metric labels.
    pub fn name(&self) -> &'static str {
        match self {
            Provider::Webhook(_) => "webhook",
            Provider::Twilio(_) => "twilio",
            Provider::Vonage(_) => "vonage",
            Provider::MessageBird(_) => "messagebird",
            Provider::AwsSns(_) => "aws_sns",
        }
    }

    /// One request; the provider's id for the message, when it gives one.
    pub async fn send(&self, message: &SmsMessage<'_>) -> Result<Option<String>, SmsError> {
        match self {
            Provider::Webhook(p) => p.send(message).await,
            Provider::Twilio(p) => p.send(message).await,
            Provider::Vonage(p) => p.send(message).await,
            Provider::MessageBird(p) => p.send(message).await,
            Provider::AwsSns(p) => p.send(message).await,
        }
    }

    /// Asks the provider something that proves the credentials and sends
    /// no text (Twilio's account, Vonage's and Bird's balance, SNS's SMS
    /// attributes).
    pub async fn check_credentials(&self) -> CredentialCheck {
        let answer = match self {
            Provider::Webhook(_) => return CredentialCheck::NotApplicable,
            Provider::Twilio(p) => p.check().await,
            Provider::Vonage(p) => p.check().await,
            Provider::MessageBird(p) => p.check().await,
            Provider::AwsSns(p) => p.check().await,
        };
        match answer {
            Ok(said) => CredentialCheck::Accepted(said),
            Err(why) => CredentialCheck::Refused(why),
        }
    }
}
