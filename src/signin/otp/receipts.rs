//! Delivery receipts: what a provider says became of a text after it took
//! it. Each is checked (the provider's signature), matched to the message
//! (`store::receipts`), counted per provider and country, and a failed
//! delivery withdraws the code and refunds its send at once, rather than
//! leaving the person to wait out the code and their limits.

use crate::config::{Config, Secret, SmsSenderKind, VonageReceipts};
use crate::infra::clock::Clock;
use crate::infra::metrics::Metrics;
use crate::sms::{twilio, vonage};
use crate::store::receipts::{self, ReceiptStatus};
use crate::store::{Store, StoreError};

/// Where Twilio posts its status callbacks (under `server.public_url`).
pub const TWILIO_RECEIPT_PATH: &str = twilio::RECEIPT_PATH;
/// Where Vonage sends its delivery receipts (under `server.public_url`).
pub const VONAGE_RECEIPT_PATH: &str = vonage::RECEIPT_PATH;

#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("delivery receipts from this provider are not turned on")]
    NotConfigured,
    #[error("the receipt's signature is missing or wrong")]
    BadSignature,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct DeliveryReceipts {
    store: Store,
    clock: Clock,
    metrics: Metrics,
    twilio: Option<TwilioReceipts>,
    vonage: Option<VonageReceipts>,
}

/// What checks Twilio's signature: the Auth Token, and the callback URL
/// exactly as gatehouse gave it to Twilio.
#[derive(Clone)]
struct TwilioReceipts {
    auth_token: Secret,
    url: String,
}

impl DeliveryReceipts {
    pub fn from_config(config: &Config, store: Store, clock: Clock) -> DeliveryReceipts {
        let twilio = config.sms.chain().find_map(|kind| match kind {
            SmsSenderKind::Twilio(c) if c.delivery_receipts => Some(TwilioReceipts {
                auth_token: c.auth_token.clone(),
                url: format!("{}{TWILIO_RECEIPT_PATH}", config.public_origin()),
            }),
            _ => None,
        });
        let vonage = config.sms.chain().find_map(|kind| match kind {
            SmsSenderKind::Vonage(c) => c.delivery_receipts.clone(),
            _ => None,
        });
        DeliveryReceipts {
            store,
            clock,
            metrics: Metrics::default(),
            twilio,
            vonage,
        }
    }

    pub fn with_metrics(mut self, metrics: Metrics) -> DeliveryReceipts {
        self.metrics = metrics;
        self
    }

    /// A Twilio status callback: its `X-Twilio-Signature` and its POST
    /// parameters. `delivered` and `undelivered`/`failed` are recorded;
    /// the statuses on the way (`queued`, `sent`, ...) change nothing.
    pub async fn twilio(
        &self,
        signature: Option<&str>,
        params: &[(String, String)],
    ) -> Result<(), ReceiptError> {
        let config = self.twilio.as_ref().ok_or(ReceiptError::NotConfigured)?;
        let signature = signature.ok_or(ReceiptError::BadSignature)?;
        if !twilio::verify(config.auth_token.expose(), &config.url, params, signature) {
            return Err(ReceiptError::BadSignature);
        }
        let status = match param(params, "MessageStatus") {
            Some("delivered") => ReceiptStatus::Delivered,
            Some("undelivered" | "failed") => ReceiptStatus::Failed,
            _ => return Ok(()),
        };
        match param(params, "MessageSid") {
            Some(sid) => self.record("twilio", sid.to_string(), status).await,
            None => Ok(()),
        }
    }

    /// Are Vonage's receipts read (`delivery_receipts` with a signature
    /// secret)? Otherwise its path is not served.
    pub fn reads_vonage(&self) -> bool {
        self.vonage.is_some()
    }

    /// A Vonage delivery receipt (its parameters from the query, the form
    /// or the JSON body, as the dashboard's webhook method says), signed
    /// with the signature secret and no older than five minutes.
    /// `delivered` and `expired`/`failed`/`rejected` are recorded;
    /// `accepted`, `buffered` and `unknown` change nothing.
    pub async fn vonage(&self, params: &[(String, String)]) -> Result<(), ReceiptError> {
        let config = self.vonage.as_ref().ok_or(ReceiptError::NotConfigured)?;
        let secret = config.signature_secret.expose();
        let now = self.clock.now();
        if !vonage::verify(secret, config.signature_method, params, now) {
            return Err(ReceiptError::BadSignature);
        }
        let status = match param(params, "status") {
            Some("delivered") => ReceiptStatus::Delivered,
            Some("expired" | "failed" | "rejected") => ReceiptStatus::Failed,
            _ => return Ok(()),
        };
        match param(params, "messageId") {
            Some(id) => self.record("vonage", id.to_string(), status).await,
            None => Ok(()),
        }
    }

    async fn record(
        &self,
        provider: &'static str,
        message_id: String,
        status: ReceiptStatus,
    ) -> Result<(), ReceiptError> {
        let now = self.clock.now();
        let recorded = self
            .store
            .run(move |db| receipts::record(db, provider, &message_id, status, now))
            .await?;
        let Some(recorded) = recorded.filter(|r| r.changed) else {
            return Ok(());
        };
        self.metrics
            .sms_receipt(provider, &recorded.country, status.as_str());
        if status == ReceiptStatus::Failed {
            tracing::warn!(
                provider,
                country = %recorded.country,
                refunded = recorded.refunded,
                "the provider could not deliver a sign-in code; withdrawn so a new one can be \
                 asked for"
            );
        }
        Ok(())
    }
}

/// The first value of the parameter `name`.
fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}
