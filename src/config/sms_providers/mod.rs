//! `[sms.twilio]`, `[sms.vonage]`, `[sms.messagebird]` and `[sms.aws_sns]`:
//! the SMS providers gatehouse speaks to directly. Each section is read
//! whatever the sender, but its required keys are required only when
//! `sms.sender` or `sms.senders` names it; the parsed settings then travel
//! in [`super::SmsSenderKind`].

use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::checks::check_http_url;
use super::{ConfigError, Secret};

/// What a provider's request may take at most, by default.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// `[sms.twilio]`: Twilio's Messages resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwilioConfig {
    /// `AC...`: in the URL and the Basic auth user name.
    pub account_sid: String,
    pub auth_token: Secret,
    /// Who the text comes from.
    pub origin: TwilioOrigin,
    /// `https://api.twilio.com` (tests and edge locations set another).
    pub base_url: Url,
    pub timeout: Duration,
    /// Asks Twilio for status callbacks at `<public_url>/sms/receipts/twilio`.
    pub delivery_receipts: bool,
}

/// Twilio's `From` or `MessagingServiceSid`: exactly one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TwilioOrigin {
    From(String),
    MessagingService(String),
}

/// `[sms.vonage]`: Vonage's SMS API (`POST /sms/json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VonageConfig {
    pub api_key: String,
    pub api_secret: Secret,
    /// A number or an alphanumeric sender id.
    pub from: String,
    /// `https://rest.nexmo.com`.
    pub base_url: Url,
    pub timeout: Duration,
    /// Asks for delivery receipts at `<public_url>/sms/receipts/vonage`,
    /// accepted only when signed with this.
    pub delivery_receipts: Option<VonageReceipts>,
}

/// What checks the `sig` of Vonage's signed delivery receipts: the
/// signature secret and method set in Vonage's dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VonageReceipts {
    pub signature_secret: Secret,
    pub signature_method: VonageSignatureMethod,
}

/// Vonage's signature methods: "MD5 hash" (MD5 of the parameters and the
/// secret), the dashboard's default and so gatehouse's, or an HMAC.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VonageSignatureMethod {
    #[default]
    Md5hash,
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

/// `[sms.messagebird]`: Bird's (MessageBird's) REST messages API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBirdConfig {
    /// Sent as `Authorization: AccessKey <access_key>`.
    pub access_key: Secret,
    /// A number or an alphanumeric sender of up to 11 characters.
    pub originator: String,
    /// `https://rest.messagebird.com`.
    pub base_url: Url,
    pub timeout: Duration,
}

/// `[sms.aws_sns]`: Amazon SNS `Publish` to a phone number, signed with SigV4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSnsConfig {
    /// `eu-west-1`: signed into every request.
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    /// `https://sns.<region>.amazonaws.com/` unless set.
    pub base_url: Url,
    pub timeout: Duration,
}

/// `[sms.twilio]` as written in the file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TwilioFile {
    account_sid: Option<String>,
    auth_token: Option<Secret>,
    from: Option<String>,
    messaging_service_sid: Option<String>,
    base_url: Url,
    #[serde(with = "humantime_serde")]
    timeout: Duration,
    delivery_receipts: bool,
}

/// `[sms.vonage]` as written in the file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VonageFile {
    api_key: Option<String>,
    api_secret: Option<Secret>,
    from: Option<String>,
    base_url: Url,
    #[serde(with = "humantime_serde")]
    timeout: Duration,
    delivery_receipts: bool,
    signature_secret: Option<Secret>,
    signature_method: VonageSignatureMethod,
}

/// `[sms.messagebird]` as written in the file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MessageBirdFile {
    access_key: Option<Secret>,
    originator: Option<String>,
    base_url: Url,
    #[serde(with = "humantime_serde")]
    timeout: Duration,
}

/// `[sms.aws_sns]` as written in the file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AwsSnsFile {
    region: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<Secret>,
    base_url: Option<Url>,
    #[serde(with = "humantime_serde")]
    timeout: Duration,
}

fn url(text: &str) -> Url {
    Url::parse(text).expect("a built-in URL parses")
}

impl Default for TwilioFile {
    fn default() -> Self {
        TwilioFile {
            account_sid: None,
            auth_token: None,
            from: None,
            messaging_service_sid: None,
            base_url: url("https://api.twilio.com"),
            timeout: DEFAULT_TIMEOUT,
            delivery_receipts: false,
        }
    }
}

impl Default for VonageFile {
    fn default() -> Self {
        VonageFile {
            api_key: None,
            api_secret: None,
            from: None,
            base_url: url("https://rest.nexmo.com"),
            timeout: DEFAULT_TIMEOUT,
            delivery_receipts: false,
            signature_secret: None,
            signature_method: VonageSignatureMethod::default(),
        }
    }
}

