//! `[server]`: the public listener.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::checks::check_origin;
use super::ConfigError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address of the one public listener.
    pub listen: SocketAddr,
    /// The origin users and apps see; also Hydra's issuer.
    pub public_url: Url,
    /// Reverse proxies whose `X-Forwarded-For` names the real client address
    /// (used for the per-IP code limit) and whose `forward_auth.uri_header`
    /// names the path forward auth checks.
    pub trusted_proxies: Vec<IpAddr>,
    /// On SIGTERM, how long in-flight requests may take before their
    /// connections are closed.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// How long a client may take to send a request's header, counted from
    /// when the connection waits for it: at connect, and after each answer
    /// on a kept-alive connection (so this is also the keep-alive idle time).
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// Between requests' own work, a connection on which no byte moves for
    /// this long is closed: a stalled TLS handshake or body upload, an answer
    /// the client does not read, an idle HTTP/2 connection.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// At most this many client connections at once (lowered at start-up to
    /// fit the open-file limit). A new one past it closes the oldest idle one.
    pub max_connections: usize,
    /// Serve HTTPS directly (no reverse proxy); SIGHUP reloads the files.
    pub tls: Option<TlsConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain (leaf first).
    pub cert_file: PathBuf,
    /// PEM private key.
    pub key_file: PathBuf,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 4455)),
            public_url: Url::parse("http://localhost:4455").expect("static URL"),
            trusted_proxies: vec![
                IpAddr::from([127, 0, 0, 1]),
                IpAddr::from(Ipv6Addr::LOCALHOST),
            ],
            shutdown_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4096,
            tls: None,
        }
    }
}

impl ServerConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        check_origin("server.public_url", &self.public_url)?;
        if self.tls.is_some() && self.public_url.scheme() != "https" {
            return Err(ConfigError::key(
                "server.public_url",
                "must be an https:// URL when server.tls is set",
            ));
        }
        // systemd's TimeoutStopSec (30s in the shipped unit) must cover this
        // plus Hydra's own 10s stop grace.
        if self.shutdown_timeout > Duration::from_secs(600) {
            return Err(ConfigError::key(
                "server.shutdown_timeout",
                "must be at most 10m",
            ));
        }
        self.validate_connection_limits()
    }

    fn validate_connection_limits(&self) -> Result<(), ConfigError> {
        let seconds = |key: &str, value: Duration, max: u64| {
            if value < Duration::from_secs(1) || value > Duration::from_secs(max) {
                let range = humantime::format_duration(Duration::from_secs(max));
                return Err(ConfigError::key(key, format!("must be from 1s to {range}")));
            }
            Ok(())
        };
        seconds("server.header_read_timeout", self.header_read_timeout, 300)?;
        seconds("server.idle_timeout", self.idle_timeout, 3600)?;
        if !(16..=1_000_000).contains(&self.max_connections) {
            return Err(ConfigError::key(
                "server.max_connections",
                "must be from 16 to 1000000",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{assert_names_key, error_for};

    #[test]
    fn malformed_url_is_named() {
        assert_names_key(
            "[server]\npublic_url = \"not a url\"\n",
            "`server.public_url`",
        );
    }

    #[test]
    fn connection_limits_are_bounded_and_named() {
        for (line, key) in [
            (
                "header_read_timeout = \"0s\"",
                "`server.header_read_timeout`",
            ),
            (
                "header_read_timeout = \"1h\"",
                "`server.header_read_timeout`",
            ),
            ("idle_timeout = \"500ms\"", "`server.idle_timeout`"),
            ("max_connections = 3", "`server.max_connections`"),
        ] {
            let err = error_for(&format!("[server]\n{line}\n"));
            assert!(err.contains(key), "{line}: {err}");
        }
    }

    #[test]
    fn public_url_with_path_is_refused() {
        let err = error_for("[server]\npublic_url = \"https://id.example.com/auth\"\n");
        assert!(err.contains("`server.public_url`"), "{err}");
        assert!(err.contains("without a path"), "{err}");
    }
}
