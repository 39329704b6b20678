//! `[users]`: who may sign in, and how typed numbers are read.

use phonenumber::country;
use serde::{Deserialize, Serialize};

/// Who may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Signup {
    /// A phone that verifies a code becomes a user (created on first verified login).
    Auto,
    /// Only phones already in the user table can sign in.
    Closed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersConfig {
    pub signup: Signup,
    /// ISO 3166 region (e.g. "US", "DE") for numbers typed without `+`;
    /// unset means people must type the country code.
    #[serde(default, with = "region_code")]
    pub default_region: Option<country::Id>,
}

impl Default for UsersConfig {
    fn default() -> Self {
        UsersConfig {
            signup: Signup::Auto,
            default_region: None,
        }
    }
}

/// `users.default_region` is written as its code, in either case ("de").
mod region_code {
    use phonenumber::country;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::config::ConfigError;
    use crate::domain::phone::parse_region;

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<country::Id>, D::Error> {
        let Some(code) = Option::<String>::deserialize(deserializer)? else {
            return Ok(None);
        };
        match parse_region(&code) {
            Some(region) => Ok(Some(region)),
            None => Err(ConfigError::key(
                "users.default_region",
                format!("`{code}` is not a region code such as \"US\" or \"DE\""),
            )
            .into_de()),
        }
    }

    pub fn serialize<S: Serializer>(
        region: &Option<country::Id>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match region {
            Some(region) => serializer.serialize_some::<str>(region.as_ref()),
            None => serializer.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use phonenumber::country;

    use crate::config::tests::{assert_names_key, from_toml};

    #[test]
    fn users_settings_are_checked() {
        assert_names_key(
            "[users]\ndefault_region = \"Narnia\"\n",
            "`users.default_region`",
        );
        assert_names_key("[users]\nsignup = \"open\"\n", "`users.signup`");
        let config = from_toml("[users]\ndefault_region = \"de\"\n").unwrap();
        assert_eq!(config.users.default_region, Some(country::Id::DE));
        let printed = config.to_toml();
        assert!(printed.contains("default_region = \"DE\""), "{printed}");
        assert!(from_toml(&printed).is_ok(), "the printed code reads back");
    }
}
