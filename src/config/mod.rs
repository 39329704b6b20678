//! Configuration: built-in defaults <- config.toml <- `GATEHOUSE_*` environment.
//!
//! Everything is parsed into one typed struct and validated once at start-up,
//! so the rest of the program never re-checks a setting. Every error names the
//! key that is wrong.
//!
//! One file per section holds its struct, its defaults and its rules. A
//! setting that becomes a richer type (a region, a header name, a mode with
//! its URLs) is parsed while the file is read; the rules that only check a
//! value run in `validate`, the cross-section ones with what they compare.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use url::Url;

mod audit;
mod bot_challenge;
mod ca_file;
mod checks;
mod claims;
mod consent;
mod database;
mod directory;
mod directory_sql;
mod error;
mod events;
mod forward_auth;
mod grpc;
mod headless;
mod hydra;
mod hydra_dsn;
mod hydra_tuning;
mod jobs;
mod log;
mod login;
mod metrics;
mod otp;
mod otp_issuer;
mod production;
mod secret;
mod secret_files;
mod server;
mod sms;
mod sms_policy;
mod sms_providers;
mod ui;
mod users;

pub use audit::AuditConfig;
pub use bot_challenge::{
    BotChallengeConfig, BotChallengeKind, CaptchaConfig, CaptchaProvider, ChallengeApply, ProofKind,
};
pub use ca_file::CaFile;
pub use claims::{ClaimTarget, ClaimsConfig, CustomClaim};
pub use consent::ConsentConfig;
pub use database::{DatabaseConfig, DatabaseLocation};
pub use directory::{
    DirectoryConfig, DirectoryKind, FieldMapping, HttpAuth, HttpDirectoryConfig, HttpService,
    SqlDirectoryConfig,
};
pub use directory_sql::{stays_on_this_machine, PgSslMode, PostgresTls, SqlDatabase};
pub use error::ConfigError;
pub use events::{EventKinds, EventsConfig};
pub use forward_auth::{ForwardAuthConfig, ForwardAuthRule};
pub use grpc::{ClientIdentity, GrpcSettings};
pub use headless::{HeadlessClient, HeadlessConfig, TokenExchangeConfig};
pub use hydra::{AccessTokenStrategy, HydraConfig, HydraMode};
pub use hydra_tuning::{HydraTuning, SigningKey, SqliteSynchronous};
pub use jobs::JobsConfig;
pub use log::{LogConfig, LogFilter, LogFormat};
pub use login::{LoginConfig, LoginMethod};
pub use metrics::MetricsConfig;
pub use otp::{OtpConfig, MAX_FAILURES_PER_HOUR};
pub use otp_issuer::{CodeIssuer, GrpcIssuerConfig, HttpIssuerConfig, TwilioVerifyConfig};
pub use secret::Secret;
pub use secret_files::{SecretFile, SecretSources};
pub use server::{ServerConfig, TlsConfig};
pub use sms::{SmsConfig, SmsSenderKind, WebhookConfig, DEFAULT_TEMPLATE};
pub use sms_policy::{Countries, PolicyMode, SmsPolicy};
pub use sms_providers::{
    AwsSnsConfig, MessageBirdConfig, TwilioConfig, TwilioOrigin, VonageConfig, VonageReceipts,
    VonageSignatureMethod,
};
pub use ui::{ImageType, UiConfig, MAX_EXTRA_CSS_BYTES, MAX_LOGO_BYTES};
pub use users::{Signup, UsersConfig};

