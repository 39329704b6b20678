//! SQLite databases as files, for `backup`, `restore` and `doctor`: an
//! online copy of a live database, integrity checks, schema versions, and
//! the ownership of the `-wal`/`-shm` files a root process may leave.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OptionalExtension};

use super::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the copy of {path} failed SQLite's integrity check: {report}")]
    Integrity { path: PathBuf, report: String },
    #[error("{} stayed locked for {}s; try the backup again", path.display(), patience.as_secs())]
    Busy { path: PathBuf, patience: Duration },
}

fn sqlite_error(path: &Path) -> impl FnOnce(rusqlite::Error) -> FileError + '_ {
    move |source| FileError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

/// A finished, checked copy of a database (see [`copy_database`]).
pub struct DatabaseCopy {
    conn: Connection,
}

impl DatabaseCopy {
    /// Gatehouse's schema version in the copy (None: never migrated).
    pub fn schema_version(&self) -> Result<Option<i64>, StoreError> {
        applied_schema_version(&self.conn)
    }

    /// Hydra's newest applied migration (pop's `schema_migration` table).
    pub fn hydra_migration(&self) -> Option<String> {
        self.conn
            .query_row("SELECT MAX(version) FROM schema_migration", [], |row| {
                row.get::<_, Option<String>>(0)
            })
            .optional()
            .ok()
            .flatten()
            .flatten()
    }
}

/// One consistent copy of a live SQLite database at `source` into the new
/// file `dest` (mode 0600), as a self-contained file (rollback journal, no
/// -wal), checked with `PRAGMA integrity_check`. Waits at most `patience`
/// for a database that stays locked.
pub fn copy_database(
    source: &Path,
    dest: &Path,
    patience: Duration,
) -> Result<DatabaseCopy, FileError> {
    let from = open_read_only(source).map_err(sqlite_error(source))?;
    // Created empty with 0600 first: SQLite would create it with the umask.
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dest)
        .map_err(|source| FileError::Io {
            path: dest.to_path_buf(),
            source,
        })?;
    let mut to = Connection::open(dest).map_err(sqlite_error(dest))?;
    {
        let backup = Backup::new(&from, &mut to).map_err(sqlite_error(source))?;
        // All pages in one step: one read transaction, hence a consistent
        // snapshot; in WAL mode it does not block gatehouse's or Hydra's
        // writers, and their writes cannot restart it.
        let deadline = Instant::now() + patience;
        loop {
            match backup.step(-1).map_err(sqlite_error(source))? {
                StepResult::Done => break,
                _ if Instant::now() >= deadline => {
                    return Err(FileError::Busy {
                        path: source.to_path_buf(),
                        patience,
                    })
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
    let _: String = to
        .query_row("PRAGMA journal_mode = DELETE", [], |row| row.get(0))
        .map_err(sqlite_error(dest))?;
    drop(from);
    give_sidecars_to_owner(source);
    if let Some(report) = integrity_problems(&to).map_err(sqlite_error(dest))? {
        return Err(FileError::Integrity {
            path: source.to_path_buf(),
            report,
        });
    }
    Ok(DatabaseCopy { conn: to })
}

/// `PRAGMA integrity_check` on the file at `path`, opened read-only: None
/// when the file is sound, else SQLite's report.
pub fn integrity_report(path: &Path) -> Result<Option<String>, StoreError> {
    let result = open_read_only(path).and_then(|conn| integrity_problems(&conn));
    give_sidecars_to_owner(path);
    Ok(result?)
}

fn integrity_problems(conn: &Connection) -> Result<Option<String>, rusqlite::Error> {
    let mut statement = conn.prepare("PRAGMA integrity_check")?;
    let lines = statement
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(match lines.as_slice() {
        [only] if only == "ok" => None,
        _ => Some(lines.join("; ")),
    })
}

/// Opens any SQLite file read-only (it is never created or migrated).
fn open_read_only(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

/// Opening a WAL database (even read-only) may create its `-wal`/`-shm`
/// files; when root does that, the service user could no longer open its own
/// database. Hands them to the database file's owner. Best effort.
fn give_sidecars_to_owner(path: &Path) {
    use std::os::unix::fs::MetadataExt;
    if !rustix::process::geteuid().is_root() {
        return;
    }
    let Ok(db) = std::fs::metadata(path) else {
        return;
    };
    for suffix in ["-wal", "-shm"] {
        let mut sidecar = path.as_os_str().to_owned();
        sidecar.push(suffix);
        let sidecar = std::path::PathBuf::from(sidecar);
        if let Ok(meta) = std::fs::metadata(&sidecar) {
            if meta.uid() != db.uid() || meta.gid() != db.gid() {
                let _ = std::os::unix::fs::chown(&sidecar, Some(db.uid()), Some(db.gid()));
            }
        }
    }
}

/// The highest migration recorded in the database, if it was ever migrated.
pub(super) fn applied_schema_version(conn: &Connection) -> Result<Option<i64>, StoreError> {
    let has_history: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'refinery_schema_history'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    if has_history.is_none() {
        return Ok(None);
    }
    Ok(conn.query_row(
        "SELECT MAX(version) FROM refinery_schema_history",
        [],
        |row| row.get(0),
    )?)
}
