//! Configuration: built-in defaults <- config.toml <- `GATEHOUSE_*` environment.
//!
//! Everything is parsed into one typed struct and validated once at start-up,
//! so the rest of the program never re-checks a setting. Every error names the
//! key that is wrong.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::domain::phone;

mod directory;
pub use directory::{
    ClaimTarget, ClaimsConfig, CustomClaim, DirectoryConfig, DirectoryKind, FieldMapping,
    HttpDirectoryConfig, SqlDirectoryConfig,
};

/// Environment variables read by the CLI itself, not configuration keys.
const CLI_ENV_VARS: &[&str] = &["CONFIG"];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where gatehouse keeps its database, Hydra's database and the secrets.
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    pub hydra: HydraConfig,
    pub login: LoginConfig,
    pub consent: ConsentConfig,
    pub users: UsersConfig,
    /// Where users live: gatehouse's own table, or an existing service or database.
    pub directory: DirectoryConfig,
    /// Extra claims from directory fields.
    pub claims: ClaimsConfig,
    pub otp: OtpConfig,
    pub sms: SmsConfig,
    pub jobs: JobsConfig,
    pub forward_auth: ForwardAuthConfig,
    pub metrics: MetricsConfig,
    pub log: LogConfig,
    pub headless: HeadlessConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address of the one public listener.
    pub listen: SocketAddr,
    /// The origin users and apps see; also Hydra's issuer.
    pub public_url: Url,
    /// Reverse proxies whose `X-Forwarded-For` names the real client address
    /// (used for the per-IP code limit).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// On SIGTERM, how long in-flight requests may take before their
    /// connections are closed.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginConfig {
    /// How long "keep me signed in" lasts.
    #[serde(with = "humantime_serde")]
    pub remember_for: Duration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentConfig {
    /// Client ids whose consent is given without asking (first-party apps).
    pub trusted_clients: Vec<String>,
    /// How long "remember this decision" lasts.
    #[serde(with = "humantime_serde")]
    pub remember_for: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HydraMode {
    Supervised,
    External,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessTokenStrategy {
    Opaque,
    Jwt,
}

impl AccessTokenStrategy {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessTokenStrategy::Opaque => "opaque",
            AccessTokenStrategy::Jwt => "jwt",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HydraConfig {
    pub mode: HydraMode,
    /// Hydra executable (supervised mode).
    pub binary: PathBuf,
    /// Hydra's public listener on 127.0.0.1 (supervised mode).
    pub public_port: u16,
    /// Hydra's admin listener on 127.0.0.1 (supervised mode).
    pub admin_port: u16,
    /// Hydra's admin API (external mode).
    pub admin_url: Option<Url>,
    /// Hydra's public API (external mode).
    pub public_url: Option<Url>,
    pub access_token_strategy: AccessTokenStrategy,
    #[serde(with = "humantime_serde")]
    pub access_token_ttl: Duration,
    #[serde(with = "humantime_serde")]
    pub refresh_token_ttl: Duration,
    /// How long a used refresh token still works, so that an app's retried
    /// or parallel refresh does not revoke the whole token chain (max 5m).
    #[serde(with = "humantime_serde")]
    pub refresh_token_rotation_grace_period: Duration,
    #[serde(with = "humantime_serde")]
    pub id_token_ttl: Duration,
    #[serde(with = "humantime_serde")]
    pub auth_code_ttl: Duration,
    /// How long a user may take to get through login and consent.
    #[serde(with = "humantime_serde")]
    pub login_consent_request_ttl: Duration,
    /// How long to wait for Hydra to report ready at start-up.
    #[serde(with = "humantime_serde")]
    pub ready_timeout: Duration,
    /// Hydra's own log level: trace, debug, info, warn, error.
    pub log_level: String,
}

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
    pub default_region: Option<String>,
}

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsSenderKind {
    /// Print codes on stdout: development only.
    Stdout,
    Webhook,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    pub sender: SmsSenderKind,
    /// `{app}` and `{code}` are replaced; `{code}` is required.
    pub template: String,
    pub app_name: String,
    pub webhook: WebhookConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: Option<Url>,
    /// Deadline for one delivery, retries included.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Tries for transient failures (connection errors, 5xx), first one included.
    pub max_attempts: u32,
    /// Sent as `Authorization: Bearer <token>`.
    pub bearer_token: Option<Secret>,
    /// Signs the body: `X-Gatehouse-Signature: sha256=<hex HMAC-SHA256>`.
    pub hmac_secret: Option<Secret>,
}

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
    pub claim_headers: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Where `GET /metrics` (Prometheus text) is served; unset = off.
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardAuthRule {
    pub prefix: String,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsConfig {
    /// Cron expression with seconds: sec min hour day-of-month month day-of-week.
    pub purge_schedule: String,
}

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

impl HeadlessConfig {
    pub fn client(&self, client_id: &str) -> Option<&HeadlessClient> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }
}

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

const REDACTED: &str = "(redacted)";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter, e.g. "info" or "gatehouse=debug,info".
    pub level: String,
    pub format: LogFormat,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./data"),
            server: ServerConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 4455)),
                public_url: Url::parse("http://localhost:4455").expect("static URL"),
                trusted_proxies: vec![
                    std::net::IpAddr::from([127, 0, 0, 1]),
                    std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
                ],
                shutdown_timeout: Duration::from_secs(10),
                tls: None,
            },
            hydra: HydraConfig {
                mode: HydraMode::Supervised,
                binary: PathBuf::from("./bin/hydra"),
                public_port: 4444,
                admin_port: 4445,
                admin_url: None,
                public_url: None,
                access_token_strategy: AccessTokenStrategy::Opaque,
                access_token_ttl: Duration::from_secs(3600),
                refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
                refresh_token_rotation_grace_period: Duration::from_secs(5),
                id_token_ttl: Duration::from_secs(3600),
                auth_code_ttl: Duration::from_secs(600),
                login_consent_request_ttl: Duration::from_secs(1800),
                ready_timeout: Duration::from_secs(60),
                log_level: "info".into(),
            },
            login: LoginConfig {
                remember_for: Duration::from_secs(30 * 24 * 3600),
            },
            consent: ConsentConfig {
                trusted_clients: Vec::new(),
                remember_for: Duration::from_secs(180 * 24 * 3600),
            },
            users: UsersConfig {
                signup: Signup::Auto,
                default_region: None,
            },
            directory: DirectoryConfig::default(),
            claims: ClaimsConfig::default(),
            otp: OtpConfig {
                length: 6,
                ttl: Duration::from_secs(300),
                max_attempts: 5,
                resend_cooldown: Duration::from_secs(30),
                max_per_phone_per_hour: 5,
                max_per_ip_per_hour: 20,
            },
            sms: SmsConfig {
                sender: SmsSenderKind::Stdout,
                template: "Your {app} sign-in code is {code}".into(),
                app_name: "Gatehouse".into(),
                webhook: WebhookConfig {
                    url: None,
                    timeout: Duration::from_secs(10),
                    max_attempts: 3,
                    bearer_token: None,
                    hmac_secret: None,
                },
            },
            jobs: JobsConfig {
                purge_schedule: "0 */5 * * * *".into(),
            },
            forward_auth: ForwardAuthConfig {
                path: "/auth/verify".into(),
                cache_ttl: Duration::from_secs(10),
                cache_max_entries: 10_000,
                audience: None,
                rules: Vec::new(),
                claim_headers: Default::default(),
            },
            metrics: MetricsConfig { listen: None },
            log: LogConfig {
                level: "info".into(),
                format: LogFormat::Text,
            },
            headless: HeadlessConfig {
                session_ttl: Duration::from_secs(300),
                clients: Vec::new(),
                token_exchange: TokenExchangeConfig {
                    url: None,
                    timeout: Duration::from_secs(3),
                    bearer_token: None,
                },
            },
        }
    }
}

