//! `[claims]`: extra claims in the tokens, filled from directory fields.

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// `[claims]`: claims added to the tokens from directory fields.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimsConfig {
    pub custom: Vec<CustomClaim>,
}

/// Which token a custom claim goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimTarget {
    /// The id_token (and `/userinfo`).
    IdToken,
    /// The access token: a JWT access token's claims, or `ext` in introspection.
    AccessToken,
    Both,
}

impl ClaimTarget {
    pub fn id_token(self) -> bool {
        matches!(self, ClaimTarget::IdToken | ClaimTarget::Both)
    }

    pub fn access_token(self) -> bool {
        matches!(self, ClaimTarget::AccessToken | ClaimTarget::Both)
    }
}

/// One claim filled from a directory field when `scope` is granted.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomClaim {
    /// The granted scope that adds this claim, e.g. "roles".
    pub scope: String,
    /// The claim's name in the token, e.g. "roles".
    pub claim: String,
    /// The directory field it comes from (same syntax as `[directory.fields]`).
    pub field: String,
    #[serde(default = "default_claim_target")]
    pub into: ClaimTarget,
}

fn default_claim_target() -> ClaimTarget {
    ClaimTarget::IdToken
}

/// Claims Hydra sets itself, or that the standard scopes own.
const RESERVED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "at_hash",
    "c_hash",
    "sid",
    "scp",
    "client_id",
    "ext",
    "name",
    "given_name",
    "family_name",
    "email",
    "email_verified",
    "phone_number",
    "phone_number_verified",
    "address",
];

impl ClaimsConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (i, custom) in self.custom.iter().enumerate() {
            let key = |field: &str| format!("claims.custom.{i}.{field}");
            for (field, value) in [
                ("scope", &custom.scope),
                ("claim", &custom.claim),
                ("field", &custom.field),
            ] {
                if value.trim().is_empty() || value.contains(char::is_whitespace) {
                    return Err(ConfigError::key(
                        &key(field),
                        "must be one word, without spaces",
                    ));
                }
            }
            if RESERVED_CLAIMS.contains(&custom.claim.as_str()) {
                return Err(ConfigError::key(
                    &key("claim"),
                    format!(
                        "`{}` is set by Hydra or by a standard scope; choose another name",
                        custom.claim
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::ClaimTarget;
    use crate::config::tests::{assert_names_key, from_toml};

    #[test]
    fn claims_settings_are_checked() {
        for (toml, key) in [
            (
                "[[claims.custom]]\nscope = \"roles\"\nclaim = \"sub\"\nfield = \"roles\"\n",
                "`claims.custom.0.claim`",
            ),
            (
                "[[claims.custom]]\nscope = \"a b\"\nclaim = \"roles\"\nfield = \"roles\"\n",
                "`claims.custom.0.scope`",
            ),
        ] {
            assert_names_key(toml, key);
        }
        let custom = from_toml(
            "[[claims.custom]]\nscope = \"roles\"\nclaim = \"roles\"\nfield = \"roles\"\n",
        )
        .unwrap();
        assert_eq!(
            custom.claims.custom[0].into,
            ClaimTarget::IdToken,
            "the default"
        );
    }
}
