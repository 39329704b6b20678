//! `[forward_auth]`: the endpoint reverse proxies ask about a request's token.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::HeaderName;
use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::domain::RequestPath;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardAuthConfig {
    /// Where reverse proxies ask whether a request's token is good.
    pub path: String,
    /// How long a good answer is reused; also how long a revoked token can
    /// still pass. 0s disables the cache.
    #[serde(with = "humantime_serde")]
    pub cache_ttl: Duration,
    /// How long a refused token is refused without asking Hydra again, so
    /// a flood of one garbage or revoked token costs one introspection per
    /// this long. 0s disables it.
    #[serde(with = "humantime_serde")]
    pub negative_cache_ttl: Duration,
    /// Bounds each cache (good answers and refusals apart).
    pub cache_max_entries: usize,
    /// When set, tokens must carry this audience. Without it, a token any
    /// client got passes every protected API.
    pub audience: Option<String>,
    /// The one header holding the original request's path, believed only
    /// from `server.trusted_proxies`: nginx is told to set X-Original-URI,
    /// Caddy and Traefik send X-Forwarded-Uri.
    #[serde(with = "one_header_name")]
    pub uri_header: HeaderName,
    /// Scopes required per path prefix of the original request.
    pub rules: Vec<ForwardAuthRule>,
    /// Token claims passed to the upstream as headers: claim -> header name.
    #[serde(with = "header_names")]
    pub claim_headers: BTreeMap<String, HeaderName>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardAuthRule {
    /// Compared with the normalised path ([`RequestPath`]), so it must be
    /// written normalised itself.
    pub prefix: String,
    pub scopes: Vec<String>,
}

impl Default for ForwardAuthConfig {
    fn default() -> Self {
        ForwardAuthConfig {
            path: "/auth/verify".into(),
            cache_ttl: Duration::from_secs(10),
            negative_cache_ttl: Duration::from_secs(5),
            cache_max_entries: 10_000,
            audience: None,
            uri_header: HeaderName::from_static("x-original-uri"),
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
        for (i, rule) in self.rules.iter().enumerate() {
            // A prefix no normalised path can start with (`/api//admin`,
            // `/x/../admin`) would silently protect nothing.
            let normal = RequestPath::parse(&rule.prefix).map(|p| p.to_string());
            if normal.as_deref() != Ok(rule.prefix.as_str()) {
                let expected = match normal {
                    Ok(normal) => format!("be written as \"{normal}\""),
                    Err(e) => format!("be a path: {e}"),
                };
                return Err(ConfigError::key(
                    &format!("forward_auth.rules[{i}].prefix"),
                    format!(
                        "`{}` must {expected} (paths are normalised before matching)",
                        rule.prefix
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// `forward_auth.uri_header`: a header name written as text.
mod one_header_name {
    use axum::http::HeaderName;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::config::checks::header_name;

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<HeaderName, D::Error> {
        let text = String::deserialize(deserializer)?;
        header_name("forward_auth.uri_header", &text).map_err(|e| e.into_de())
    }

    pub fn serialize<S: Serializer>(name: &HeaderName, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(name.as_str())
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
    use crate::config::tests::{assert_names_key, error_for, from_toml};

    #[test]
    fn forward_auth_settings_are_checked() {
        let config = from_toml("[forward_auth.claim_headers]\niss = \"X-Auth-Issuer\"\n").unwrap();
        assert_eq!(config.forward_auth.claim_headers["iss"], "x-auth-issuer");
        assert_eq!(config.forward_auth.uri_header, "x-original-uri");
        let caddy = from_toml("[forward_auth]\nuri_header = \"X-Forwarded-Uri\"\n").unwrap();
        assert_eq!(caddy.forward_auth.uri_header, "x-forwarded-uri");
        let rule = |prefix: &str| {
            format!("[[forward_auth.rules]]\nprefix = \"{prefix}\"\nscopes = [\"admin\"]\n")
        };
        assert!(from_toml(&rule("/api/admin/")).is_ok());
        for prefix in [
            "/api//admin",
            "/x/../admin",
            "/%61dmin",
            "admin",
            "/admin?x",
            "/ad%2fmin",
        ] {
            assert_names_key(&rule(prefix), "`forward_auth.rules[0].prefix`");
        }
        assert!(error_for(&rule("/%61dmin")).contains("\"/admin\""));
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
            (
                "[forward_auth]\nuri_header = \"X Original\"\n",
                "`forward_auth.uri_header`",
            ),
        ] {
            assert_names_key(toml, key);
        }
    }
}
