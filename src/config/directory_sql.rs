//! `[directory.sql]`: the database a `kind = "sql"` directory reads, and
//! how a PostgreSQL connection is encrypted (`sslmode`, `sslrootcert` in
//! the URL, as libpq spells them).

use std::path::PathBuf;
use std::time::Duration;

use percent_encoding::percent_decode_str;
use serde::{Deserialize, Serialize};

use super::{CaFile, ConfigError, Secret};

/// `kind = "sql"`: the database and queries `[directory.sql]` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlDatabase {
    /// `postgres://user:password@host/db` (without `sslmode` and
    /// `sslrootcert`, which are in `tls`) or `sqlite:///path/to/file.db`.
    pub url: Secret,
    /// For PostgreSQL: how the connection is encrypted.
    pub tls: PostgresTls,
    /// A query returning at most one row for the E.164 phone in `$1`.
    pub by_phone: String,
    /// A query returning at most one row for the subject id in `$1`.
    pub by_id: String,
}

/// `sslmode`, as libpq names its values. `prefer` and `allow` are refused:
/// they fall back to plain text without a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgSslMode {
    /// No TLS.
    Disable,
    /// TLS, the certificate unchecked (checked as `verify-ca` when
    /// `sslrootcert` is given, as libpq does).
    Require,
    /// TLS, the certificate signed by a trusted CA, whatever host it names.
    VerifyCa,
    /// TLS, the certificate signed by a trusted CA and valid for the host.
    VerifyFull,
}

/// How a PostgreSQL connection is encrypted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PostgresTls {
    /// `sslmode` as written. Unset: `verify-full`, except when every host
    /// is this machine (loopback or a unix socket): then no TLS.
    pub mode: Option<PgSslMode>,
    /// `sslrootcert=PATH`: the CAs trusted instead of the system's
    /// (`sslrootcert=system` or none: the system's).
    pub root_cert: Option<CaFile>,
}

/// `[directory.sql]` as written in the file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SqlFile {
    pub(super) url: Option<Secret>,
    pub(super) by_phone: Option<String>,
    pub(super) by_id: Option<String>,
    pub(super) pool_size: u32,
    #[serde(with = "humantime_serde")]
    pub(super) timeout: Duration,
}

const URL_KEY: &str = "directory.sql.url";

pub(super) fn sql_database(sql: &SqlFile) -> Result<SqlDatabase, ConfigError> {
    let required = |key: &str| ConfigError::key(key, "required when directory.kind = \"sql\"");
    let url = sql.url.as_ref().ok_or_else(|| required(URL_KEY))?;
    let (url, tls) = if url.expose().starts_with("sqlite://") {
        (url.clone(), PostgresTls::default())
    } else if ["postgres://", "postgresql://"]
        .iter()
        .any(|scheme| url.expose().starts_with(scheme))
    {
        let (rest, tls) = split_tls(URL_KEY, url.expose())?;
        (Secret::new(rest), tls)
    } else {
        return Err(ConfigError::key(
            URL_KEY,
            "must start with postgres:// or sqlite:// (e.g. sqlite:///var/lib/app/users.db)",
        ));
    };
    let query = |key: &str, query: &Option<String>| match query {
        Some(query) if query.contains("$1") => Ok(query.clone()),
        Some(_) => Err(ConfigError::key(
            key,
            "must use $1 where the looked-up value goes",
        )),
        None => Err(required(key)),
    };
    Ok(SqlDatabase {
        url,
        tls,
        by_phone: query("directory.sql.by_phone", &sql.by_phone)?,
        by_id: query("directory.sql.by_id", &sql.by_id)?,
    })
}

/// Takes `sslmode` and `sslrootcert` out of a PostgreSQL URL's query (the
/// driver knows neither `verify-ca`, `verify-full` nor `sslrootcert`),
/// returning the rest of the URL as written. Messages never repeat the URL:
/// it may hold a password.
pub(super) fn split_tls(key: &str, url: &str) -> Result<(String, PostgresTls), ConfigError> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut kept = Vec::new();
    let mut tls = PostgresTls::default();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode_str(value).decode_utf8_lossy();
        match percent_decode_str(name).decode_utf8_lossy().as_ref() {
            "sslmode" => tls.mode = Some(ssl_mode(key, &value)?),
            "sslrootcert" if value == "system" => tls.root_cert = None,
            "sslrootcert" => {
                let path = PathBuf::from(value.as_ref());
                let ca = CaFile::load(key, path)
                    .map_err(|e| ConfigError::key(key, format!("sslrootcert: {}", e.problem())))?;
                tls.root_cert = Some(ca);
            }
            _ => kept.push(pair),
        }
    }
    let rest = match kept.is_empty() {
        true => base.to_string(),
        false => format!("{base}?{}", kept.join("&")),
    };
    Ok((rest, tls))
}

