//! `[database]`: where gatehouse keeps its own state. SQLite in the data
//! dir by default (the appliance: one gatehouse per data dir), or a
//! PostgreSQL database shared by several gatehouse instances.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::directory_sql::split_tls;
use super::{ConfigError, PostgresTls, Secret};

const URL_KEY: &str = "database.url";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite:///path/to/file` or `postgres://user:password@host/db`
    /// (with `sslmode` and `sslrootcert` as libpq spells them). Unset:
    /// `data_dir/gatehouse.sqlite`.
    pub url: Option<Secret>,
    /// PostgreSQL: connections each gatehouse instance keeps open.
    pub pool_size: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: None,
            pool_size: 8,
        }
    }
}

/// Where the database is, as the store opens it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseLocation {
    Sqlite(PathBuf),
    /// The URL without `sslmode` and `sslrootcert` (they are in `tls`).
    Postgres {
        url: Secret,
        tls: PostgresTls,
    },
}

impl DatabaseLocation {
    pub fn is_postgres(&self) -> bool {
        matches!(self, DatabaseLocation::Postgres { .. })
    }

    /// A database URL given on the command line, as `database.url` takes
    /// it: its location, or what is wrong with it (never the URL itself).
    pub fn from_url(url: &str) -> Result<DatabaseLocation, String> {
        let config = DatabaseConfig {
            url: Some(Secret::new(url)),
            pool_size: 1,
        };
        config
            .location(PathBuf::new())
            .map_err(|e| e.problem().to_string())
    }
}

impl DatabaseConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=256).contains(&self.pool_size) {
            return Err(ConfigError::key(
                "database.pool_size",
                "must be between 1 and 256",
            ));
        }
        self.location(PathBuf::new()).map(|_| ())
    }

    /// The database `url` names, or `default` (the data dir's SQLite file).
    pub fn location(&self, default: PathBuf) -> Result<DatabaseLocation, ConfigError> {
        let Some(url) = &self.url else {
            return Ok(DatabaseLocation::Sqlite(default));
        };
        let written = url.expose();
        if let Some(path) = written.strip_prefix("sqlite://") {
            if path.is_empty() || path.contains('?') {
                return Err(ConfigError::key(
                    URL_KEY,
                    "sqlite:// needs a file path and nothing else, e.g. \
                     sqlite:///var/lib/gatehouse/gatehouse.sqlite",
                ));
            }
            return Ok(DatabaseLocation::Sqlite(PathBuf::from(path)));
        }
        if ["postgres://", "postgresql://"]
            .iter()
            .any(|scheme| written.starts_with(scheme))
        {
            let (rest, tls) = split_tls(URL_KEY, written)?;
            return Ok(DatabaseLocation::Postgres {
                url: Secret::new(rest),
                tls,
            });
        }
        Err(ConfigError::key(
            URL_KEY,
            "must start with sqlite:// or postgres:// (e.g. postgres://gatehouse@db/gatehouse)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::assert_names_key;

    fn with_url(url: &str) -> DatabaseConfig {
        DatabaseConfig {
            url: Some(Secret::new(url)),
            ..DatabaseConfig::default()
        }
    }

    #[test]
    fn the_default_is_the_data_dirs_sqlite_file() {
        assert_eq!(
            DatabaseConfig::default()
                .location(PathBuf::from("/d/gatehouse.sqlite"))
                .unwrap(),
            DatabaseLocation::Sqlite(PathBuf::from("/d/gatehouse.sqlite"))
        );
        assert_eq!(
            with_url("sqlite:///var/g.db")
                .location(PathBuf::new())
                .unwrap(),
            DatabaseLocation::Sqlite(PathBuf::from("/var/g.db"))
        );
    }

    #[test]
    fn a_postgres_url_keeps_its_tls_apart() {
        let location =
            with_url("postgres://u:pw@db.example/g?sslmode=verify-full&connect_timeout=3")
                .location(PathBuf::new())
                .unwrap();
        let DatabaseLocation::Postgres { url, tls } = location else {
            panic!("postgres expected");
        };
        assert_eq!(
            url.expose(),
            "postgres://u:pw@db.example/g?connect_timeout=3"
        );
        assert_eq!(tls.mode, Some(crate::config::PgSslMode::VerifyFull));
    }

    #[test]
    fn bad_urls_name_the_key() {
        for url in [
            "mysql://db/g",
            "sqlite://",
            "postgres://db/g?sslmode=prefer",
        ] {
            assert_names_key(&format!("[database]\nurl = \"{url}\"\n"), "`database.url`");
        }
        assert_names_key("[database]\npool_size = 0\n", "`database.pool_size`");
    }
}