/// A configuration problem, worded for the operator: it names the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl ConfigError {
    fn key(key: &str, problem: impl std::fmt::Display) -> Self {
        ConfigError(format!("configuration key `{key}`: {problem}"))
    }
}

impl From<figment::Error> for ConfigError {
    fn from(error: figment::Error) -> Self {
        use figment::error::Kind;
        // figment may collect several errors; the first one is enough to act on.
        let error = error
            .into_iter()
            .next()
            .expect("figment error has one entry");
        let source = error
            .metadata
            .as_ref()
            .map(|m| match &m.source {
                Some(source) => format!(" (from {} {source})", m.name),
                None => format!(" (from {})", m.name),
            })
            .unwrap_or_default();
        let mut path: Vec<String> = error.path.clone();
        let problem = match &error.kind {
            Kind::UnknownField(field, expected) => {
                if path.last() != Some(field) {
                    path.push(field.clone());
                }
                format!("unknown key; expected one of {}", expected.join(", "))
            }
            Kind::MissingField(field) => {
                path.push(field.to_string());
                "missing".to_string()
            }
            other => other.to_string(),
        };
        let key = if path.is_empty() {
            "(top level)".to_string()
        } else {
            path.join(".")
        };
        ConfigError(format!("configuration key `{key}`: {problem}{source}"))
    }
}

