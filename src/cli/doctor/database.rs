//! Doctor's check of gatehouse's own database when it is PostgreSQL: the
//! connection, the server's version and the migration state, without
//! migrating anything.

use super::{ok, problem, warning, Finding};
use crate::config::Config;
use crate::store::{self, DatabaseLocation};

/// Checks `[database] url`; None when the database is the SQLite file
/// (checked as a file by `database_integrity`).
pub(super) async fn postgres(config: &Config) -> Option<Finding> {
    let location = store::database_location(config).ok()?;
    let DatabaseLocation::Postgres { .. } = &location else {
        return None;
    };
    let probed = tokio::task::spawn_blocking(move || store::postgres_status(&location)).await;
    let known = store::known_schema_version();
    Some(match probed {
        Err(e) => problem(format!("database.url: cannot check: {e}"), "try again"),
        Ok(Err(e)) => problem(
            format!("database.url: {e}"),
            "check the URL, the password (url_file), sslmode and that PostgreSQL accepts \
             this host (pg_hba.conf)",
        ),
        Ok(Ok(status)) => match status.schema_version {
            Some(found) if found > known => problem(
                format!(
                    "database.url: PostgreSQL {} holds schema version {found}, newer than this \
                     gatehouse knows ({known})",
                    status.server_version
                ),
                "run the newer gatehouse on every instance",
            ),
            Some(found) if found == known => ok(format!(
                "database.url: PostgreSQL {} answers; schema version {found} is current",
                status.server_version
            )),
            found => warning(
                format!(
                    "database.url: PostgreSQL {} answers; schema version {} of {known}",
                    status.server_version,
                    found.map_or("none".to_string(), |v| v.to_string())
                ),
                "gatehouse migrate (or the next start) applies the rest",
            ),
        },
    })
}
