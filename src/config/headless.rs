//! `[headless]`: the sign-in API for native apps (`/api/headless/*`).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::checks::{check_http_url, check_not_blank};
use super::{CaFile, ConfigError, Secret};

/// The headless sign-in API for native apps (`/api/headless/*`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadlessConfig {
    /// How long an app has between requesting a code and verifying it.
    #[serde(with = "humantime_serde")]
    pub session_ttl: Duration,
    /// The only clients that may use the API; none by default.
    pub clients: Vec<HeadlessClient>,
    pub token_exchange: TokenExchangeConfig,
}

/// `POST /api/headless/token-exchange`: a session of the existing system,
/// verified by that system, traded for tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenExchangeConfig {
    /// The existing system's verification endpoint; unset = exchange off.
    pub url: Option<Url>,
    /// Deadline for one verification, connecting included.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Sent to the verifier as `Authorization: Bearer <token>`.
    pub bearer_token: Option<Secret>,
    /// CA certificates (PEM) trusted for an https `url` besides the system's.
    #[serde(default, deserialize_with = "token_exchange_ca_file")]
    pub ca_file: Option<CaFile>,
}

fn token_exchange_ca_file<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<CaFile>, D::Error> {
    let path = Option::<std::path::PathBuf>::deserialize(deserializer)?;
    CaFile::load_optional("headless.token_exchange.ca_file", path).map_err(ConfigError::into_de)
}

/// A first-party app that signs people in without a browser. Its secret
/// and redirect URI stay on the server: the app only names its `client_id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadlessClient {
    /// The id of a client registered in Hydra (`gatehouse clients create`).
    pub client_id: String,
    pub client_secret: Secret,
    /// One of the client's registered redirect URIs; never visited, Hydra
    /// only puts the authorization code in it. Kept as written: Hydra
    /// compares it with the registered one character by character.
    pub redirect_uri: String,
    /// Space-separated scopes the app may ask for; also what it gets when
    /// it asks for none.
    pub scope: String,
    /// May trade legacy sessions for tokens (`/api/headless/token-exchange`).
    #[serde(default)]
    pub token_exchange: bool,
}

impl Default for HeadlessConfig {
    fn default() -> Self {
        HeadlessConfig {
            session_ttl: Duration::from_secs(300),
            clients: Vec::new(),
            token_exchange: TokenExchangeConfig {
                url: None,
                timeout: Duration::from_secs(3),
                bearer_token: None,
                ca_file: None,
            },
        }
    }
}

impl HeadlessConfig {
    pub fn client(&self, client_id: &str) -> Option<&HeadlessClient> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    /// `login_consent_request_ttl`: Hydra's, which a session must not outlive.
    pub(super) fn validate(&self, login_consent_request_ttl: Duration) -> Result<(), ConfigError> {
        // The session carries a Hydra login challenge, which must outlive it.
        if self.session_ttl.as_secs() == 0 || self.session_ttl > login_consent_request_ttl {
            return Err(ConfigError::key(
                "headless.session_ttl",
                "must be at least 1s and at most hydra.login_consent_request_ttl",
            ));
        }
        for (i, client) in self.clients.iter().enumerate() {
            if self.clients[..i]
                .iter()
                .any(|c| c.client_id == client.client_id)
            {
                return Err(ConfigError::key(
                    &format!("headless.clients.{i}.client_id"),
                    format!("`{}` is listed twice", client.client_id),
                ));
            }
            client.validate(i, self.token_exchange.url.is_some())?;
        }
        self.token_exchange.validate()
    }
}

impl HeadlessClient {
    /// `i`: the client's place in `headless.clients`; `exchange_on`: whether
    /// `headless.token_exchange.url` is set.
    fn validate(&self, i: usize, exchange_on: bool) -> Result<(), ConfigError> {
        let key = |field: &str| format!("headless.clients.{i}.{field}");
        if self.client_id.trim().is_empty() {
            return Err(ConfigError::key(&key("client_id"), "must not be empty"));
        }
        if self.client_secret.expose().is_empty() {
            return Err(ConfigError::key(&key("client_secret"), "must not be empty"));
        }
        // Hydra refuses redirect URIs with a fragment; say so at start-up.
        let redirect_uri = Url::parse(&self.redirect_uri);
        if !redirect_uri.is_ok_and(|url| !url.cannot_be_a_base() && url.fragment().is_none()) {
            return Err(ConfigError::key(
                &key("redirect_uri"),
                format!(
                    "`{}` must be an absolute URL without a fragment",
                    self.redirect_uri
                ),
            ));
        }
        if self.scope.split_whitespace().next().is_none() {
            return Err(ConfigError::key(
                &key("scope"),
                "must name at least one scope, e.g. \"openid offline_access\"",
            ));
        }
        if self.token_exchange && !exchange_on {
            return Err(ConfigError::key(
                &key("token_exchange"),
                "needs headless.token_exchange.url, the existing system's verification endpoint",
            ));
        }
        Ok(())
    }
}

