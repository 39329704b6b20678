//! `[login]`: "keep me signed in", and which sign-in methods are offered.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// A way to sign in that `login.methods` can offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoginMethod {
    /// A code by text message.
    Sms,
    /// A code from an authenticator app (RFC 6238).
    Totp,
    /// A passkey (WebAuthn).
    Passkey,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginConfig {
    /// How long "keep me signed in" lasts.
    #[serde(with = "humantime_serde")]
    pub remember_for: Duration,
    /// The methods the login page offers (and, after a sign-in, offers to
    /// set up).
    pub methods: Vec<LoginMethod>,
    /// After "not now" on the offer to set up another method, how long
    /// before it is offered again.
    #[serde(with = "humantime_serde")]
    pub offer_again_after: Duration,
}

impl Default for LoginConfig {
    fn default() -> Self {
        LoginConfig {
            remember_for: Duration::from_secs(30 * 24 * 3600),
            methods: vec![LoginMethod::Sms, LoginMethod::Totp, LoginMethod::Passkey],
            offer_again_after: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

impl LoginConfig {
    pub fn offers(&self, method: LoginMethod) -> bool {
        self.methods.contains(&method)
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        // Every other method is set up after a sign-in by SMS.
        if !self.offers(LoginMethod::Sms) {
            return Err(ConfigError::key(
                "login.methods",
                "must include \"sms\": the other methods are set up after a sign-in by text message",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_is_offered_by_default_and_sms_is_required() {
        let config = LoginConfig::default();
        assert!(config.validate().is_ok());
        for method in [LoginMethod::Sms, LoginMethod::Totp, LoginMethod::Passkey] {
            assert!(config.offers(method), "{method:?}");
        }
        let without_sms = LoginConfig {
            methods: vec![LoginMethod::Totp],
            ..LoginConfig::default()
        };
        let error = without_sms.validate().unwrap_err().to_string();
        assert!(error.contains("login.methods"), "{error}");
    }
}
