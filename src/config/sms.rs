//! `[sms]`: how sign-in codes reach phones.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::checks::{check_not_blank, required_http_url};
use super::sms_providers::{AwsSnsFile, MessageBirdFile, TwilioFile, VonageFile};
use super::{AwsSnsConfig, MessageBirdConfig, TwilioConfig, VonageConfig};
use super::{CaFile, ConfigError, Secret, SmsPolicy};

/// Where codes go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsSenderKind {
    /// Print codes on stdout: development only.
    Stdout,
    /// POST them to `sms.webhook.url`, a checked http(s) URL.
    Webhook {
        url: Url,
    },
    Twilio(TwilioConfig),
    Vonage(VonageConfig),
    MessageBird(MessageBirdConfig),
    AwsSns(AwsSnsConfig),
}

impl SmsSenderKind {
    /// Its name in `sms.sender`, in logs and in metric labels.
    pub fn name(&self) -> &'static str {
        match self {
            SmsSenderKind::Stdout => "stdout",
            SmsSenderKind::Webhook { .. } => "webhook",
            SmsSenderKind::Twilio(_) => "twilio",
            SmsSenderKind::Vonage(_) => "vonage",
            SmsSenderKind::MessageBird(_) => "messagebird",
            SmsSenderKind::AwsSns(_) => "aws_sns",
        }
    }
}

/// Read from and printed as [`SmsFile`], where the webhook's URL sits in
/// `[sms.webhook]` and each provider's settings in its own section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "SmsFile", into = "SmsFile")]
pub struct SmsConfig {
    /// The sender tried first (`sms.sender`, or the first of `sms.senders`).
    pub sender: SmsSenderKind,
    /// The rest of `sms.senders`, tried in order within the same attempt
    /// when the ones before could not take the message.
    pub fallbacks: Vec<SmsSenderKind>,
    /// How long a sender that timed out, answered 5xx or 429 is skipped
    /// while there are others (`sms.cool_off`).
    pub cool_off: Duration,
    /// `{app}` and `{code}` are replaced; `{code}` is required. Left at
    /// [`DEFAULT_TEMPLATE`], the text comes from the translations
    /// (`sms-code`, in the person's language); changed, it is used for
    /// every language.
    pub template: String,
    pub app_name: String,
    /// Adds `@<host> #<code>` as the text's last line, the origin-bound
    /// one-time code format that iOS, Safari and Chrome on Android (WebOTP)
    /// read to offer the code.
    pub autofill_host: Option<String>,
    pub webhook: WebhookConfig,
    /// `[sms.policy]`: where codes may go, and how many.
    pub policy: SmsPolicy,
    /// Settings that are read but do nothing in this setup, one line each
    /// naming its key: start-up and `check-config` warn with them (a
    /// section not in use may stay as it is, so they are no errors).
    pub notices: Vec<String>,
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
    senders: Vec<SenderName>,
    #[serde(with = "humantime_serde")]
    cool_off: Duration,
    template: String,
    app_name: String,
    autofill_host: Option<String>,
    webhook: WebhookFile,
    twilio: TwilioFile,
    vonage: VonageFile,
    messagebird: MessageBirdFile,
    aws_sns: AwsSnsFile,
    policy: SmsPolicy,
}

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
enum SenderName {
    Stdout,
    Webhook,
    Twilio,
    Vonage,
    Messagebird,
    AwsSns,
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

impl SmsFile {
    /// The sender `name` stands for, with its section's settings.
    fn kind(&self, name: SenderName) -> Result<SmsSenderKind, ConfigError> {
        Ok(match name {
            SenderName::Stdout => SmsSenderKind::Stdout,
            SenderName::Webhook => SmsSenderKind::Webhook {
                url: required_http_url(
                    "sms.webhook.url",
                    self.webhook.url.clone(),
                    "sms.sender or sms.senders names \"webhook\"",
                )?,
            },
            SenderName::Twilio => SmsSenderKind::Twilio(self.twilio.parse()?),
            SenderName::Vonage => SmsSenderKind::Vonage(self.vonage.parse()?),
            SenderName::Messagebird => SmsSenderKind::MessageBird(self.messagebird.parse()?),
            SenderName::AwsSns => SmsSenderKind::AwsSns(self.aws_sns.parse()?),
        })
    }

    /// `sms.senders` when set (then `sms.sender` is left at its default
    /// or names the same first sender), else `sms.sender` alone.
    fn chain(&self) -> Result<Vec<SenderName>, ConfigError> {
        if self.senders.is_empty() {
            return Ok(vec![self.sender]);
        }
        if self.sender != SenderName::Stdout && self.sender != self.senders[0] {
            return Err(ConfigError::key(
                "sms.senders",
                "set either sms.sender (one sender) or sms.senders (several, in order), not both",
            ));
        }
        for (i, name) in self.senders.iter().enumerate() {
            if *name == SenderName::Stdout {
                return Err(ConfigError::key(
                    "sms.senders",
                    "lists the gateways to try in order; \"stdout\" is not one",
                ));
            }
            if self.senders[..i].contains(name) {
                return Err(ConfigError::key("sms.senders", "names a sender twice"));
            }
        }
        Ok(self.senders.clone())
    }
}

impl TryFrom<SmsFile> for SmsConfig {
    type Error = ConfigError;

