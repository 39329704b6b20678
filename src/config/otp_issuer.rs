//! `otp.issuer` and its sections: who sends and checks sign-in codes.
//! Gatehouse itself (the default), or a delegate that already does: an
//! existing system over HTTPS (`[otp.http]`) or gRPC (`[otp.grpc]`), or
//! Twilio Verify (`[otp.twilio_verify]`). Gatehouse keeps the flow
//! binding, the attempt cap, the cooldown and every rate and SMS-pumping
//! limit whichever it is.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::checks::{check_http_url, check_not_blank};
use super::grpc::{GrpcFile, GrpcSettings};
use super::{CaFile, ConfigError, Secret};

/// `otp.issuer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeIssuer {
    /// Gatehouse makes the code and sends it through `[sms]`.
    #[default]
    Gatehouse,
    Http,
    Grpc,
    TwilioVerify,
}

impl CodeIssuer {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeIssuer::Gatehouse => "gatehouse",
            CodeIssuer::Http => "http",
            CodeIssuer::Grpc => "grpc",
            CodeIssuer::TwilioVerify => "twilio_verify",
        }
    }
}

/// `[otp.http]`: `POST {url}/verifications` and `POST {url}/verifications/check`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "HttpIssuerFile", into = "HttpIssuerFile")]
pub struct HttpIssuerConfig {
    pub url: Option<Url>,
    pub timeout: Duration,
    /// Sent as `Authorization: Bearer ...`.
    pub auth_token: Option<Secret>,
    pub ca_file: Option<CaFile>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpIssuerFile {
    url: Option<Url>,
    #[serde(with = "humantime_serde")]
    timeout: Duration,
    auth_token: Option<Secret>,
    ca_file: Option<PathBuf>,
}

impl TryFrom<HttpIssuerFile> for HttpIssuerConfig {
    type Error = ConfigError;

    fn try_from(file: HttpIssuerFile) -> Result<Self, ConfigError> {
        if let Some(url) = &file.url {
            check_http_url("otp.http.url", url)?;
        }
        check_not_blank("otp.http.auth_token", file.auth_token.as_ref())?;
        Ok(HttpIssuerConfig {
            url: file.url,
            timeout: positive("otp.http.timeout", file.timeout)?,
            auth_token: file.auth_token,
            ca_file: CaFile::load_optional("otp.http.ca_file", file.ca_file)?,
        })
    }
}

impl From<HttpIssuerConfig> for HttpIssuerFile {
    fn from(config: HttpIssuerConfig) -> Self {
        HttpIssuerFile {
            url: config.url,
            timeout: config.timeout,
            auth_token: config.auth_token,
            ca_file: config.ca_file.map(|ca| ca.path().to_path_buf()),
        }
    }
}

/// `[otp.grpc]`: `gatehouse.directory.v1.Verification`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "GrpcFile", into = "GrpcFile")]
pub struct GrpcIssuerConfig {
    pub url: Option<Url>,
    pub settings: GrpcSettings,
}

impl TryFrom<GrpcFile> for GrpcIssuerConfig {
    type Error = ConfigError;

    fn try_from(file: GrpcFile) -> Result<Self, ConfigError> {
        if let Some(url) = &file.url {
            check_http_url("otp.grpc.url", url)?;
        }
        Ok(GrpcIssuerConfig {
            settings: file.settings("otp.grpc")?,
            url: file.url,
        })
    }
}

impl From<GrpcIssuerConfig> for GrpcFile {
    fn from(config: GrpcIssuerConfig) -> Self {
        GrpcFile::new(config.url, config.settings)
    }
}

/// `[otp.twilio_verify]`: a Verify service's `Verifications` and
/// `VerificationCheck` resources.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "TwilioVerifyFile", into = "TwilioVerifyFile")]
pub struct TwilioVerifyConfig {
    pub account_sid: Option<String>,
    pub auth_token: Option<Secret>,
    /// The Verify service (`VA...`).
    pub service_sid: Option<String>,
    /// `https://verify.twilio.com` (another only for a test stand-in).
    pub base_url: Url,
    pub timeout: Duration,
    pub ca_file: Option<CaFile>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TwilioVerifyFile {
    account_sid: Option<String>,
    auth_token: Option<Secret>,
    service_sid: Option<String>,
    base_url: Url,
    #[serde(with = "humantime_serde")]
    timeout: Duration,
    ca_file: Option<PathBuf>,
}

impl TryFrom<TwilioVerifyFile> for TwilioVerifyConfig {
    type Error = ConfigError;

