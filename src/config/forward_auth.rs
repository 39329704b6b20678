//! `[forward_auth]`: the endpoint reverse proxies ask about a request's token.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::HeaderName;
use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardAuthConfig {
    /// Where reverse proxies ask whether a request's token is good.
    pub path: String,
    /// How long a good answer is reused; also how long a revoked token can
    /// still pass. 0s disables the cache.
    #[serde(with = "humantime_serde")]
    pub cache_ttl: Duration,
    pub cache_max_entries: usize,
    /// When set, tokens must carry this audience.
    pub audience: Option<String>,
    /// Scopes required per path prefix of the original request.
    pub rules: Vec<ForwardAuthRule>,
    /// Token claims passed to the upstream as headers: claim -> header name.
    #[serde(with = "header_names")]
    pub claim_headers: BTreeMap<String, HeaderName>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardAuthRule {
    pub prefix: String,
    pub scopes: Vec<String>,
}

impl Default for ForwardAuthConfig {
    fn default() -> Self {
        ForwardAuthConfig {
            path: "/auth/verify".into(),
            cache_ttl: Duration::from_secs(10),
            cache_max_entries: 10_000,
            audience: None,
            rules: Vec::new(),
            claim_headers: BTreeMap::new(),
        }
    }
}

impl ForwardAuthConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !self.path.starts_with('/') || self.path.len() < 2 {
            return Err(ConfigError::key(
                "forward_auth.path",
                "must be a path such as \"/auth/verify\"",
            ));
        }
        if self.cache_max_entries == 0 {
            return Err(ConfigError::key(
                "forward_auth.cache_max_entries",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// `forward_auth.claim_headers`: header names are written as text.
mod header_names {
    use std::collections::BTreeMap;

    use axum::http::HeaderName;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::config::checks::header_name;

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<String, HeaderName>, D::Error> {
        BTreeMap::<String, String>::deserialize(deserializer)?
            .into_iter()
            .map(|(claim, header)| {
                let name = header_name("forward_auth.claim_headers", &header);
                Ok((claim, name.map_err(|e| e.into_de())?))
            })
            .collect()
    }

    pub fn serialize<S: Serializer>(
        headers: &BTreeMap<String, HeaderName>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_map(headers.iter().map(|(claim, name)| (claim, name.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{assert_names_key, from_toml};

    #[test]
    fn forward_auth_settings_are_checked() {
        let config = from_toml("[forward_auth.claim_headers]\niss = \"X-Auth-Issuer\"\n").unwrap();
        assert_eq!(config.forward_auth.claim_headers["iss"], "x-auth-issuer");
        for (toml, key) in [
            (
                "[forward_auth.claim_headers]\niss = \"X Auth\"\n",
                "`forward_auth.claim_headers`",
            ),
            ("[forward_auth]\npath = \"verify\"\n", "`forward_auth.path`"),
            (
                "[forward_auth]\ncache_max_entries = 0\n",
                "`forward_auth.cache_max_entries`",
            ),
        ] {
            assert_names_key(toml, key);
        }
    }
}
