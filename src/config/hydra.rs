//! `[hydra]`: the Hydra gatehouse runs (supervised) or uses (external).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::checks::required_http_url;
use super::hydra_tuning::HydraTuning;
use super::{hydra_dsn, CaFile, ConfigError, Secret};

/// Which Hydra: one gatehouse runs on 127.0.0.1, or one someone else runs.
#[derive(Debug, Clone, PartialEq, Eq)]
// Built once when the configuration is read: its size costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum HydraMode {
    /// Gatehouse runs Hydra on `hydra.public_port` and `hydra.admin_port`.
    Supervised,
    /// `hydra.admin_url` and `hydra.public_url`, both checked http(s) URLs,
    /// and `hydra.ca_file` for https ones behind a private CA.
    External {
        admin_url: Url,
        public_url: Url,
        ca_file: Option<CaFile>,
    },
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

/// Read from and printed as [`HydraFile`], where the mode and its URLs are
/// separate keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "HydraFile", into = "HydraFile")]
pub struct HydraConfig {
    pub mode: HydraMode,
    /// Hydra executable (supervised mode).
    pub binary: PathBuf,
    /// Hydra's public listener on 127.0.0.1 (supervised mode).
    pub public_port: u16,
    /// Hydra's admin listener on 127.0.0.1 (supervised mode).
    pub admin_port: u16,
    pub access_token_strategy: AccessTokenStrategy,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// How long a used refresh token still works, so that an app's retried
    /// or parallel refresh does not revoke the whole token chain (max 5m).
    pub refresh_token_rotation_grace_period: Duration,
    pub id_token_ttl: Duration,
    pub auth_code_ttl: Duration,
    /// How long a user may take to get through login and consent.
    pub login_consent_request_ttl: Duration,
    /// How long to wait for Hydra to report ready at start-up.
    pub ready_timeout: Duration,
    /// Hydra's own log level: trace, debug, info, warn, error.
    pub log_level: String,
    /// `[hydra.tuning]`: keys, hashing, SQLite and Go settings of the
    /// supervised Hydra.
    pub tuning: HydraTuning,
    /// The supervised Hydra's database on PostgreSQL (`postgres://...`);
    /// unset, its SQLite file in the data dir.
    pub dsn: Option<Secret>,
}

/// `[hydra]` as written in the file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HydraFile {
    mode: ModeName,
    binary: PathBuf,
    public_port: u16,
    admin_port: u16,
    /// Hydra's admin API (external mode).
    admin_url: Option<Url>,
    /// Hydra's public API (external mode).
    public_url: Option<Url>,
    /// CA certificates for https URLs of an external Hydra.
    ca_file: Option<PathBuf>,
    access_token_strategy: AccessTokenStrategy,
    #[serde(with = "humantime_serde")]
    access_token_ttl: Duration,
    #[serde(with = "humantime_serde")]
    refresh_token_ttl: Duration,
    #[serde(with = "humantime_serde")]
    refresh_token_rotation_grace_period: Duration,
    #[serde(with = "humantime_serde")]
    id_token_ttl: Duration,
    #[serde(with = "humantime_serde")]
    auth_code_ttl: Duration,
    #[serde(with = "humantime_serde")]
    login_consent_request_ttl: Duration,
    #[serde(with = "humantime_serde")]
    ready_timeout: Duration,
    log_level: String,
    tuning: HydraTuning,
    dsn: Option<Secret>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ModeName {
    Supervised,
    External,
}

/// `$target { $own.., and every key both forms share, from $source }`.
macro_rules! with_shared_keys {
    ($target:ident { $($own:tt)* } from $source:ident) => {
        $target {
            $($own)*
            binary: $source.binary,
            public_port: $source.public_port,
            admin_port: $source.admin_port,
            access_token_strategy: $source.access_token_strategy,
            access_token_ttl: $source.access_token_ttl,
            refresh_token_ttl: $source.refresh_token_ttl,
            refresh_token_rotation_grace_period: $source.refresh_token_rotation_grace_period,
            id_token_ttl: $source.id_token_ttl,
            auth_code_ttl: $source.auth_code_ttl,
            login_consent_request_ttl: $source.login_consent_request_ttl,
            ready_timeout: $source.ready_timeout,
            log_level: $source.log_level,
            tuning: $source.tuning,
            dsn: $source.dsn,
        }
    };
}

impl TryFrom<HydraFile> for HydraConfig {
    type Error = ConfigError;

