//! `hydra.dsn`: the supervised Hydra's database on PostgreSQL instead of
//! its SQLite file in the data dir (several gatehouse instances, each with
//! its Hydra, on one database: Ory's way to scale Hydra out).
//!
//! The URL goes to Hydra (Go's pgx), which reads `sslmode` and
//! `sslrootcert` as libpq does but falls back to an unencrypted connection
//! without a word when `sslmode` is unset (`prefer`). So: unset is fine
//! only for this machine (then `sslmode=disable` is written for Hydra),
//! `prefer` and `allow` are refused, and a connection that leaves this
//! machine without checking the server's certificate is refused by the
//! production rules.

use std::str::FromStr;

use super::directory_sql::{split_tls, stays_on_this_machine};
use super::{ConfigError, PgSslMode, Secret};

pub(super) const KEY: &str = "hydra.dsn";

/// Hydra's own connection pool settings (Ory's DSN options: its default
/// pool is two connections per CPU, which stalls under load), passed to
/// Hydra as written; tokio-postgres does not know them, so gatehouse's own
/// checks and connections (`doctor`) leave them out.
const HYDRA_POOL_OPTIONS: [&str; 4] = [
    "max_conns",
    "max_idle_conns",
    "max_conn_lifetime",
    "max_conn_idle_time",
];

/// `url` without Hydra's pool options, for tokio-postgres.
pub(super) fn without_pool_options(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let name = pair.split_once('=').map_or(*pair, |(name, _)| name);
            !pair.is_empty() && !HYDRA_POOL_OPTIONS.contains(&name)
        })
        .collect();
    match kept.is_empty() {
        true => base.to_string(),
        false => format!("{base}?{}", kept.join("&")),
    }
}

/// What `hydra.dsn` says, once checked.
pub(super) struct HydraDsn {
    /// The URL as Hydra gets it.
    pub(super) for_hydra: String,
    /// The connection leaves this machine and does not check the server's
    /// certificate (`disable`, or `require` without `sslrootcert`).
    pub(super) unverified_off_this_machine: bool,
}

/// Checks `dsn`; errors name `hydra.dsn` and never show the URL (it may
/// hold a password).
pub(super) fn check(dsn: &Secret) -> Result<HydraDsn, ConfigError> {
    let written = dsn.expose();
    if !["postgres://", "postgresql://"]
        .iter()
        .any(|scheme| written.starts_with(scheme))
    {
        return Err(ConfigError::key(
            KEY,
            "must be a postgres:// URL (e.g. postgres://hydra@db.example/hydra?sslmode=verify-full); \
             unset, the supervised Hydra keeps its SQLite file in the data dir",
        ));
    }
    let (rest, tls) = split_tls(KEY, written)?;
    let parsed = tokio_postgres::Config::from_str(&without_pool_options(&rest))
        .map_err(|_| ConfigError::key(KEY, "is not a PostgreSQL URL Hydra can read"))?;
    if parsed.get_dbname().is_none_or(str::is_empty) {
        return Err(ConfigError::key(
            KEY,
            "must name Hydra's database (postgres://user@host/DATABASE)",
        ));
    }
    let local = stays_on_this_machine(&parsed);
    let for_hydra = match (tls.mode, local) {
        (None, true) => with_param(written, "sslmode=disable"),
        (None, false) => {
            return Err(ConfigError::key(
                KEY,
                "needs sslmode for a server on another machine: sslmode=verify-full (with \
                 sslrootcert=PATH for a private CA); unset, Hydra would fall back to an \
                 unencrypted connection without a word",
            ))
        }
        (Some(_), _) => written.to_string(),
    };
    let unchecked = match tls.mode {
        Some(PgSslMode::Disable) => true,
        Some(PgSslMode::Require) => tls.root_cert.is_none(),
        _ => false,
    };
    Ok(HydraDsn {
        for_hydra,
        unverified_off_this_machine: unchecked && !local,
    })
}

fn with_param(url: &str, param: &str) -> String {
    match url.contains('?') {
        true => format!("{url}&{param}"),
        false => format!("{url}?{param}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{assert_names_key, from_toml};

    fn checked(dsn: &str) -> Result<HydraDsn, ConfigError> {
        check(&Secret::new(dsn))
    }

    #[test]
    fn a_local_server_without_sslmode_gets_disable_written_for_hydra() {
        let dsn = checked("postgres://hydra:pw@127.0.0.1:5432/hydra").unwrap();
        assert_eq!(
            dsn.for_hydra,
            "postgres://hydra:pw@127.0.0.1:5432/hydra?sslmode=disable"
        );
        assert!(!dsn.unverified_off_this_machine);
        let socket = checked("postgres://hydra@/hydra?host=/run/postgresql").unwrap();
        assert_eq!(
            socket.for_hydra,
            "postgres://hydra@/hydra?host=/run/postgresql&sslmode=disable"
        );
        let remote = checked("postgres://h@db.example/hydra?sslmode=verify-full").unwrap();
        assert_eq!(
            remote.for_hydra,
            "postgres://h@db.example/hydra?sslmode=verify-full"
        );
        assert!(!remote.unverified_off_this_machine);
        assert!(
            checked("postgres://h@db.example/hydra?sslmode=disable")
                .unwrap()
                .unverified_off_this_machine
        );
    }

    #[test]
    fn hydras_pool_options_go_to_hydra_and_not_to_gatehouses_checks() {
        let dsn = checked("postgres://h:pw@127.0.0.1/hydra?max_conns=32&max_idle_conns=8").unwrap();
        assert_eq!(
            dsn.for_hydra,
            "postgres://h:pw@127.0.0.1/hydra?max_conns=32&max_idle_conns=8&sslmode=disable"
        );
        assert_eq!(
            without_pool_options(&dsn.for_hydra),
            "postgres://h:pw@127.0.0.1/hydra?sslmode=disable"
        );
        // Another unknown option is still refused.
        assert!(checked("postgres://h@127.0.0.1/hydra?max_connz=3").is_err());
    }

    #[test]
    fn unsafe_and_invalid_dsns_name_the_key_and_hide_the_password() {
        for dsn in [
            "sqlite:///var/lib/hydra.sqlite",
            "mysql://h:secretpw@db/hydra",
            "memory",
            "postgres://h:secretpw@127.0.0.1",
            "postgres://h:secretpw@db.example/hydra",
            "postgres://h:secretpw@db.example/hydra?sslmode=prefer",
            "postgres://h:secretpw@db.example:notaport/hydra?sslmode=verify-full",
        ] {
            let error = checked(dsn).err().expect(dsn).to_string();
            assert!(error.contains("hydra.dsn"), "{dsn}: {error}");
            assert!(!error.contains("secretpw"), "{dsn}: {error}");
        }
        assert_names_key(
            "[hydra]\ndsn = \"postgres://h@db.example/hydra\"\n",
            "`hydra.dsn`",
        );
        // An external Hydra has a database of its own.
        assert_names_key(
            "[hydra]\nmode = \"external\"\nadmin_url = \"http://127.0.0.1:4445/\"\n\
             public_url = \"http://127.0.0.1:4444/\"\ndsn = \"postgres://h@127.0.0.1/hydra\"\n",
            "`hydra.dsn`",
        );
        // Unchecked TLS to another machine: development only.
        let plain = "[hydra]\ndsn = \"postgres://h@db.example/hydra?sslmode=disable\"\n";
        assert_names_key(plain, "`hydra.dsn`");
        from_toml(&format!("unsafe_development_mode = true\n{plain}"))
            .expect("allowed in development");
    }
}