/// Environment variables read by the CLI itself, not configuration keys.
const CLI_ENV_VARS: &[&str] = &["CONFIG"];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where gatehouse keeps its database, Hydra's database and the secrets.
    pub data_dir: PathBuf,
    /// Lets setups that are unsafe in production start (plain http to a
    /// remote host, codes in the log, short codes): development only.
    pub unsafe_development_mode: bool,
    /// Where gatehouse's own state is: SQLite in the data dir, or PostgreSQL.
    pub database: DatabaseConfig,
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
    /// A check that a person asks, before a code is sent.
    pub bot_challenge: BotChallengeConfig,
    pub jobs: JobsConfig,
    pub forward_auth: ForwardAuthConfig,
    pub metrics: MetricsConfig,
    pub log: LogConfig,
    pub headless: HeadlessConfig,
    /// The audit trail in gatehouse's database.
    pub audit: AuditConfig,
    /// Each audit event, sent to the operator's own system.
    pub events: EventsConfig,
    /// Languages, the operator's texts and the pages' branding.
    pub ui: UiConfig,
    /// Where the secrets were read from (not a setting: noted while the
    /// configuration is read, for `doctor`).
    #[serde(skip)]
    pub secrets: SecretSources,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./data"),
            unsafe_development_mode: false,
            database: DatabaseConfig::default(),
            server: ServerConfig::default(),
            hydra: HydraConfig::default(),
            login: LoginConfig::default(),
            consent: ConsentConfig::default(),
            users: UsersConfig::default(),
            directory: DirectoryConfig::default(),
            claims: ClaimsConfig::default(),
            otp: OtpConfig::default(),
            sms: SmsConfig::default(),
            bot_challenge: BotChallengeConfig::default(),
            jobs: JobsConfig::default(),
            forward_auth: ForwardAuthConfig::default(),
            metrics: MetricsConfig::default(),
            log: LogConfig::default(),
            headless: HeadlessConfig::default(),
            audit: AuditConfig::default(),
            events: EventsConfig::default(),
            ui: UiConfig::default(),
            secrets: SecretSources::default(),
        }
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
                    return Err(ConfigError::missing_file(path));
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

    /// Parses and validates a figment; used by `load` and by tests. Secrets
    /// given as `<key>_file` are read first (`secret_files`).
    pub fn from_figment(figment: Figment) -> Result<Config, ConfigError> {
        let (figment, secrets) = secret_files::resolve(figment)?;
        let mut config: Config = figment.extract()?;
        config.secrets = secrets;
        config.validate()?;
        Ok(config)
    }

    /// Each section's rules; a section that depends on another is given it.
    fn validate(&self) -> Result<(), ConfigError> {
        self.server.validate()?;
        self.database.validate()?;
        self.hydra.validate(self.server.listen.port())?;
        self.otp.validate()?;
        self.directory.validate(self.users.signup)?;
        self.claims.validate()?;
        self.forward_auth.validate()?;
        self.metrics.validate(self.server.listen)?;
        self.sms.validate()?;
        self.bot_challenge.validate()?;
        self.sms
            .policy
            .check_sender(&self.sms.sender, self.users.default_region)?;
        self.headless
            .validate(self.hydra.login_consent_request_ttl)?;
        self.jobs.validate()?;
        self.login.validate()?;
        self.audit.validate()?;
        self.events.validate(self.audit.retention)?;
        self.ui.validate()?;
        production::check(self)
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
        self.hydra.admin_api()
    }

    /// Hydra's public API base URL, whatever the mode.
    pub fn hydra_public_url(&self) -> Url {
        self.hydra.public_api()
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

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error
mod tests {
    use super::*;

    /// The defaults with `toml` over them, parsed and validated.
    pub(crate) fn from_toml(toml: &str) -> Result<Config, ConfigError> {
        Config::from_figment(
            Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(toml)),
        )
    }

    /// Why `toml` is refused.
    pub(crate) fn error_for(toml: &str) -> String {
        match from_toml(toml) {
            Ok(_) => panic!("accepted: {toml}"),
            Err(err) => err.to_string(),
        }
    }

    /// `toml` is refused with a message that names `key`.
    pub(crate) fn assert_names_key(toml: &str, key: &str) {
        let err = error_for(toml);
        assert!(err.contains(key), "{toml}: {err}");
    }

    #[test]
    fn defaults_are_valid() {
        let config = from_toml("").expect("defaults validate");
        assert_eq!(config.public_origin(), "http://localhost:4455");
        assert_eq!(config.hydra_admin_url().as_str(), "http://127.0.0.1:4445/");
    }

    #[test]
    fn unknown_key_is_named() {
        let err = error_for("[hydra]\nbinnary = \"/x\"\n");
        assert!(err.contains("`hydra.binnary`"), "{err}");
        assert!(err.contains("unknown key"), "{err}");
    }

    #[test]
    fn wrong_type_is_named() {
        assert_names_key("[hydra]\npublic_port = \"many\"\n", "`hydra.public_port`");
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
