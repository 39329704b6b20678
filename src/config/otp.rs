//! `[otp]`: the one-time code policy.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::otp_issuer::{
    check_issuer, CodeIssuer, GrpcIssuerConfig, HttpIssuerConfig, TwilioVerifyConfig,
};
use super::ConfigError;

/// One-time code policy (OWASP ASVS V2.7, NIST SP 800-63B 5.1.3).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtpConfig {
    /// Number of digits in a code.
    pub length: u8,
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
    /// Wrong tries allowed per code; after that the code is dead.
    pub max_attempts: u32,
    /// Minimum time between two codes for the same phone.
    #[serde(with = "humantime_serde")]
    pub resend_cooldown: Duration,
    pub max_per_phone_per_hour: u32,
    /// Per client IP address (IPv6: per /64 network).
    pub max_per_ip_per_hour: u32,
    /// Who makes, sends and checks the codes: gatehouse, or a delegate.
    pub issuer: CodeIssuer,
    pub http: HttpIssuerConfig,
    pub grpc: GrpcIssuerConfig,
    pub twilio_verify: TwilioVerifyConfig,
}

impl Default for OtpConfig {
    fn default() -> Self {
        OtpConfig {
            length: 6,
            ttl: Duration::from_secs(300),
            max_attempts: 5,
            resend_cooldown: Duration::from_secs(30),
            max_per_phone_per_hour: 5,
            max_per_ip_per_hour: 20,
            issuer: CodeIssuer::Gatehouse,
            http: HttpIssuerConfig::default(),
            grpc: GrpcIssuerConfig::default(),
            twilio_verify: TwilioVerifyConfig::default(),
        }
    }
}

impl OtpConfig {
    /// The setting that names where the code delegate is.
    pub(super) fn issuer_url_key(&self) -> &'static str {
        match self.issuer {
            CodeIssuer::Grpc => "otp.grpc.url",
            CodeIssuer::TwilioVerify => "otp.twilio_verify.base_url",
            _ => "otp.http.url",
        }
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(4..=10).contains(&self.length) {
            return Err(ConfigError::key("otp.length", "must be between 4 and 10"));
        }
        // NIST SP 800-63B: a short-lived secret; ten minutes at most.
        if self.ttl.as_secs() == 0 || self.ttl > Duration::from_secs(600) {
            return Err(ConfigError::key("otp.ttl", "must be between 1s and 10m"));
        }
        if !(1..=10).contains(&self.max_attempts) {
            return Err(ConfigError::key(
                "otp.max_attempts",
                "must be between 1 and 10",
            ));
        }
        if self.resend_cooldown > Duration::from_secs(3600) {
            return Err(ConfigError::key(
                "otp.resend_cooldown",
                "must be at most 1h",
            ));
        }
        for (key, cap) in [
            ("otp.max_per_phone_per_hour", self.max_per_phone_per_hour),
            ("otp.max_per_ip_per_hour", self.max_per_ip_per_hour),
        ] {
            if cap == 0 {
                return Err(ConfigError::key(key, "must be at least 1"));
            }
        }
        // Every code's wrong tries must fit under the per-account failure
        // limit of the sign-in policy (100 an hour, OWASP ASVS V2.2.1).
        let tries = self.max_attempts * self.max_per_phone_per_hour;
        if tries > MAX_FAILURES_PER_HOUR {
            return Err(ConfigError::key(
                "otp.max_per_phone_per_hour",
                format!(
                    "with otp.max_attempts = {} allows {tries} wrong codes an hour; \
                     at most {MAX_FAILURES_PER_HOUR} may be (lower either)",
                    self.max_attempts
                ),
            ));
        }
        check_issuer(self.issuer, &self.http, &self.grpc, &self.twilio_verify)
    }
}

/// Failed verifications allowed per phone and hour, across all sign-in
/// flows (`signin::otp` enforces it; OWASP ASVS 4.0.3 V2.2.1).
pub const MAX_FAILURES_PER_HOUR: u32 = 100;

#[cfg(test)]
mod tests {
    use crate::config::tests::assert_names_key;

    #[test]
    fn otp_settings_are_checked() {
        for (toml, key) in [
            ("[otp]\nttl = \"1h\"\n", "`otp.ttl`"),
            ("[otp]\nlength = 2\n", "`otp.length`"),
            (
                "[otp]\nmax_attempts = 10\nmax_per_phone_per_hour = 11\n",
                "`otp.max_per_phone_per_hour`",
            ),
            (
                "[otp]\nmax_per_ip_per_hour = 0\n",
                "`otp.max_per_ip_per_hour`",
            ),
            ("[otp]\nissuer = \"http\"\n", "`otp.http.url`"),
            ("[otp]\nissuer = \"grpc\"\n", "`otp.grpc.url`"),
            (
                "[otp]\nissuer = \"twilio_verify\"\n",
                "`otp.twilio_verify.account_sid`",
            ),
            (
                "[otp]\nissuer = \"twilio_verify\"\n[otp.twilio_verify]\naccount_sid = \"AC1\"\nservice_sid = \"VA1\"\n",
                "`otp.twilio_verify.auth_token`",
            ),
            ("[otp.http]\nurl = \"ftp://codes\"\n", "`otp.http.url`"),
            ("[otp.grpc]\ntimeout = \"0s\"\n", "`otp.grpc.timeout`"),
            ("[otp]\nissuer = \"sms\"\n", "`otp.issuer`"),
        ] {
            assert_names_key(toml, key);
        }
    }
}
