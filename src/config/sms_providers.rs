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
        Ok(VonageConfig {
            api_key: filled("sms.vonage.api_key", api_key)?,
            api_secret: secret("sms.vonage.api_secret", self.api_secret.clone(), "vonage")?,
            from: filled("sms.vonage.from", from)?,
            base_url: base_url("sms.vonage.base_url", self.base_url.clone())?,
            timeout: timeout("sms.vonage.timeout", self.timeout)?,
        })
    }

    pub(super) fn printed(config: &VonageConfig) -> VonageFile {
        VonageFile {
            api_key: Some(config.api_key.clone()),
            api_secret: Some(config.api_secret.clone()),
            from: Some(config.from.clone()),
            base_url: config.base_url.clone(),
            timeout: config.timeout,
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
mod tests {
    use std::time::Duration;

    use crate::config::tests::{assert_names_key, from_toml};
    use crate::config::{SmsSenderKind, TwilioOrigin};

    const POLICY: &str = "[sms.policy]\nallowed_countries = [\"*\"]\n";
    const TWILIO: &str = "[sms.twilio]\naccount_sid = \"AC0123\"\nauth_token = \"t\"\n\
                          from = \"+15005550006\"\n";
    const VONAGE: &str = "[sms.vonage]\napi_key = \"k\"\napi_secret = \"t\"\nfrom = \"Acme\"\n";

    #[test]
    fn a_chain_of_senders_is_read_in_order_and_prints_back() {
        let toml = format!("[sms]\nsenders = [\"twilio\", \"vonage\"]\n{POLICY}{TWILIO}{VONAGE}");
        let config = from_toml(&toml).unwrap();
        let SmsSenderKind::Twilio(twilio) = &config.sms.sender else {
            panic!("{:?}", config.sms.sender);
        };
        assert_eq!(twilio.origin, TwilioOrigin::From("+15005550006".into()));
        assert_eq!(twilio.base_url.as_str(), "https://api.twilio.com/");
        assert!(!twilio.delivery_receipts);
        let names: Vec<&str> = config.sms.chain().map(SmsSenderKind::name).collect();
        assert_eq!(names, ["twilio", "vonage"]);
        // One attempt may take each sender's timeout in turn.
        assert_eq!(config.sms.attempt_timeout(), Duration::from_secs(20));
        let printed = config.to_toml();
        assert!(
            printed.contains("senders = [\n    \"twilio\",\n    \"vonage\",\n]"),
            "{printed}"
        );
        assert!(!printed.contains("auth_token = \"t\""), "{printed}");
        // The secrets print redacted: put them back to read it again.
        let again = printed.replace("\"(redacted)\"", "\"t\"");
        let again = from_toml(&again).unwrap();
        assert_eq!(again.sms.chain().count(), 2);
        assert_eq!(again.sms.fallbacks, config.sms.fallbacks);
    }

    #[test]
    fn each_provider_is_read_from_its_section() {
        let sns = "[sms]\nsender = \"aws_sns\"\n[sms.aws_sns]\nregion = \"eu-west-1\"\n\
                   access_key_id = \"AKID\"\nsecret_access_key = \"s\"\n";
        let config = from_toml(&format!("{sns}{POLICY}")).unwrap();
        let SmsSenderKind::AwsSns(aws) = &config.sms.sender else {
            panic!("{:?}", config.sms.sender);
        };
        assert_eq!(
            aws.base_url.as_str(),
            "https://sns.eu-west-1.amazonaws.com/"
        );
        let bird = "[sms]\nsender = \"messagebird\"\n[sms.messagebird]\naccess_key = \"k\"\n\
                    originator = \"Gatehouse\"\n";
        let config = from_toml(&format!("{bird}{POLICY}")).unwrap();
        assert_eq!(config.sms.sender.name(), "messagebird");
        assert!(config.sms.fallbacks.is_empty());
    }

    #[test]
    fn provider_settings_are_checked_naming_the_key() {
        let twilio = "[sms]\nsender = \"twilio\"\n";
        for (toml, key) in [
            (format!("{twilio}{POLICY}"), "`sms.twilio.from`"),
            (
                format!("{twilio}{POLICY}[sms.twilio]\nfrom = \"+1500\"\n"),
                "`sms.twilio.account_sid`",
            ),
            (
                format!("{twilio}{POLICY}{TWILIO}messaging_service_sid = \"MG1\"\n"),
                "`sms.twilio.from`",
            ),
            (
                format!("{twilio}{POLICY}{}", TWILIO.replace("AC0123", "XY0123")),
                "`sms.twilio.account_sid`",
            ),
            (
                format!("{twilio}{POLICY}{}", TWILIO.replace("\"t\"", "\" \"")),
                "`sms.twilio.auth_token`",
            ),
            (
                format!("[sms]\nsender = \"vonage\"\n{POLICY}[sms.vonage]\napi_key = \"k\"\n"),
                "`sms.vonage.from`",
            ),
            (
                format!(
                    "[sms]\nsender = \"messagebird\"\n{POLICY}[sms.messagebird]\n\
                     access_key = \"k\"\noriginator = \"FarTooLongASender\"\n"
                ),
                "`sms.messagebird.originator`",
            ),
            (
                format!(
                    "[sms]\nsender = \"aws_sns\"\n{POLICY}[sms.aws_sns]\nregion = \"EU West\"\n"
                ),
                "`sms.aws_sns.region`",
            ),
            (
                format!("[sms]\nsenders = [\"twilio\", \"twilio\"]\n{POLICY}{TWILIO}"),
                "`sms.senders`",
            ),
            (
                format!("[sms]\nsenders = [\"stdout\", \"twilio\"]\n{POLICY}{TWILIO}"),
                "`sms.senders`",
            ),
            (
                format!(
                    "[sms]\nsender = \"vonage\"\nsenders = [\"twilio\"]\n{POLICY}{TWILIO}{VONAGE}"
                ),
                "`sms.senders`",
            ),
            (
                format!("[sms]\ncool_off = \"0s\"\n{POLICY}"),
                "`sms.cool_off`",
            ),
            (
                format!("{twilio}{POLICY}{TWILIO}timeout = \"0s\"\n"),
                "`sms.twilio.timeout`",
            ),
            // A gateway costs money: it needs a decision on countries.
            (
                format!("{twilio}{TWILIO}"),
                "`sms.policy.allowed_countries`",
            ),
        ] {
            assert_names_key(&toml, key);
        }
    }

    #[test]
    fn a_section_not_in_use_may_stay_incomplete() {
        let config = from_toml("[sms.twilio]\naccount_sid = \"AC0123\"\n").unwrap();
        assert_eq!(config.sms.sender, SmsSenderKind::Stdout);
    }
}
