//! `[hydra.tuning]`: what gatehouse sets in the Hydra it runs to spend less
//! CPU per sign-in (gatehouse-bench `--hydra-defaults`). Each default keeps
//! the security it replaces; `HydraTuning::stock()` is Hydra's own
//! settings, for comparison.

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// The key gatehouse puts into Hydra's empty key sets at first start
/// (`hydra.openid.id-token`, and `hydra.jwt.access-token` for JWT access
/// tokens). A set that has keys keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigningKey {
    /// RS256 with a 2048-bit modulus (112-bit security; NIST SP 800-57
    /// approves it for new signatures through 2030).
    #[serde(rename = "rsa-2048")]
    Rsa2048,
    /// RS256 with a 3072-bit modulus (128-bit security, past 2030).
    #[serde(rename = "rsa-3072")]
    Rsa3072,
    /// RS256 with a 4096-bit modulus, as Hydra makes its own.
    #[serde(rename = "rsa-4096")]
    Rsa4096,
    /// ES256 (P-256, 128-bit security): the cheapest to sign, but not
    /// every client library accepts it; RS256 is OIDC's default.
    #[serde(rename = "es256")]
    Es256,
    /// Gatehouse creates none: Hydra makes an RSA-4096 key itself on
    /// first use.
    #[serde(rename = "hydra")]
    Hydra,
}

impl SigningKey {
    pub fn as_str(self) -> &'static str {
        match self {
            SigningKey::Rsa2048 => "rsa-2048",
            SigningKey::Rsa3072 => "rsa-3072",
            SigningKey::Rsa4096 => "rsa-4096",
            SigningKey::Es256 => "es256",
            SigningKey::Hydra => "hydra",
        }
    }
}

/// SQLite's `synchronous` for Hydra's database in WAL mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSynchronous {
    /// Syncs the WAL at checkpoints, not at every commit: a power cut may
    /// lose the last commits (never the database).
    Normal,
    /// Syncs at every commit (SQLite's default).
    Full,
}

impl SqliteSynchronous {
    pub fn as_str(self) -> &'static str {
        match self {
            SqliteSynchronous::Normal => "NORMAL",
            SqliteSynchronous::Full => "FULL",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HydraTuning {
    pub signing_key: SigningKey,
    /// Hydra's `oauth2.hashers.pbkdf2.iterations` for new client secrets.
    pub client_secret_pbkdf2_iterations: u32,
    pub sqlite_synchronous: SqliteSynchronous,
    /// `GOGC` for the Hydra process: how much its heap may grow between
    /// garbage collections, in percent of the live heap.
    pub go_gc_percent: u32,
}

impl Default for HydraTuning {
    fn default() -> Self {
        HydraTuning {
            signing_key: SigningKey::Rsa2048,
            client_secret_pbkdf2_iterations: 1_000,
            sqlite_synchronous: SqliteSynchronous::Normal,
            go_gc_percent: 200,
        }
    }
}

/// Below this, a weak secret set past gatehouse (at Hydra's admin API)
/// would fall to a guessing attack on a stolen database too fast.
const MIN_ITERATIONS: u32 = 1_000;

impl HydraTuning {
    /// Hydra's own settings.
    pub fn stock() -> HydraTuning {
        HydraTuning {
            signing_key: SigningKey::Hydra,
            client_secret_pbkdf2_iterations: 25_000,
            sqlite_synchronous: SqliteSynchronous::Full,
            go_gc_percent: 100,
        }
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.client_secret_pbkdf2_iterations < MIN_ITERATIONS {
            return Err(ConfigError::key(
                "hydra.tuning.client_secret_pbkdf2_iterations",
                format!("must be at least {MIN_ITERATIONS}"),
            ));
        }
        if !(25..=1_000).contains(&self.go_gc_percent) {
            return Err(ConfigError::key(
                "hydra.tuning.go_gc_percent",
                "must be between 25 and 1000 (Go's default is 100)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{assert_names_key, from_toml};

    #[test]
    fn tuning_is_read_and_checked_naming_the_key() {
        let config =
            from_toml("[hydra.tuning]\nsigning_key = \"es256\"\nsqlite_synchronous = \"full\"\n")
                .unwrap();
        let tuning = config.hydra.tuning;
        assert_eq!(tuning.signing_key, SigningKey::Es256);
        assert_eq!(tuning.sqlite_synchronous, SqliteSynchronous::Full);
        assert_eq!(tuning.client_secret_pbkdf2_iterations, 1_000);
        for (toml, key) in [
            (
                "client_secret_pbkdf2_iterations = 10",
                "`hydra.tuning.client_secret_pbkdf2_iterations`",
            ),
            ("go_gc_percent = 0", "`hydra.tuning.go_gc_percent`"),
            ("signing_key = \"rsa-1024\"", "signing_key"),
        ] {
            assert_names_key(&format!("[hydra.tuning]\n{toml}\n"), key);
        }
    }
}