impl Config {
    /// Loads defaults, then the TOML file (the given path must exist; without
    /// one, `./config.toml` is read when present), then `GATEHOUSE_*` variables.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match path {
            Some(path) => {
                if !path.is_file() {
                    return Err(ConfigError(format!(
                        "configuration file {} does not exist",
                        path.display()
                    )));
                }
                figment = figment.merge(Toml::file_exact(path));
            }
            // Only the working directory, never its parents.
            None if Path::new("config.toml").is_file() => {
                figment = figment.merge(Toml::file_exact("config.toml"))
            }
            None => {}
        }
        Self::from_figment(figment.merge(environment()))
    }

    /// Parses and validates a figment; used by `load` and by tests.
    pub fn from_figment(figment: Figment) -> Result<Config, ConfigError> {
        let config: Config = figment.extract()?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        check_origin("server.public_url", &self.server.public_url)?;
        if self.server.tls.is_some() && self.server.public_url.scheme() != "https" {
            return Err(ConfigError::key(
                "server.public_url",
                "must be an https:// URL when server.tls is set",
            ));
        }
        // systemd's TimeoutStopSec (30s in the shipped unit) must cover this
        // plus Hydra's own 10s stop grace.
        if self.server.shutdown_timeout > Duration::from_secs(600) {
            return Err(ConfigError::key(
                "server.shutdown_timeout",
                "must be at most 10m",
            ));
        }
        let hydra = &self.hydra;
        match hydra.mode {
            HydraMode::Supervised => {
                if hydra.public_port == 0 {
                    return Err(ConfigError::key("hydra.public_port", "must not be 0"));
                }
                if hydra.admin_port == 0 {
                    return Err(ConfigError::key("hydra.admin_port", "must not be 0"));
                }
                if hydra.public_port == hydra.admin_port {
                    return Err(ConfigError::key(
                        "hydra.admin_port",
                        "must differ from hydra.public_port",
                    ));
                }
                if hydra.public_port == self.server.listen.port() {
                    return Err(ConfigError::key(
                        "hydra.public_port",
                        "must differ from the port of server.listen",
                    ));
                }
                if hydra.admin_port == self.server.listen.port() {
                    return Err(ConfigError::key(
                        "hydra.admin_port",
                        "must differ from the port of server.listen",
                    ));
                }
            }
            HydraMode::External => {
                let admin = hydra.admin_url.as_ref().ok_or_else(|| {
                    ConfigError::key("hydra.admin_url", "required when hydra.mode = \"external\"")
                })?;
                check_http_url("hydra.admin_url", admin)?;
                let public = hydra.public_url.as_ref().ok_or_else(|| {
                    ConfigError::key(
                        "hydra.public_url",
                        "required when hydra.mode = \"external\"",
                    )
                })?;
                check_http_url("hydra.public_url", public)?;
            }
        }
        for (key, ttl) in [
            ("hydra.access_token_ttl", hydra.access_token_ttl),
            ("hydra.refresh_token_ttl", hydra.refresh_token_ttl),
            ("hydra.id_token_ttl", hydra.id_token_ttl),
            ("hydra.auth_code_ttl", hydra.auth_code_ttl),
            (
                "hydra.login_consent_request_ttl",
                hydra.login_consent_request_ttl,
            ),
            ("hydra.ready_timeout", hydra.ready_timeout),
        ] {
            if ttl.as_secs() == 0 {
                return Err(ConfigError::key(key, "must be at least one second"));
            }
        }
        if hydra.refresh_token_rotation_grace_period > Duration::from_secs(300) {
            return Err(ConfigError::key(
                "hydra.refresh_token_rotation_grace_period",
                "must be at most 5m (Hydra's limit)",
            ));
        }
        if !matches!(
            hydra.log_level.as_str(),
            "trace" | "debug" | "info" | "warn" | "warning" | "error" | "fatal" | "panic"
        ) {
            return Err(ConfigError::key(
                "hydra.log_level",
                format!(
                    "`{}` is not one of trace, debug, info, warn, error",
                    hydra.log_level
                ),
            ));
        }
        self.validate_users_and_otp()?;
        directory::validate(&self.directory, &self.claims, self.users.signup)?;
        let forward_auth = &self.forward_auth;
        if !forward_auth.path.starts_with('/') || forward_auth.path.len() < 2 {
            return Err(ConfigError::key(
                "forward_auth.path",
                "must be a path such as \"/auth/verify\"",
            ));
        }
        if let Some(listen) = self.metrics.listen {
            if listen == self.server.listen {
                return Err(ConfigError::key(
                    "metrics.listen",
                    "must differ from server.listen (metrics stay off the public port)",
                ));
            }
        }
        for header in forward_auth.claim_headers.values() {
            if axum::http::HeaderName::from_bytes(header.as_bytes()).is_err() {
                return Err(ConfigError::key(
                    "forward_auth.claim_headers",
                    format!("`{header}` is not a valid header name"),
                ));
            }
        }
        if forward_auth.cache_max_entries == 0 {
            return Err(ConfigError::key(
                "forward_auth.cache_max_entries",
                "must be at least 1",
            ));
        }
        self.validate_sms()?;
        self.validate_headless()?;
        if tokio_cron_scheduler::Job::new_async(self.jobs.purge_schedule.as_str(), |_, _| {
            Box::pin(async {})
        })
        .is_err()
        {
            return Err(ConfigError::key(
                "jobs.purge_schedule",
                format!(
                    "`{}` is not a cron expression with seconds, e.g. \"0 */5 * * * *\"",
                    self.jobs.purge_schedule
                ),
            ));
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return Err(ConfigError::key("log.level", e));
        }
        Ok(())
    }

    fn validate_users_and_otp(&self) -> Result<(), ConfigError> {
        if let Some(region) = &self.users.default_region {
            if phone::parse_region(region).is_none() {
                return Err(ConfigError::key(
                    "users.default_region",
                    format!("`{region}` is not a region code such as \"US\" or \"DE\""),
                ));
            }
        }
        let otp = &self.otp;
        if !(4..=10).contains(&otp.length) {
            return Err(ConfigError::key("otp.length", "must be between 4 and 10"));
        }
        // NIST SP 800-63B: a short-lived secret; ten minutes at most.
        if otp.ttl.as_secs() == 0 || otp.ttl > Duration::from_secs(600) {
            return Err(ConfigError::key("otp.ttl", "must be between 1s and 10m"));
        }
        if !(1..=10).contains(&otp.max_attempts) {
            return Err(ConfigError::key(
                "otp.max_attempts",
                "must be between 1 and 10",
            ));
        }
        if otp.resend_cooldown > Duration::from_secs(3600) {
            return Err(ConfigError::key(
                "otp.resend_cooldown",
                "must be at most 1h",
            ));
        }
        for (key, cap) in [
            ("otp.max_per_phone_per_hour", otp.max_per_phone_per_hour),
            ("otp.max_per_ip_per_hour", otp.max_per_ip_per_hour),
        ] {
            if cap == 0 {
                return Err(ConfigError::key(key, "must be at least 1"));
            }
        }
        Ok(())
    }

    fn validate_sms(&self) -> Result<(), ConfigError> {
        let sms = &self.sms;
        if !sms.template.contains("{code}") {
            return Err(ConfigError::key(
                "sms.template",
                "must contain {code}, where the code goes",
            ));
        }
        let webhook = &sms.webhook;
        if sms.sender == SmsSenderKind::Webhook {
            let url = webhook.url.as_ref().ok_or_else(|| {
                ConfigError::key("sms.webhook.url", "required when sms.sender = \"webhook\"")
            })?;
            check_http_url("sms.webhook.url", url)?;
        }
        if webhook.timeout.is_zero() {
            return Err(ConfigError::key(
                "sms.webhook.timeout",
                "must be more than 0",
            ));
        }
        if !(1..=10).contains(&webhook.max_attempts) {
            return Err(ConfigError::key(
                "sms.webhook.max_attempts",
                "must be between 1 and 10",
            ));
        }
        for (key, secret) in [
            ("sms.webhook.bearer_token", &webhook.bearer_token),
            ("sms.webhook.hmac_secret", &webhook.hmac_secret),
        ] {
            if secret
                .as_ref()
                .is_some_and(|s| s.expose().trim().is_empty())
            {
                return Err(ConfigError::key(key, "must not be empty when set"));
            }
        }
        Ok(())
    }

    fn validate_headless(&self) -> Result<(), ConfigError> {
        let headless = &self.headless;
        // The session carries a Hydra login challenge, which must outlive it.
        if headless.session_ttl.as_secs() == 0
            || headless.session_ttl > self.hydra.login_consent_request_ttl
        {
            return Err(ConfigError::key(
                "headless.session_ttl",
                "must be at least 1s and at most hydra.login_consent_request_ttl",
            ));
        }
        for (i, client) in headless.clients.iter().enumerate() {
            let key = |field: &str| format!("headless.clients.{i}.{field}");
            if client.client_id.trim().is_empty() {
                return Err(ConfigError::key(&key("client_id"), "must not be empty"));
            }
            if headless.clients[..i]
                .iter()
                .any(|c| c.client_id == client.client_id)
            {
                return Err(ConfigError::key(
                    &key("client_id"),
                    format!("`{}` is listed twice", client.client_id),
                ));
            }
            if client.client_secret.expose().is_empty() {
                return Err(ConfigError::key(&key("client_secret"), "must not be empty"));
            }
            // Hydra refuses redirect URIs with a fragment; say so at start-up.
            let redirect_uri = Url::parse(&client.redirect_uri);
            if !redirect_uri.is_ok_and(|url| !url.cannot_be_a_base() && url.fragment().is_none()) {
                return Err(ConfigError::key(
                    &key("redirect_uri"),
                    format!(
                        "`{}` must be an absolute URL without a fragment",
                        client.redirect_uri
                    ),
                ));
            }
            if client.scope.split_whitespace().next().is_none() {
                return Err(ConfigError::key(
                    &key("scope"),
                    "must name at least one scope, e.g. \"openid offline_access\"",
                ));
            }
            if client.token_exchange && headless.token_exchange.url.is_none() {
                return Err(ConfigError::key(
                    &key("token_exchange"),
                    "needs headless.token_exchange.url, the existing system's verification endpoint",
                ));
            }
        }
        let exchange = &headless.token_exchange;
        if let Some(url) = &exchange.url {
            check_http_url("headless.token_exchange.url", url)?;
        }
        // The app waits for the verifier before Hydra's flow even starts.
        if exchange.timeout.is_zero() || exchange.timeout > Duration::from_secs(60) {
            return Err(ConfigError::key(
                "headless.token_exchange.timeout",
                "must be more than 0 and at most 1m",
            ));
        }
        if exchange
            .bearer_token
            .as_ref()
            .is_some_and(|s| s.expose().trim().is_empty())
        {
            return Err(ConfigError::key(
                "headless.token_exchange.bearer_token",
                "must not be empty when set",
            ));
        }
        Ok(())
    }

    /// The public origin without a trailing slash, e.g. `https://id.example.com`.
    pub fn public_origin(&self) -> String {
        self.server
            .public_url
            .as_str()
            .trim_end_matches('/')
            .to_string()
    }

    /// Hydra's admin API base URL, whatever the mode.
    pub fn hydra_admin_url(&self) -> Url {
        match self.hydra.mode {
            HydraMode::Supervised => loopback_url(self.hydra.admin_port),
            HydraMode::External => self.hydra.admin_url.clone().expect("validated"),
        }
    }

    /// Hydra's public API base URL, whatever the mode.
    pub fn hydra_public_url(&self) -> Url {
        match self.hydra.mode {
            HydraMode::Supervised => loopback_url(self.hydra.public_port),
            HydraMode::External => self.hydra.public_url.clone().expect("validated"),
        }
    }

    /// The effective configuration as TOML, for `gatehouse check-config`.
    pub fn to_toml(&self) -> String {
        // Durations print the way they are written ("1h", "30days").
        toml::to_string_pretty(self).expect("the configuration serializes to TOML")
    }
}

