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
    if !rustix::process::geteuid().is_root() {
        return;
    }
    for (sidecar, uid, gid) in sidecars_to_hand_over(path) {
        // lchown: never through a link, even one that appeared meanwhile.
        let _ = std::os::unix::fs::lchown(&sidecar, Some(uid), Some(gid));
    }
}

/// The `-wal`/`-shm` files of the database at `path` that another user
/// owns, with the owner they should have. A symlink (the database's or a
/// sidecar's) is never followed: root must not be tricked into handing a
/// file outside the data dir to the service user.
fn sidecars_to_hand_over(path: &Path) -> Vec<(PathBuf, u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    let Ok(db) = std::fs::symlink_metadata(path) else {
        return Vec::new();
    };
    if !db.file_type().is_file() {
        return Vec::new();
    }
    ["-wal", "-shm"]
        .into_iter()
        .filter_map(|suffix| {
            let mut sidecar = path.as_os_str().to_owned();
            sidecar.push(suffix);
            let sidecar = PathBuf::from(sidecar);
            let meta = std::fs::symlink_metadata(&sidecar).ok()?;
            let foreign = meta.uid() != db.uid() || meta.gid() != db.gid();
            (meta.file_type().is_file() && foreign).then(|| (sidecar, db.uid(), db.gid()))
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlinked_sidecar_is_never_handed_over() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("gatehouse.sqlite");
        std::fs::write(&db, b"").unwrap();
        // Files whose owner differs from the database's: a real sidecar,
        // and a symlink to a file outside the data dir.
        let outside = tempfile::NamedTempFile::new().unwrap();
        let wal = dir.path().join("gatehouse.sqlite-wal");
        let shm = dir.path().join("gatehouse.sqlite-shm");
        std::os::unix::fs::symlink(outside.path(), &wal).unwrap();
        std::fs::write(&shm, b"").unwrap();
        let me = std::fs::metadata(&db).unwrap();
        // Pretend the database belongs to someone else by comparing against
        // a database that is itself a link: nothing at all is handed over.
        let linked_db = dir.path().join("linked.sqlite");
        std::os::unix::fs::symlink(&db, &linked_db).unwrap();
        assert!(
            sidecars_to_hand_over(&linked_db).is_empty(),
            "the database is a link"
        );

        // Same owner everywhere: nothing to do, and the link is skipped
        // whatever its target's owner.
        assert!(sidecars_to_hand_over(&db).is_empty());
        if rustix::process::geteuid().is_root() {
            // As root, make both sidecar targets foreign: only the real file qualifies.
            std::os::unix::fs::lchown(&shm, Some(me.uid() + 1), None).unwrap();
            std::os::unix::fs::chown(outside.path(), Some(me.uid() + 1), None).unwrap();
            let found = sidecars_to_hand_over(&db);
            assert_eq!(found, vec![(shm.clone(), me.uid(), me.gid())]);
            give_sidecars_to_owner(&db);
            assert_eq!(std::fs::metadata(&shm).unwrap().uid(), me.uid());
            assert_eq!(
                std::fs::metadata(outside.path()).unwrap().uid(),
                me.uid() + 1,
                "the file behind the link kept its owner"
            );
        }
    }
}