impl Default for MessageBirdFile {
    fn default() -> Self {
        MessageBirdFile {
            access_key: None,
            originator: None,
            base_url: url("https://rest.messagebird.com"),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl Default for AwsSnsFile {
    fn default() -> Self {
        AwsSnsFile {
            region: None,
            access_key_id: None,
            secret_access_key: None,
            base_url: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// `value`, which `sms.senders` naming `provider` makes mandatory.
fn required<T>(key: &str, value: Option<T>, provider: &str) -> Result<T, ConfigError> {
    value.ok_or_else(|| {
        ConfigError::key(
            key,
            format!("required when sms.sender or sms.senders names \"{provider}\""),
        )
    })
}

/// A text value that must say something.
fn filled(key: &str, value: String) -> Result<String, ConfigError> {
    if value.trim().is_empty() {
        return Err(ConfigError::key(key, "must not be empty"));
    }
    Ok(value)
}

fn secret(key: &str, value: Option<Secret>, provider: &str) -> Result<Secret, ConfigError> {
    let value = required(key, value, provider)?;
    if value.is_blank() {
        return Err(ConfigError::key(key, "must not be empty"));
    }
    Ok(value)
}

fn timeout(key: &str, timeout: Duration) -> Result<Duration, ConfigError> {
    if timeout.is_zero() {
        return Err(ConfigError::key(key, "must be more than 0"));
    }
    Ok(timeout)
}

fn base_url(key: &str, url: Url) -> Result<Url, ConfigError> {
    check_http_url(key, &url)?;
    Ok(url)
}

impl TwilioFile {
    pub(super) fn parse(&self) -> Result<TwilioConfig, ConfigError> {
        let origin = match (self.from.clone(), self.messaging_service_sid.clone()) {
            (Some(from), None) => TwilioOrigin::From(filled("sms.twilio.from", from)?),
            (None, Some(sid)) => {
                TwilioOrigin::MessagingService(filled("sms.twilio.messaging_service_sid", sid)?)
            }
            _ => {
                return Err(ConfigError::key(
                    "sms.twilio.from",
                    "set either from (a Twilio number or sender id) or messaging_service_sid, \
                     not both",
                ))
            }
        };
        let sid = required("sms.twilio.account_sid", self.account_sid.clone(), "twilio")?;
        if !sid.starts_with("AC") || !sid.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ConfigError::key(
                "sms.twilio.account_sid",
                "must be the Account SID (AC followed by 32 hex digits)",
            ));
        }
        Ok(TwilioConfig {
            account_sid: sid,
            auth_token: secret("sms.twilio.auth_token", self.auth_token.clone(), "twilio")?,
            origin,
            base_url: base_url("sms.twilio.base_url", self.base_url.clone())?,
            timeout: timeout("sms.twilio.timeout", self.timeout)?,
            delivery_receipts: self.delivery_receipts,
        })
    }

    pub(super) fn printed(config: &TwilioConfig) -> TwilioFile {
        let (from, messaging_service_sid) = match &config.origin {
            TwilioOrigin::From(from) => (Some(from.clone()), None),
            TwilioOrigin::MessagingService(sid) => (None, Some(sid.clone())),
        };
        TwilioFile {
            account_sid: Some(config.account_sid.clone()),
            auth_token: Some(config.auth_token.clone()),
            from,
            messaging_service_sid,
            base_url: config.base_url.clone(),
            timeout: config.timeout,
            delivery_receipts: config.delivery_receipts,
        }
    }
}

impl VonageFile {
    pub(super) fn parse(&self) -> Result<VonageConfig, ConfigError> {
        let api_key = required("sms.vonage.api_key", self.api_key.clone(), "vonage")?;
        let from = required("sms.vonage.from", self.from.clone(), "vonage")?;
        let delivery_receipts = match (&self.signature_secret, self.delivery_receipts) {
            (_, false) => None,
            (Some(secret), true) if !secret.is_blank() => Some(VonageReceipts {
                signature_secret: secret.clone(),
                signature_method: self.signature_method,
            }),
            (_, true) => {
                return Err(ConfigError::key(
                    "sms.vonage.signature_secret",
                    "required with delivery_receipts = true: gatehouse accepts only signed \
                     receipts (ask Vonage to sign webhooks, then copy the signature secret and \
                     method from the dashboard)",
                ))
            }
        };
        Ok(VonageConfig {
            api_key: filled("sms.vonage.api_key", api_key)?,
            api_secret: secret("sms.vonage.api_secret", self.api_secret.clone(), "vonage")?,
            from: filled("sms.vonage.from", from)?,
            base_url: base_url("sms.vonage.base_url", self.base_url.clone())?,
            timeout: timeout("sms.vonage.timeout", self.timeout)?,
            delivery_receipts,
        })
    }

    /// Why the receipt settings do nothing here, when they do nothing
    /// (`in_use`: `sms.sender` or `sms.senders` names "vonage"): a warning,
    /// not an error, as a section not in use may stay as it is.
    pub(super) fn idle_receipts(&self, in_use: bool) -> Option<String> {
        let secret = self
            .signature_secret
            .as_ref()
            .is_some_and(|s| !s.is_blank());
        if !in_use && (secret || self.delivery_receipts) {
            let key = if secret {
                "signature_secret"
            } else {
                "delivery_receipts"
            };
            return Some(format!(
                "configuration key `sms.vonage.{key}`: set, but neither sms.sender nor \
                 sms.senders names \"vonage\": no Vonage delivery receipts are read"
            ));
        }
        if in_use && secret && !self.delivery_receipts {
            return Some(
                "configuration key `sms.vonage.signature_secret`: set, but \
                 sms.vonage.delivery_receipts is false: Vonage is not asked for receipts and \
                 /sms/receipts/vonage is not served"
                    .into(),
            );
        }
        None
    }

    pub(super) fn printed(config: &VonageConfig) -> VonageFile {
        let receipts = config.delivery_receipts.as_ref();
        VonageFile {
            api_key: Some(config.api_key.clone()),
            api_secret: Some(config.api_secret.clone()),
            from: Some(config.from.clone()),
            base_url: config.base_url.clone(),
            timeout: config.timeout,
            delivery_receipts: config.delivery_receipts.is_some(),
            signature_secret: receipts.map(|r| r.signature_secret.clone()),
            signature_method: receipts.map(|r| r.signature_method).unwrap_or_default(),
        }
    }
}

impl MessageBirdFile {
    pub(super) fn parse(&self) -> Result<MessageBirdConfig, ConfigError> {
        let key = "sms.messagebird.originator";
        let originator = filled(key, required(key, self.originator.clone(), "messagebird")?)?;
        let alphanumeric = originator.chars().any(|c| !c.is_ascii_digit() && c != '+');
        if alphanumeric && originator.chars().count() > 11 {
            return Err(ConfigError::key(
                key,
                "an alphanumeric originator has at most 11 characters",
            ));
        }
        let access_key = self.access_key.clone();
        Ok(MessageBirdConfig {
            access_key: secret("sms.messagebird.access_key", access_key, "messagebird")?,
            originator,
            base_url: base_url("sms.messagebird.base_url", self.base_url.clone())?,
            timeout: timeout("sms.messagebird.timeout", self.timeout)?,
        })
    }

    pub(super) fn printed(config: &MessageBirdConfig) -> MessageBirdFile {
        MessageBirdFile {
            access_key: Some(config.access_key.clone()),
            originator: Some(config.originator.clone()),
            base_url: config.base_url.clone(),
            timeout: config.timeout,
        }
    }
}

impl AwsSnsFile {
    pub(super) fn parse(&self) -> Result<AwsSnsConfig, ConfigError> {
        let region = required("sms.aws_sns.region", self.region.clone(), "aws_sns")?;
        let valid = !region.is_empty()
            && region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            return Err(ConfigError::key(
                "sms.aws_sns.region",
                format!("`{region}` is not an AWS region such as \"eu-west-1\""),
            ));
        }
        let key_id = "sms.aws_sns.access_key_id";
        let access_key_id = filled(
            key_id,
            required(key_id, self.access_key_id.clone(), "aws_sns")?,
        )?;
        let endpoint = match &self.base_url {
            Some(url) => base_url("sms.aws_sns.base_url", url.clone())?,
            None => url(&format!("https://sns.{region}.amazonaws.com/")),
        };
        let secret_key = self.secret_access_key.clone();
        Ok(AwsSnsConfig {
            secret_access_key: secret("sms.aws_sns.secret_access_key", secret_key, "aws_sns")?,
            region,
            access_key_id,
            base_url: endpoint,
            timeout: timeout("sms.aws_sns.timeout", self.timeout)?,
        })
    }

    pub(super) fn printed(config: &AwsSnsConfig) -> AwsSnsFile {
        AwsSnsFile {
            region: Some(config.region.clone()),
            access_key_id: Some(config.access_key_id.clone()),
            secret_access_key: Some(config.secret_access_key.clone()),
            base_url: Some(config.base_url.clone()),
            timeout: config.timeout,
        }
    }
}

#[cfg(test)]
mod tests;