fn ssl_mode(key: &str, value: &str) -> Result<PgSslMode, ConfigError> {
    match value {
        "disable" => Ok(PgSslMode::Disable),
        "require" => Ok(PgSslMode::Require),
        "verify-ca" => Ok(PgSslMode::VerifyCa),
        "verify-full" => Ok(PgSslMode::VerifyFull),
        "prefer" | "allow" => Err(ConfigError::key(
            key,
            format!(
                "sslmode={value} falls back to an unencrypted connection without a word; \
                 use verify-full (with sslrootcert=PATH for a private CA), or disable"
            ),
        )),
        other => Err(ConfigError::key(
            key,
            format!("sslmode={other} is not one of disable, require, verify-ca, verify-full"),
        )),
    }
}

/// Every host a connection may go to is this machine: a unix socket,
/// `localhost`, 127.0.0.0/8 or ::1 (names and addresses alike).
pub fn stays_on_this_machine(config: &tokio_postgres::Config) -> bool {
    use tokio_postgres::config::Host;
    let local_name = |name: &str| {
        let bare = name.trim_start_matches('[').trim_end_matches(']');
        name.eq_ignore_ascii_case("localhost")
            || bare
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    };
    let hosts_local = config.get_hosts().iter().all(|host| match host {
        Host::Unix(_) => true,
        Host::Tcp(name) => local_name(name),
    });
    hosts_local && config.get_hostaddrs().iter().all(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{assert_names_key, error_for};

    #[test]
    fn sslmode_and_sslrootcert_are_taken_out_of_the_url() {
        let url = "postgres://u:p%40ss@db.internal:5432/app?application_name=x&sslmode=verify-ca";
        let (rest, tls) = split_tls(URL_KEY, url).unwrap();
        assert_eq!(
            rest,
            "postgres://u:p%40ss@db.internal:5432/app?application_name=x"
        );
        assert_eq!(tls.mode, Some(PgSslMode::VerifyCa));
        assert!(tls.root_cert.is_none());

        let (rest, tls) = split_tls(URL_KEY, "postgres://db/app").unwrap();
        assert_eq!(
            (rest.as_str(), tls),
            ("postgres://db/app", PostgresTls::default())
        );

        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let ca = rcgen::CertificateParams::new(vec!["ca.test".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let path = dir.path().join("root ca.pem");
        std::fs::write(&path, ca.pem()).unwrap();
        let encoded = path.display().to_string().replace(' ', "%20");
        let url = format!("postgres://db/app?sslrootcert={encoded}&sslmode=verify-full");
        let (rest, tls) = split_tls(URL_KEY, &url).unwrap();
        assert_eq!(rest, "postgres://db/app");
        assert_eq!(tls.mode, Some(PgSslMode::VerifyFull));
        assert_eq!(tls.root_cert.unwrap().path(), path);
        let (_, tls) = split_tls(URL_KEY, "postgres://db/app?sslrootcert=system").unwrap();
        assert!(tls.root_cert.is_none());
    }

    #[test]
    fn bad_tls_settings_are_refused_without_showing_the_url() {
        let sql = |url: &str| {
            format!(
                "[users]\nsignup = \"closed\"\n[directory]\nkind = \"sql\"\n[directory.sql]\n\
                 url = \"{url}\"\nby_phone = \"SELECT $1\"\nby_id = \"SELECT $1\"\n"
            )
        };
        for (query, problem) in [
            ("sslmode=prefer", "falls back"),
            ("sslmode=allow", "falls back"),
            ("sslmode=verify_full", "is not one of"),
            (
                "sslrootcert=/nonexistent/ca.pem",
                "sslrootcert: cannot read",
            ),
        ] {
            let toml = sql(&format!("postgres://u:pw-SECRET@db/app?{query}"));
            assert_names_key(&toml, "`directory.sql.url`");
            let err = error_for(&toml);
            assert!(err.contains(problem), "{query}: {err}");
            assert!(!err.contains("pw-SECRET"), "{err}");
        }
    }
}