    fn try_from(file: TwilioVerifyFile) -> Result<Self, ConfigError> {
        check_http_url("otp.twilio_verify.base_url", &file.base_url)?;
        check_not_blank("otp.twilio_verify.auth_token", file.auth_token.as_ref())?;
        Ok(TwilioVerifyConfig {
            account_sid: file.account_sid,
            auth_token: file.auth_token,
            service_sid: file.service_sid,
            base_url: file.base_url,
            timeout: positive("otp.twilio_verify.timeout", file.timeout)?,
            ca_file: CaFile::load_optional("otp.twilio_verify.ca_file", file.ca_file)?,
        })
    }
}

impl From<TwilioVerifyConfig> for TwilioVerifyFile {
    fn from(config: TwilioVerifyConfig) -> Self {
        TwilioVerifyFile {
            account_sid: config.account_sid,
            auth_token: config.auth_token,
            service_sid: config.service_sid,
            base_url: config.base_url,
            timeout: config.timeout,
            ca_file: config.ca_file.map(|ca| ca.path().to_path_buf()),
        }
    }
}

fn positive(key: &str, timeout: Duration) -> Result<Duration, ConfigError> {
    if timeout.is_zero() {
        return Err(ConfigError::key(key, "must be more than 0"));
    }
    Ok(timeout)
}

impl Default for HttpIssuerConfig {
    fn default() -> Self {
        HttpIssuerConfig {
            url: None,
            timeout: Duration::from_secs(5),
            auth_token: None,
            ca_file: None,
        }
    }
}

impl Default for GrpcIssuerConfig {
    fn default() -> Self {
        let mut settings = GrpcSettings::default_settings();
        settings.timeout = Duration::from_secs(5);
        GrpcIssuerConfig {
            url: None,
            settings,
        }
    }
}

impl Default for TwilioVerifyConfig {
    fn default() -> Self {
        TwilioVerifyConfig {
            account_sid: None,
            auth_token: None,
            service_sid: None,
            base_url: Url::parse("https://verify.twilio.com").expect("a built-in URL parses"),
            timeout: Duration::from_secs(5),
            ca_file: None,
        }
    }
}

/// The issuer's own section has what reaching it takes.
pub(super) fn check_issuer(
    issuer: CodeIssuer,
    http: &HttpIssuerConfig,
    grpc: &GrpcIssuerConfig,
    twilio: &TwilioVerifyConfig,
) -> Result<(), ConfigError> {
    let when = format!("when otp.issuer = \"{}\"", issuer.as_str());
    let required = |key: &str, present: bool| {
        if present {
            Ok(())
        } else {
            Err(ConfigError::key(key, format!("required {when}")))
        }
    };
    match issuer {
        CodeIssuer::Gatehouse => Ok(()),
        CodeIssuer::Http => required("otp.http.url", http.url.is_some()),
        CodeIssuer::Grpc => required("otp.grpc.url", grpc.url.is_some()),
        CodeIssuer::TwilioVerify => {
            let filled =
                |value: &Option<String>| value.as_ref().is_some_and(|v| !v.trim().is_empty());
            required("otp.twilio_verify.account_sid", filled(&twilio.account_sid))?;
            required("otp.twilio_verify.auth_token", twilio.auth_token.is_some())?;
            required("otp.twilio_verify.service_sid", filled(&twilio.service_sid))
        }
    }
}