    fn try_from(file: HydraFile) -> Result<Self, ConfigError> {
        let mode = match file.mode {
            ModeName::Supervised if file.ca_file.is_some() => {
                return Err(ConfigError::key(
                    "hydra.ca_file",
                    "is for an external Hydra's https URLs (hydra.mode = \"external\"); \
                     gatehouse talks to the Hydra it runs over loopback",
                ))
            }
            ModeName::Supervised => HydraMode::Supervised,
            ModeName::External => {
                let when = "hydra.mode = \"external\"";
                HydraMode::External {
                    admin_url: required_http_url("hydra.admin_url", file.admin_url, when)?,
                    public_url: required_http_url("hydra.public_url", file.public_url, when)?,
                    ca_file: CaFile::load_optional("hydra.ca_file", file.ca_file)?,
                }
            }
        };
        Ok(with_shared_keys!(HydraConfig { mode, } from file))
    }
}

impl From<HydraConfig> for HydraFile {
    fn from(config: HydraConfig) -> Self {
        let (mode, admin_url, public_url, ca_file) = match config.mode {
            HydraMode::Supervised => (ModeName::Supervised, None, None, None),
            HydraMode::External {
                admin_url,
                public_url,
                ca_file,
            } => (
                ModeName::External,
                Some(admin_url),
                Some(public_url),
                ca_file.map(|ca| ca.path().to_path_buf()),
            ),
        };
        with_shared_keys!(HydraFile { mode, admin_url, public_url, ca_file, } from config)
    }
}

impl Default for HydraConfig {
    fn default() -> Self {
        HydraConfig {
            mode: HydraMode::Supervised,
            binary: PathBuf::from("./bin/hydra"),
            public_port: 4444,
            admin_port: 4445,
            access_token_strategy: AccessTokenStrategy::Opaque,
            access_token_ttl: Duration::from_secs(3600),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            refresh_token_rotation_grace_period: Duration::from_secs(5),
            id_token_ttl: Duration::from_secs(3600),
            auth_code_ttl: Duration::from_secs(600),
            login_consent_request_ttl: Duration::from_secs(1800),
            ready_timeout: Duration::from_secs(60),
            log_level: "info".into(),
            tuning: HydraTuning::default(),
            dsn: None,
        }
    }
}

impl HydraConfig {
    /// The supervised Hydra's PostgreSQL URL as Hydra gets it (`hydra.dsn`,
    /// checked at load), or None for its SQLite file.
    pub fn postgres_dsn(&self) -> Option<String> {
        let dsn = self.dsn.as_ref()?;
        hydra_dsn::check(dsn).ok().map(|dsn| dsn.for_hydra)
    }

    /// [`Self::postgres_dsn`] without Hydra's own pool options, for
    /// gatehouse's own connection to that database (`doctor`).
    pub fn postgres_dsn_without_pool_options(&self) -> Option<String> {
        self.postgres_dsn()
            .map(|dsn| hydra_dsn::without_pool_options(&dsn))
    }

    /// `hydra.dsn` leaves this machine without checking the server's certificate.
    pub(super) fn dsn_unverified_off_this_machine(&self) -> bool {
        let checked = self.dsn.as_ref().map(hydra_dsn::check);
        matches!(checked, Some(Ok(dsn)) if dsn.unverified_off_this_machine)
    }

    /// The CA file for an external Hydra's https URLs, if one is set.
    pub fn ca_file(&self) -> Option<&CaFile> {
        match &self.mode {
            HydraMode::External { ca_file, .. } => ca_file.as_ref(),
            HydraMode::Supervised => None,
        }
    }
}