fn environment() -> Env {
    Env::prefixed("GATEHOUSE_").ignore(CLI_ENV_VARS).split("__")
}

fn loopback_url(port: u16) -> Url {
    Url::parse(&format!("http://127.0.0.1:{port}")).expect("loopback URL is valid")
}

fn check_http_url(key: &str, url: &Url) -> Result<(), ConfigError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::key(
            key,
            format!("`{url}` must be an http:// or https:// URL"),
        ));
    }
    if url.host_str().is_none() {
        return Err(ConfigError::key(key, format!("`{url}` has no host")));
    }
    Ok(())
}

fn check_origin(key: &str, url: &Url) -> Result<(), ConfigError> {
    check_http_url(key, url)?;
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::key(
            key,
            format!("`{url}` must be an origin such as https://id.example.com, without a path"),
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error
mod tests {
    use super::*;

    fn from_toml(toml: &str) -> Result<Config, ConfigError> {
        Config::from_figment(
            Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(toml)),
        )
    }

    #[test]
    fn defaults_are_valid() {
        let config = from_toml("").expect("defaults validate");
        assert_eq!(config.public_origin(), "http://localhost:4455");
        assert_eq!(config.hydra_admin_url().as_str(), "http://127.0.0.1:4445/");
    }

    #[test]
    fn unknown_key_is_named() {
        let err = from_toml("[hydra]\nbinnary = \"/x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`hydra.binnary`"), "{err}");
        assert!(err.contains("unknown key"), "{err}");
    }

    #[test]
    fn wrong_type_is_named() {
        let err = from_toml("[hydra]\npublic_port = \"many\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`hydra.public_port`"), "{err}");
    }

    #[test]
    fn malformed_url_is_named() {
        let err = from_toml("[server]\npublic_url = \"not a url\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`server.public_url`"), "{err}");
    }

    #[test]
    fn public_url_with_path_is_refused() {
        let err = from_toml("[server]\npublic_url = \"https://id.example.com/auth\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`server.public_url`"), "{err}");
        assert!(err.contains("without a path"), "{err}");
    }

    #[test]
    fn external_mode_requires_urls() {
        let err = from_toml("[hydra]\nmode = \"external\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`hydra.admin_url`"), "{err}");
    }

    #[test]
    fn durations_are_human() {
        let config = from_toml("[hydra]\naccess_token_ttl = \"15m\"\n").unwrap();
        assert_eq!(config.hydra.access_token_ttl, Duration::from_secs(900));
        let err = from_toml("[hydra]\naccess_token_ttl = \"soon\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`hydra.access_token_ttl`"), "{err}");
    }

    #[test]
    fn environment_overrides_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("config.toml", "[server]\nlisten = \"127.0.0.1:1000\"\n")?;
            jail.set_env("GATEHOUSE_SERVER__LISTEN", "127.0.0.1:2000");
            jail.set_env("GATEHOUSE_DATA_DIR", "/var/lib/gatehouse");
            jail.set_env("GATEHOUSE_CONFIG", "ignored-by-figment");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(config.server.listen.port(), 2000);
            assert_eq!(config.data_dir, PathBuf::from("/var/lib/gatehouse"));
            Ok(())
        });
    }

    #[test]
    fn unknown_environment_key_is_named() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("GATEHOUSE_SERVR__LISTEN", "127.0.0.1:2000");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("`servr`"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn secrets_are_redacted_when_printed() {
        let config = from_toml(
            "[sms]\nsender = \"webhook\"\n[sms.webhook]\nurl = \"http://127.0.0.1:9/sms\"\n\
             bearer_token = \"tok-SECRET-1\"\nhmac_secret = \"mac-SECRET-2\"\n",
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

    #[test]
    fn sms_and_otp_settings_are_checked() {
        for (toml, key) in [
            ("[sms]\nsender = \"webhook\"\n", "`sms.webhook.url`"),
            ("[sms]\ntemplate = \"hello\"\n", "`sms.template`"),
            ("[sms]\nsender = \"pigeon\"\n", "`sms.sender`"),
            ("[otp]\nttl = \"1h\"\n", "`otp.ttl`"),
            ("[otp]\nlength = 2\n", "`otp.length`"),
            (
                "[otp]\nmax_per_ip_per_hour = 0\n",
                "`otp.max_per_ip_per_hour`",
            ),
            (
                "[users]\ndefault_region = \"Narnia\"\n",
                "`users.default_region`",
            ),
            ("[users]\nsignup = \"open\"\n", "`users.signup`"),
            (
                "[jobs]\npurge_schedule = \"every day\"\n",
                "`jobs.purge_schedule`",
            ),
        ] {
            let err = from_toml(toml).unwrap_err().to_string();
            assert!(err.contains(key), "{toml}: {err}");
        }
        let config = from_toml("[users]\ndefault_region = \"de\"\n").unwrap();
        assert_eq!(config.users.default_region.as_deref(), Some("de"));
    }

    #[test]
    fn printed_config_parses_back() {
        let config = from_toml("[hydra]\nrefresh_token_ttl = \"7days\"\n").unwrap();
        let again = from_toml(&config.to_toml()).expect("printed config is valid TOML");
        assert_eq!(
            again.hydra.refresh_token_ttl,
            config.hydra.refresh_token_ttl
        );
    }

    #[test]
    fn example_file_documents_every_key_with_its_default() {
        let example = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml.example"),
        )
        .unwrap();
        let defaults: toml::Value = toml::from_str(&Config::default().to_toml()).unwrap();
        let documented: toml::Value = toml::from_str(&example).unwrap();
        assert_eq!(
            key_paths(&documented),
            key_paths(&defaults),
            "config.toml.example does not list exactly the configuration keys"
        );
        // Values compared after parsing, so "http://x" and "http://x/" agree.
        let parsed: toml::Value = toml::from_str(&from_toml(&example).unwrap().to_toml()).unwrap();
        assert_eq!(
            parsed, defaults,
            "config.toml.example shows a value that is not the default"
        );
    }

    #[test]
    fn directory_and_claims_settings_are_checked() {
        let http = "[users]\nsignup = \"closed\"\n[directory]\nkind = \"http\"\n";
        let config =
            from_toml(&format!("{http}[directory.http]\nbase_url = \"http://users.internal/api\"\nauth_header = \"Authorization\"\nauth_value = \"Bearer s3cret-VALUE\"\n")).unwrap();
        assert_eq!(config.directory.kind, DirectoryKind::Http);
        assert!(
            !config.to_toml().contains("s3cret"),
            "the auth value is redacted"
        );
        let sql = "[users]\nsignup = \"closed\"\n[directory]\nkind = \"sql\"\n[directory.sql]\nurl = \"sqlite:///tmp/u.db\"\n";
        let queries = "by_phone = \"SELECT * FROM u WHERE phone = $1\"\nby_id = \"SELECT * FROM u WHERE id = $1\"\n";
        assert!(from_toml(&format!("{sql}{queries}")).is_ok());
        for (toml, key) in [
            (
                "[directory]\nkind = \"http\"\n[directory.http]\nbase_url = \"http://u/\"\n"
                    .to_string(),
                "`users.signup`",
            ),
            (http.to_string(), "`directory.http.base_url`"),
            (
                format!(
                    "{http}[directory.http]\nbase_url = \"http://u/\"\nauth_header = \"X-Key\"\n"
                ),
                "`directory.http.auth_value`",
            ),
            (sql.to_string(), "`directory.sql.by_phone`"),
            (
                format!("{sql}by_phone = \"SELECT * FROM u WHERE phone = ?\"\n"),
                "`directory.sql.by_phone`",
            ),
            (
                format!("{sql}{queries}").replace("sqlite://", "mysql://"),
                "`directory.sql.url`",
            ),
            (
                "[directory]\nkind = \"ldap\"\n".to_string(),
                "`directory.kind`",
            ),
            (
                "[[claims.custom]]\nscope = \"roles\"\nclaim = \"sub\"\nfield = \"roles\"\n"
                    .to_string(),
                "`claims.custom.0.claim`",
            ),
            (
                "[[claims.custom]]\nscope = \"a b\"\nclaim = \"roles\"\nfield = \"roles\"\n"
                    .to_string(),
                "`claims.custom.0.scope`",
            ),
        ] {
            let err = from_toml(&toml).unwrap_err().to_string();
            assert!(err.contains(key), "{toml}: {err}");
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
        ] {
            let err = from_toml(&toml).unwrap_err().to_string();
            assert!(err.contains(key), "{toml}: {err}");
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
            let err = from_toml(&toml).unwrap_err().to_string();
            assert!(err.contains(key), "{toml}: {err}");
        }
    }

    fn key_paths(value: &toml::Value) -> Vec<String> {
        let mut paths = Vec::new();
        if let toml::Value::Table(table) = value {
            for (key, value) in table {
                paths.push(key.clone());
                paths.extend(key_paths(value).into_iter().map(|p| format!("{key}.{p}")));
            }
        }
        paths.sort();
        paths
    }
}
