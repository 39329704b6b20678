//! `Secret`: a setting that is never printed.

use serde::{Deserialize, Serialize};

/// What a secret prints as.
pub(super) const REDACTED: &str = "(redacted)";

/// A secret setting: never printed, neither by `Debug` nor by `check-config`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Empty or only white space: an unset token written as `""`.
    pub(super) fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::from_toml;

    #[test]
    fn secrets_are_redacted_when_printed() {
        let config = from_toml(
            "[sms]\nsender = \"webhook\"\n[sms.webhook]\nurl = \"http://127.0.0.1:9/sms\"\n\
             bearer_token = \"tok-SECRET-1\"\nhmac_secret = \"mac-SECRET-2\"\n\
             [sms.policy]\nallowed_countries = [\"*\"]\n",
        )
        .unwrap();
        let webhook = &config.sms.webhook;
        assert_eq!(
            webhook.bearer_token.as_ref().unwrap().expose(),
            "tok-SECRET-1"
        );
        for printed in [config.to_toml(), format!("{config:?}")] {
            assert!(!printed.contains("SECRET"), "{printed}");
            assert!(printed.contains("(redacted)"), "{printed}");
        }
    }
}