impl HydraConfig {
    /// `listen_port`: the port of `server.listen`, which Hydra's must not take.
    pub(super) fn validate(&self, listen_port: u16) -> Result<(), ConfigError> {
        if self.mode == HydraMode::Supervised {
            self.check_ports(listen_port)?;
        }
        if let Some(dsn) = &self.dsn {
            if self.mode != HydraMode::Supervised {
                return Err(ConfigError::key(
                    hydra_dsn::KEY,
                    "is for the Hydra gatehouse runs (hydra.mode = \"supervised\"); an external \
                     Hydra is configured where it runs",
                ));
            }
            hydra_dsn::check(dsn)?;
        }
        self.tuning.validate()?;
        for (key, ttl) in [
            ("hydra.access_token_ttl", self.access_token_ttl),
            ("hydra.refresh_token_ttl", self.refresh_token_ttl),
            ("hydra.id_token_ttl", self.id_token_ttl),
            ("hydra.auth_code_ttl", self.auth_code_ttl),
            (
                "hydra.login_consent_request_ttl",
                self.login_consent_request_ttl,
            ),
            ("hydra.ready_timeout", self.ready_timeout),
        ] {
            if ttl.as_secs() == 0 {
                return Err(ConfigError::key(key, "must be at least one second"));
            }
        }
        if self.refresh_token_rotation_grace_period > Duration::from_secs(300) {
            return Err(ConfigError::key(
                "hydra.refresh_token_rotation_grace_period",
                "must be at most 5m (Hydra's limit)",
            ));
        }
        if !matches!(
            self.log_level.as_str(),
            "trace" | "debug" | "info" | "warn" | "warning" | "error" | "fatal" | "panic"
        ) {
            return Err(ConfigError::key(
                "hydra.log_level",
                format!(
                    "`{}` is not one of trace, debug, info, warn, error",
                    self.log_level
                ),
            ));
        }
        Ok(())
    }

    fn check_ports(&self, listen_port: u16) -> Result<(), ConfigError> {
        if self.public_port == 0 {
            return Err(ConfigError::key("hydra.public_port", "must not be 0"));
        }
        if self.admin_port == 0 {
            return Err(ConfigError::key("hydra.admin_port", "must not be 0"));
        }
        if self.public_port == self.admin_port {
            return Err(ConfigError::key(
                "hydra.admin_port",
                "must differ from hydra.public_port",
            ));
        }
        for (key, port) in [
            ("hydra.public_port", self.public_port),
            ("hydra.admin_port", self.admin_port),
        ] {
            if port == listen_port {
                return Err(ConfigError::key(
                    key,
                    "must differ from the port of server.listen",
                ));
            }
        }
        Ok(())
    }

    /// Hydra's admin API base URL, whatever the mode.
    pub fn admin_api(&self) -> Url {
        match &self.mode {
            HydraMode::Supervised => loopback_url(self.admin_port),
            HydraMode::External { admin_url, .. } => admin_url.clone(),
        }
    }

    /// Hydra's public API base URL, whatever the mode.
    pub fn public_api(&self) -> Url {
        match &self.mode {
            HydraMode::Supervised => loopback_url(self.public_port),
            HydraMode::External { public_url, .. } => public_url.clone(),
        }
    }
}

fn loopback_url(port: u16) -> Url {
    Url::parse(&format!("http://127.0.0.1:{port}")).expect("loopback URL is valid")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::HydraMode;
    use crate::config::tests::{assert_names_key, from_toml};

    #[test]
    fn external_mode_requires_urls() {
        assert_names_key("[hydra]\nmode = \"external\"\n", "`hydra.admin_url`");
    }

    #[test]
    fn a_ca_file_is_for_an_external_hydra_only() {
        // The supervised Hydra is on loopback over plain http.
        assert_names_key("[hydra]\nca_file = \"/etc/ca.pem\"\n", "`hydra.ca_file`");
        assert_names_key(
            "[hydra]\nmode = \"external\"\nadmin_url = \"https://hydra:4445\"\n\
             public_url = \"https://hydra.example\"\nca_file = \"/nonexistent/ca.pem\"\n",
            "`hydra.ca_file`",
        );
    }

    #[test]
    fn external_mode_carries_its_urls() {
        let config = from_toml(
            "[hydra]\nmode = \"external\"\nadmin_url = \"http://hydra:4445\"\n\
             public_url = \"https://hydra.example\"\n",
        )
        .unwrap();
        assert!(matches!(config.hydra.mode, HydraMode::External { .. }));
        assert_eq!(config.hydra_admin_url().as_str(), "http://hydra:4445/");
        assert_eq!(config.hydra_public_url().as_str(), "https://hydra.example/");
        let printed = config.to_toml();
        assert!(
            printed.contains("admin_url = \"http://hydra:4445/\""),
            "{printed}"
        );
        assert_names_key(
            "[hydra]\nmode = \"external\"\nadmin_url = \"http://hydra:4445\"\n\
             public_url = \"ftp://hydra.example\"\n",
            "`hydra.public_url`",
        );
    }

    #[test]
    fn durations_are_human() {
        let config = from_toml("[hydra]\naccess_token_ttl = \"15m\"\n").unwrap();
        assert_eq!(config.hydra.access_token_ttl, Duration::from_secs(900));
        assert_names_key(
            "[hydra]\naccess_token_ttl = \"soon\"\n",
            "`hydra.access_token_ttl`",
        );
    }
}
