//! `[bot_challenge]`: a check that a person, not a script, asks for a code,
//! before any text message is paid for.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::checks::check_http_url;
use super::{CaFile, ConfigError, Secret};

/// What a client must show before a code is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BotChallengeKind {
    /// Nothing: only the code limits apply.
    Off,
    /// A SHA-256 puzzle gatehouse issues and checks itself, solved by a
    /// script in the browser (no third party).
    ProofOfWork,
    /// A widget of a captcha provider, its token checked at the provider.
    Captcha(CaptchaConfig),
}

/// Which proof a client sends, whatever the provider: the field it goes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofKind {
    /// `pow_solution`: a solved challenge.
    ProofOfWork,
    /// `captcha_token`: the provider widget's token.
    Captcha,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptchaProvider {
    Turnstile,
    Hcaptcha,
}

impl CaptchaProvider {
    /// Where the provider checks tokens (its documented siteverify URL).
    pub fn default_verify_url(self) -> Url {
        let url = match self {
            CaptchaProvider::Turnstile => {
                "https://challenges.cloudflare.com/turnstile/v0/siteverify"
            }
            CaptchaProvider::Hcaptcha => "https://api.hcaptcha.com/siteverify",
        };
        url.parse().expect("a valid URL")
    }

    /// The `kind` that names it.
    pub fn name(self) -> &'static str {
        match self {
            CaptchaProvider::Turnstile => "turnstile",
            CaptchaProvider::Hcaptcha => "hcaptcha",
        }
    }
}

/// A captcha provider and the keys of this site there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptchaConfig {
    pub provider: CaptchaProvider,
    /// Public: the widget on the page names it.
    pub site_key: String,
    /// Sent with each token to `verify_url`.
    pub secret_key: Secret,
    /// The provider's siteverify endpoint (https), or a stand-in.
    pub verify_url: Url,
    /// CA certificates (PEM) trusted for `verify_url` besides the system's.
    pub ca_file: Option<CaFile>,
    /// Deadline for one verification; past it the send is refused.
    pub timeout: Duration,
}

/// When the challenge is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChallengeApply {
    /// Before every code.
    Always,
    /// Once the number or the client's network had `free_sends` codes in
    /// the hour.
    AfterLimit,
}

/// Read from and printed as [`BotChallengeFile`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "BotChallengeFile", into = "BotChallengeFile")]
pub struct BotChallengeConfig {
    pub kind: BotChallengeKind,
    pub apply: ChallengeApply,
    /// Codes an hour a number, or a client's network, gets without the
    /// challenge (`apply = "after_limit"`).
    pub free_sends: u32,
    /// Proof of work: leading zero bits the solution's SHA-256 must have.
    pub difficulty: u8,
    /// Proof of work: how long a challenge may be solved and used.
    pub ttl: Duration,
}

impl BotChallengeConfig {
    /// The proof a client must send, or None when the challenge is off.
    pub fn proof_kind(&self) -> Option<ProofKind> {
        match self.kind {
            BotChallengeKind::Off => None,
            BotChallengeKind::ProofOfWork => Some(ProofKind::ProofOfWork),
            BotChallengeKind::Captcha(_) => Some(ProofKind::Captcha),
        }
    }
}

/// `[bot_challenge]` as written in the file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BotChallengeFile {
    kind: KindName,
    apply: ChallengeApply,
    free_sends: u32,
    difficulty: u8,
    #[serde(with = "humantime_serde")]
    ttl: Duration,
    site_key: Option<String>,
    secret_key: Option<Secret>,
    verify_url: Option<Url>,
    ca_file: Option<PathBuf>,
    #[serde(with = "humantime_serde")]
    timeout: Duration,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum KindName {
    Off,
    ProofOfWork,
    Turnstile,
    Hcaptcha,
}

impl TryFrom<BotChallengeFile> for BotChallengeConfig {
    type Error = ConfigError;