    fn try_from(file: SmsFile) -> Result<Self, ConfigError> {
        let names = file.chain()?;
        let notices = file
            .vonage
            .idle_receipts(names.contains(&SenderName::Vonage))
            .into_iter()
            .collect();
        let mut chain = names
            .into_iter()
            .map(|name| file.kind(name))
            .collect::<Result<Vec<_>, _>>()?;
        let sender = chain.remove(0);
        let webhook = file.webhook;
        Ok(SmsConfig {
            sender,
            fallbacks: chain,
            cool_off: file.cool_off,
            template: file.template,
            app_name: file.app_name,
            autofill_host: file.autofill_host,
            webhook: WebhookConfig {
                timeout: webhook.timeout,
                max_attempts: webhook.max_attempts,
                bearer_token: webhook.bearer_token,
                hmac_secret: webhook.hmac_secret,
                ca_file: CaFile::load_optional("sms.webhook.ca_file", webhook.ca_file)?,
            },
            policy: file.policy,
            notices,
        })
    }
}

impl From<SmsConfig> for SmsFile {
    fn from(config: SmsConfig) -> Self {
        let mut file = SmsFile {
            sender: SenderName::Stdout,
            senders: Vec::new(),
            cool_off: config.cool_off,
            template: config.template.clone(),
            app_name: config.app_name.clone(),
            autofill_host: config.autofill_host.clone(),
            webhook: WebhookFile {
                url: None,
                timeout: config.webhook.timeout,
                max_attempts: config.webhook.max_attempts,
                bearer_token: config.webhook.bearer_token.clone(),
                hmac_secret: config.webhook.hmac_secret.clone(),
                ca_file: config
                    .webhook
                    .ca_file
                    .as_ref()
                    .map(|ca| ca.path().to_path_buf()),
            },
            twilio: TwilioFile::default(),
            vonage: VonageFile::default(),
            messagebird: MessageBirdFile::default(),
            aws_sns: AwsSnsFile::default(),
            policy: config.policy.clone(),
        };
        let names: Vec<SenderName> = config.chain().map(|kind| file.keep(kind)).collect();
        match names.as_slice() {
            [one] => file.sender = *one,
            _ => file.senders = names,
        }
        file
    }
}

impl SmsFile {
    /// Writes `kind`'s settings into its section; its name.
    fn keep(&mut self, kind: &SmsSenderKind) -> SenderName {
        match kind {
            SmsSenderKind::Stdout => SenderName::Stdout,
            SmsSenderKind::Webhook { url } => {
                self.webhook.url = Some(url.clone());
                SenderName::Webhook
            }
            SmsSenderKind::Twilio(c) => {
                self.twilio = TwilioFile::printed(c);
                SenderName::Twilio
            }
            SmsSenderKind::Vonage(c) => {
                self.vonage = VonageFile::printed(c);
                SenderName::Vonage
            }
            SmsSenderKind::MessageBird(c) => {
                self.messagebird = MessageBirdFile::printed(c);
                SenderName::Messagebird
            }
            SmsSenderKind::AwsSns(c) => {
                self.aws_sns = AwsSnsFile::printed(c);
                SenderName::AwsSns
            }
        }
    }
}

/// `sms.template`'s default: the text then comes from the translations.
pub const DEFAULT_TEMPLATE: &str = "Your {app} sign-in code is {code}";

/// A DNS name of two or more labels: letters, digits and inner hyphens.
fn is_host_name(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    host.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

impl Default for SmsConfig {
    fn default() -> Self {
        SmsConfig {
            sender: SmsSenderKind::Stdout,
            fallbacks: Vec::new(),
            cool_off: Duration::from_secs(60),
            template: DEFAULT_TEMPLATE.into(),
            app_name: "Gatehouse".into(),
            autofill_host: None,
            webhook: WebhookConfig {
                timeout: Duration::from_secs(10),
                max_attempts: 5,
                bearer_token: None,
                hmac_secret: None,
                ca_file: None,
            },
            policy: SmsPolicy::default(),
            notices: Vec::new(),
        }
    }
}

impl SmsConfig {
    /// Every sender, in the order they are tried.
    pub fn chain(&self) -> impl Iterator<Item = &SmsSenderKind> {
        std::iter::once(&self.sender).chain(&self.fallbacks)
    }

    /// The longest one outbox attempt may take: each sender of the chain
    /// tried once, to its timeout.
    pub fn attempt_timeout(&self) -> Duration {
        self.chain()
            .map(|kind| match kind {
                SmsSenderKind::Stdout | SmsSenderKind::Webhook { .. } => self.webhook.timeout,
                SmsSenderKind::Twilio(c) => c.timeout,
                SmsSenderKind::Vonage(c) => c.timeout,
                SmsSenderKind::MessageBird(c) => c.timeout,
                SmsSenderKind::AwsSns(c) => c.timeout,
            })
            .sum()
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if let Some(host) = &self.autofill_host {
            if !is_host_name(host) {
                return Err(ConfigError::key(
                    "sms.autofill_host",
                    format!(
                        "`{host}` is not a host name like id.example.com (no scheme, port or path)"
                    ),
                ));
            }
        }
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
        if self.cool_off.is_zero() {
            return Err(ConfigError::key("sms.cool_off", "must be more than 0"));
        }
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
