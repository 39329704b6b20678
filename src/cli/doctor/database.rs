//! Doctor's checks of the databases on PostgreSQL: gatehouse's own
//! (`[database] url`) and the supervised Hydra's (`hydra.dsn`). Each: the
//! connection, the server's version and the migration state, without
//! migrating anything.

use std::path::Path;
use std::time::Duration;

use super::{ok, problem, warning, Finding};
use crate::config::{Config, HydraMode};
use crate::hydra::migrations::migration_state;
use crate::store::{self, DatabaseLocation, PostgresStatus};

/// `hydra migrate sql status` connects, reads and prints ~200 migrations.
const HYDRA_STATUS_TIMEOUT: Duration = Duration::from_secs(20);

/// Checks `[database] url`; None when the database is the SQLite file
/// (checked as a file by `database_integrity`).
pub(super) async fn postgres(config: &Config) -> Option<Finding> {
    let location = store::database_location(config).ok()?;
    let DatabaseLocation::Postgres { .. } = &location else {
        return None;
    };
    let known = store::known_schema_version();
    let fix = "check the URL, the password (url_file), sslmode and that PostgreSQL accepts \
               this host (pg_hba.conf)";
    Some(match status("database.url", location, fix).await {
        Err(finding) => finding,
        Ok(status) => match status.schema_version {
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

/// Checks `hydra.dsn`: PostgreSQL answers, and which of Hydra's migrations
/// it holds (as `hydra.binary` says); None when the supervised Hydra keeps
/// its SQLite file (checked as a file) or Hydra is external.
pub(super) async fn hydra(config: &Config) -> Option<Finding> {
    if config.hydra.mode != HydraMode::Supervised {
        return None;
    }
    let dsn = config.hydra.postgres_dsn()?;
    let fix = "check hydra.dsn (or the file hydra.dsn_file names): host, port, user, password \
               and sslmode, and that PostgreSQL accepts this host (pg_hba.conf)";
    let plain = config
        .hydra
        .postgres_dsn_without_pool_options()
        .unwrap_or_default();
    let location = match DatabaseLocation::from_url(&plain) {
        Ok(location) => location,
        Err(e) => return Some(problem(format!("hydra.dsn: {e}"), fix)),
    };
    let server = match status("hydra.dsn", location, fix).await {
        Ok(status) => status.server_version,
        Err(finding) => return Some(finding),
    };
    Some(hydra_migrations(&config.hydra.binary, &dsn, &server).await)
}

async fn hydra_migrations(binary: &Path, dsn: &str, server: &str) -> Finding {
    match migration_state(binary, dsn, HYDRA_STATUS_TIMEOUT).await {
        Ok(state) if state.current() => ok(format!(
            "hydra.dsn: PostgreSQL {server} answers; Hydra's {} migrations are applied",
            state.known
        )),
        Ok(state) => warning(
            format!(
                "hydra.dsn: PostgreSQL {server} answers; {} of Hydra's {} migrations are applied",
                state.applied, state.known
            ),
            "gatehouse applies the rest when it next starts (hydra migrate sql up); if \
             another instance runs a newer Hydra, run the same hydra.binary everywhere",
        ),
        Err(e) => warning(
            format!("hydra.dsn: PostgreSQL {server} answers, but Hydra's migration state: {e}"),
            "check hydra.binary, and that `hydra migrate sql status -e` (DSN from \
             hydra.dsn) works as the service user",
        ),
    }
}

/// Connects to the PostgreSQL database at `location` and reads its
/// versions; a problem naming `key` when it cannot.
async fn status(
    key: &str,
    location: DatabaseLocation,
    fix: &str,
) -> Result<PostgresStatus, Finding> {
    let probed = tokio::task::spawn_blocking(move || store::postgres_status(&location)).await;
    match probed {
        Err(e) => Err(problem(format!("{key}: cannot check: {e}"), "try again")),
        Ok(Err(e)) => Err(problem(format!("{key}: {e}"), fix)),
        Ok(Ok(status)) => Ok(status),
    }
}