    fn try_from(file: BotChallengeFile) -> Result<Self, ConfigError> {
        // The provider's keys are read for a provider only: switching
        // `kind` to "proof_of_work" in an emergency may leave them in place.
        let kind = match file.kind {
            KindName::Off => BotChallengeKind::Off,
            KindName::ProofOfWork => BotChallengeKind::ProofOfWork,
            KindName::Turnstile => {
                BotChallengeKind::Captcha(captcha(CaptchaProvider::Turnstile, &file)?)
            }
            KindName::Hcaptcha => {
                BotChallengeKind::Captcha(captcha(CaptchaProvider::Hcaptcha, &file)?)
            }
        };
        Ok(BotChallengeConfig {
            kind,
            apply: file.apply,
            free_sends: file.free_sends,
            difficulty: file.difficulty,
            ttl: file.ttl,
        })
    }
}

/// The provider's settings, each required one named when missing.
fn captcha(
    provider: CaptchaProvider,
    file: &BotChallengeFile,
) -> Result<CaptchaConfig, ConfigError> {
    let required = |key: &str| {
        ConfigError::key(
            key,
            format!("required when bot_challenge.kind = \"{}\"", provider.name()),
        )
    };
    let site_key = file
        .site_key
        .clone()
        .filter(|key| !key.trim().is_empty())
        .ok_or_else(|| required("bot_challenge.site_key"))?;
    let secret_key = file
        .secret_key
        .clone()
        .filter(|key| !key.is_blank())
        .ok_or_else(|| required("bot_challenge.secret_key"))?;
    let verify_url = file
        .verify_url
        .clone()
        .unwrap_or_else(|| provider.default_verify_url());
    check_http_url("bot_challenge.verify_url", &verify_url)?;
    if verify_url.scheme() != "https" {
        return Err(ConfigError::key(
            "bot_challenge.verify_url",
            format!("`{verify_url}` must be https://: the secret key goes with every token"),
        ));
    }
    Ok(CaptchaConfig {
        provider,
        site_key,
        secret_key,
        verify_url,
        ca_file: CaFile::load_optional("bot_challenge.ca_file", file.ca_file.clone())?,
        timeout: file.timeout,
    })
}

impl From<BotChallengeConfig> for BotChallengeFile {
    fn from(config: BotChallengeConfig) -> Self {
        let mut file = BotChallengeFile {
            kind: KindName::Off,
            apply: config.apply,
            free_sends: config.free_sends,
            difficulty: config.difficulty,
            ttl: config.ttl,
            site_key: None,
            secret_key: None,
            verify_url: None,
            ca_file: None,
            timeout: DEFAULT_TIMEOUT,
        };
        match config.kind {
            BotChallengeKind::Off => {}
            BotChallengeKind::ProofOfWork => file.kind = KindName::ProofOfWork,
            BotChallengeKind::Captcha(captcha) => {
                file.kind = match captcha.provider {
                    CaptchaProvider::Turnstile => KindName::Turnstile,
                    CaptchaProvider::Hcaptcha => KindName::Hcaptcha,
                };
                file.site_key = Some(captcha.site_key);
                file.secret_key = Some(captcha.secret_key);
                file.verify_url = Some(captcha.verify_url);
                file.ca_file = captcha.ca_file.map(|ca| ca.path().to_path_buf());
                file.timeout = captcha.timeout;
            }
        }
        file
    }
}

/// How long a provider has to answer by default.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

impl Default for BotChallengeConfig {
    fn default() -> Self {
        BotChallengeConfig {
            kind: BotChallengeKind::ProofOfWork,
            apply: ChallengeApply::AfterLimit,
            free_sends: 3,
            difficulty: 16,
            ttl: Duration::from_secs(600),
        }
    }
}

