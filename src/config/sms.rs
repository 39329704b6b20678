//! `[sms]`: how sign-in codes reach phones.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::checks::{check_not_blank, required_http_url};
use super::{CaFile, ConfigError, Secret, SmsPolicy};

/// Where codes go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsSenderKind {
    /// Print codes on stdout: development only.
    Stdout,
    /// POST them to `sms.webhook.url`, a checked http(s) URL.
    Webhook { url: Url },
}

/// Read from and printed as [`SmsFile`], where the webhook's URL sits in
/// `[sms.webhook]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "SmsFile", into = "SmsFile")]
pub struct SmsConfig {
    pub sender: SmsSenderKind,
    /// `{app}` and `{code}` are replaced; `{code}` is required.
    pub template: String,
    pub app_name: String,
    pub webhook: WebhookConfig,
    /// `[sms.policy]`: where codes may go, and how many.
    pub policy: SmsPolicy,
}

/// How the webhook sender delivers (its URL is in [`SmsSenderKind::Webhook`]).
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Deadline for one delivery, retries included.
    pub timeout: Duration,
    /// Tries for transient failures (connection errors, 5xx), first one included.
    pub max_attempts: u32,
    /// Sent as `Authorization: Bearer <token>`.
    pub bearer_token: Option<Secret>,
    /// Signs time and body: `X-Gatehouse-Signature: t=<unix>,v1=<hex HMAC-SHA256>`.
    pub hmac_secret: Option<Secret>,
    /// CA certificates (PEM) trusted for an https `url` besides the system's.
    pub ca_file: Option<CaFile>,
}

/// `[sms]` as written in the file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SmsFile {
    sender: SenderName,
    template: String,
    app_name: String,
    webhook: WebhookFile,
    policy: SmsPolicy,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum SenderName {
    Stdout,
    Webhook,
}

/// `[sms.webhook]` as written in the file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookFile {
    url: Option<Url>,
    #[serde(with = "humantime_serde")]
    timeout: Duration,
    max_attempts: u32,
    bearer_token: Option<Secret>,
    hmac_secret: Option<Secret>,
    ca_file: Option<PathBuf>,
}

impl TryFrom<SmsFile> for SmsConfig {
    type Error = ConfigError;

    fn try_from(file: SmsFile) -> Result<Self, ConfigError> {
        let webhook = file.webhook;
        let sender = match file.sender {
            SenderName::Stdout => SmsSenderKind::Stdout,
            SenderName::Webhook => SmsSenderKind::Webhook {
                url: required_http_url("sms.webhook.url", webhook.url, "sms.sender = \"webhook\"")?,
            },
        };
        Ok(SmsConfig {
            sender,
            template: file.template,
            app_name: file.app_name,
            webhook: WebhookConfig {
                timeout: webhook.timeout,
                max_attempts: webhook.max_attempts,
                bearer_token: webhook.bearer_token,
                hmac_secret: webhook.hmac_secret,
                ca_file: CaFile::load_optional("sms.webhook.ca_file", webhook.ca_file)?,
            },
            policy: file.policy,
        })
    }
}

impl From<SmsConfig> for SmsFile {
    fn from(config: SmsConfig) -> Self {
        let (sender, url) = match config.sender {
            SmsSenderKind::Stdout => (SenderName::Stdout, None),
            SmsSenderKind::Webhook { url } => (SenderName::Webhook, Some(url)),
        };
        let webhook = config.webhook;
        SmsFile {
            sender,
            template: config.template,
            app_name: config.app_name,
            webhook: WebhookFile {
                url,
                timeout: webhook.timeout,
                max_attempts: webhook.max_attempts,
                bearer_token: webhook.bearer_token,
                hmac_secret: webhook.hmac_secret,
                ca_file: webhook.ca_file.map(|ca| ca.path().to_path_buf()),
            },
            policy: config.policy,
        }
    }
}

impl Default for SmsConfig {
    fn default() -> Self {
        SmsConfig {
            sender: SmsSenderKind::Stdout,
            template: "Your {app} sign-in code is {code}".into(),
            app_name: "Gatehouse".into(),
            webhook: WebhookConfig {
                timeout: Duration::from_secs(10),
                max_attempts: 5,
                bearer_token: None,
                hmac_secret: None,
                ca_file: None,
            },
            policy: SmsPolicy::default(),
        }
    }
}

impl SmsConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !self.template.contains("{code}") {
            return Err(ConfigError::key(
                "sms.template",
                "must contain {code}, where the code goes",
            ));
        }
        let webhook = &self.webhook;
        if webhook.timeout.is_zero() {
            return Err(ConfigError::key(
                "sms.webhook.timeout",
                "must be more than 0",
            ));
        }
        if !(1..=10).contains(&webhook.max_attempts) {
            return Err(ConfigError::key(
                "sms.webhook.max_attempts",
                "must be between 1 and 10",
            ));
        }
        check_not_blank("sms.webhook.bearer_token", webhook.bearer_token.as_ref())?;
        check_not_blank("sms.webhook.hmac_secret", webhook.hmac_secret.as_ref())?;
        self.policy.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::SmsSenderKind;
    use crate::config::tests::{assert_names_key, from_toml};

    #[test]
    fn sms_settings_are_checked() {
        for (toml, key) in [
            ("[sms]\nsender = \"webhook\"\n", "`sms.webhook.url`"),
            (
                "[sms]\nsender = \"webhook\"\n[sms.webhook]\nurl = \"mailto:x@y\"\n",
                "`sms.webhook.url`",
            ),
            ("[sms]\ntemplate = \"hello\"\n", "`sms.template`"),
            ("[sms]\nsender = \"pigeon\"\n", "`sms.sender`"),
            (
                "[sms.webhook]\nhmac_secret = \" \"\n",
                "`sms.webhook.hmac_secret`",
            ),
            (
                "[sms.webhook]\nca_file = \"/nonexistent/ca.pem\"\n",
                "`sms.webhook.ca_file`",
            ),
        ] {
            assert_names_key(toml, key);
        }
    }

    #[test]
    fn the_webhook_sender_carries_its_url() {
        let toml =
            "[sms]\nsender = \"webhook\"\n[sms.webhook]\nurl = \"https://sms.example/send\"\n\
                    [sms.policy]\nallowed_countries = [\"*\"]\n";
        let config = from_toml(toml).unwrap();
        let SmsSenderKind::Webhook { url } = &config.sms.sender else {
            panic!("{:?}", config.sms.sender);
        };
        assert_eq!(url.as_str(), "https://sms.example/send");
        let again = from_toml(&config.to_toml()).unwrap();
        assert_eq!(
            again.sms.sender, config.sms.sender,
            "the printed sender reads back"
        );
    }
}