impl TokenExchangeConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.url {
            check_http_url("headless.token_exchange.url", url)?;
        }
        // The app waits for the verifier before Hydra's flow even starts.
        if self.timeout.is_zero() || self.timeout > Duration::from_secs(60) {
            return Err(ConfigError::key(
                "headless.token_exchange.timeout",
                "must be more than 0 and at most 1m",
            ));
        }
        check_not_blank(
            "headless.token_exchange.bearer_token",
            self.bearer_token.as_ref(),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::tests::{assert_names_key, from_toml};

    #[test]
    fn headless_clients_are_read_and_checked() {
        let client = |id: &str, redirect: &str| {
            format!(
                "[[headless.clients]]\nclient_id = \"{id}\"\nclient_secret = \"s3cret-VALUE\"\n\
                 redirect_uri = \"{redirect}\"\nscope = \"openid offline_access\"\n"
            )
        };
        let ok = client("app", "https://app.example/cb");
        let config = from_toml(&ok).unwrap();
        let app = config.headless.client("app").expect("listed");
        assert_eq!(app.client_secret.expose(), "s3cret-VALUE");
        assert!(config.headless.client("other").is_none());
        assert!(
            !config.to_toml().contains("s3cret"),
            "the secret is redacted"
        );
        assert_eq!(config.headless.session_ttl, Duration::from_secs(300));

        let twice = format!("{ok}{}", client("app", "https://app.example/cb2"));
        for (toml, key) in [
            (twice, "`headless.clients.1.client_id`"),
            (
                client("x", "not a url"),
                "`headless.clients.0.redirect_uri`",
            ),
            (
                client("x", "https://app.example/cb#frag"),
                "`headless.clients.0.redirect_uri`",
            ),
            (
                client("", "https://app.example/cb"),
                "`headless.clients.0.client_id`",
            ),
            (
                "[headless]\nsession_ttl = \"1h\"\n".to_string(),
                "`headless.session_ttl`",
            ),
            (
                "[[headless.clients]]\nclient_id = \"x\"\n".to_string(),
                "client_secret",
            ),
            (
                "[headless.token_exchange]\nca_file = \"/nonexistent/ca.pem\"\n".to_string(),
                "`headless.token_exchange.ca_file`",
            ),
        ] {
            assert_names_key(&toml, key);
        }
    }

    #[test]
    fn token_exchange_settings_are_read_and_checked() {
        let config = from_toml("").unwrap();
        let exchange = &config.headless.token_exchange;
        assert!(exchange.url.is_none(), "off by default");
        assert_eq!(exchange.timeout, Duration::from_secs(3));

        let client = |token_exchange: &str| {
            format!(
                "[[headless.clients]]\nclient_id = \"app\"\nclient_secret = \"s\"\n\
                 redirect_uri = \"https://app.example/cb\"\nscope = \"openid\"\n{token_exchange}"
            )
        };
        let on = "[headless.token_exchange]\nurl = \"https://legacy.internal/verify\"\n\
                  bearer_token = \"verifier-SECRET\"\ntimeout = \"500ms\"\n";
        let config = from_toml(&format!("{on}{}", client("token_exchange = true\n"))).unwrap();
        let exchange = &config.headless.token_exchange;
        assert_eq!(exchange.timeout, Duration::from_millis(500));
        assert_eq!(
            exchange.bearer_token.as_ref().unwrap().expose(),
            "verifier-SECRET"
        );
        assert!(config.headless.client("app").unwrap().token_exchange);
        assert!(
            !config.to_toml().contains("SECRET"),
            "the token is redacted"
        );
        let config = from_toml(&format!("{on}{}", client(""))).unwrap();
        assert!(
            !config.headless.client("app").unwrap().token_exchange,
            "clients opt in"
        );

        for (toml, key) in [
            (
                client("token_exchange = true\n"),
                "`headless.clients.0.token_exchange`",
            ),
            (
                "[headless.token_exchange]\nurl = \"ftp://legacy.internal/\"\n".to_string(),
                "`headless.token_exchange.url`",
            ),
            (
                "[headless.token_exchange]\ntimeout = \"0s\"\n".to_string(),
                "`headless.token_exchange.timeout`",
            ),
            (
                "[headless.token_exchange]\nbearer_token = \" \"\n".to_string(),
                "`headless.token_exchange.bearer_token`",
            ),
            (
                "[headless.token_exchange]\nurls = \"https://x/\"\n".to_string(),
                "`headless.token_exchange.urls`",
            ),
        ] {
            assert_names_key(&toml, key);
        }
    }
}