impl BotChallengeConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=32).contains(&self.difficulty) {
            return Err(ConfigError::key(
                "bot_challenge.difficulty",
                "must be between 1 and 32 (bits)",
            ));
        }
        if self.ttl < Duration::from_secs(10) || self.ttl > Duration::from_secs(3600) {
            return Err(ConfigError::key(
                "bot_challenge.ttl",
                "must be between 10s and 1h",
            ));
        }
        if self.apply == ChallengeApply::AfterLimit && self.free_sends == 0 {
            return Err(ConfigError::key(
                "bot_challenge.free_sends",
                "must be at least 1 with apply = \"after_limit\" (none free is apply = \"always\")",
            ));
        }
        if let BotChallengeKind::Captcha(captcha) = &self.kind {
            if captcha.timeout.is_zero() || captcha.timeout > Duration::from_secs(60) {
                return Err(ConfigError::key(
                    "bot_challenge.timeout",
                    "must be between 1ms and 60s",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{assert_names_key, from_toml};

    #[test]
    fn bot_challenge_settings_are_checked() {
        for (toml, key) in [
            (
                "kind = \"turnstile\"\nsite_key = \"s\"\n",
                "`bot_challenge.secret_key`",
            ),
            (
                "kind = \"hcaptcha\"\nsecret_key = \"x\"\n",
                "`bot_challenge.site_key`",
            ),
            (
                "kind = \"turnstile\"\nsite_key = \"s\"\nsecret_key = \" \"\n",
                "`bot_challenge.secret_key`",
            ),
            (
                "kind = \"turnstile\"\nsite_key = \"s\"\nsecret_key = \"x\"\n\
                 verify_url = \"http://captcha.example/siteverify\"\n",
                "`bot_challenge.verify_url`",
            ),
            (
                "kind = \"hcaptcha\"\nsite_key = \"s\"\nsecret_key = \"x\"\n\
                 ca_file = \"/nonexistent/ca.pem\"\n",
                "`bot_challenge.ca_file`",
            ),
            ("kind = \"recaptcha\"\n", "`bot_challenge.kind`"),
            ("difficulty = 0\n", "`bot_challenge.difficulty`"),
            ("difficulty = 40\n", "`bot_challenge.difficulty`"),
            ("ttl = \"1s\"\n", "`bot_challenge.ttl`"),
            ("free_sends = 0\n", "`bot_challenge.free_sends`"),
            ("apply = \"sometimes\"\n", "`bot_challenge.apply`"),
        ] {
            assert_names_key(&format!("[bot_challenge]\n{toml}"), key);
        }
        let always = from_toml("[bot_challenge]\napply = \"always\"\nfree_sends = 0\n").unwrap();
        assert_eq!(always.bot_challenge.apply, ChallengeApply::Always);
    }

    #[test]
    fn a_provider_gets_its_documented_verify_url_and_reads_back() {
        let toml =
            "[bot_challenge]\nkind = \"hcaptcha\"\nsite_key = \"site\"\nsecret_key = \"x\"\n";
        let config = from_toml(toml).unwrap();
        let BotChallengeKind::Captcha(captcha) = &config.bot_challenge.kind else {
            panic!("{:?}", config.bot_challenge.kind);
        };
        assert_eq!(captcha.provider, CaptchaProvider::Hcaptcha);
        assert_eq!(
            captcha.verify_url.as_str(),
            "https://api.hcaptcha.com/siteverify"
        );
        assert_eq!(config.bot_challenge.proof_kind(), Some(ProofKind::Captcha));
        let printed = config.to_toml();
        assert!(
            !printed.contains("\"x\""),
            "the secret is not printed: {printed}"
        );
        let again = from_toml(&printed).unwrap();
        let BotChallengeKind::Captcha(again) = &again.bot_challenge.kind else {
            panic!("the printed kind reads back");
        };
        assert_eq!(again.verify_url, captcha.verify_url);

        // Switching kind leaves the provider's keys unread.
        let pow =
            from_toml("[bot_challenge]\nkind = \"proof_of_work\"\nsite_key = \"site\"\n").unwrap();
        assert_eq!(pow.bot_challenge.kind, BotChallengeKind::ProofOfWork);
    }

    #[test]
    fn the_default_is_a_proof_of_work_after_a_few_free_codes() {
        let config = from_toml("").unwrap().bot_challenge;
        assert_eq!(config.kind, BotChallengeKind::ProofOfWork);
        assert_eq!(config.apply, ChallengeApply::AfterLimit);
        assert_eq!(config.proof_kind(), Some(ProofKind::ProofOfWork));
    }
}
