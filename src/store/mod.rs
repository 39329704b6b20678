//! The SQLite store: one connection on a thread of its own, migrated at open.
//!
//! rusqlite is blocking, so every call goes through [`Store::run`], which
//! hands the work to the store's thread and awaits the answer. One
//! connection, because SQLite lets one connection write at a time anyway:
//! connections that collide wait in its busy handler, which sleeps 1, 2,
//! 5 ... 100 ms between tries, and a pool of eight made the p99 of a
//! sign-in step tens of milliseconds at load (gatehouse-bench). On one
//! thread the calls queue in order and run back to back, without a thread
//! hand-over between them.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Instant;

use rusqlite::Connection;
use tokio::sync::oneshot;

pub mod audit;
pub mod codes;
pub mod credentials;
pub mod event_outbox;
pub mod file;
pub mod foreign_sqlite;
pub mod health;
mod lease;
pub mod outbox;
pub mod passkeys;
pub mod proofs;
pub mod receipts;
pub mod sessions;
pub mod users;

use file::applied_schema_version;

mod embedded {
    refinery::embed_migrations!("migrations");
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error(
        "the database was migrated by a newer gatehouse (schema version {found}, this binary \
         knows up to {known}); run that newer version, or restore a backup made for this one"
    )]
    TooNew { found: i64, known: i64 },
    #[error("{0}")]
    Conflict(String),
    #[error("database task failed: {0}")]
    Task(String),
    /// Another process holds the database's lock (a copy tool, a `sqlite3`
    /// shell): waited `health::BUSY_TIMEOUT`, or queued as long behind
    /// calls that did.
    #[error("the database is busy: locked by another process, or calls queued behind such a wait")]
    Busy,
    /// A write failed for lack of disk space, or the disk failed.
    #[error("the database cannot be written (disk full or failing): {0}")]
    Full(String),
}

/// The database as the store's thread lends it to one piece of work. Its
/// connection is private to `store/`: the layers above call the operations
/// the store's modules name (`otp::consume`, `users::find_by_phone`, ...)
/// and never see SQL or rusqlite.
pub struct Db {
    conn: Connection,
}

type Job = Box<dyn FnOnce(&mut Db) + Send>;

#[derive(Clone)]
pub struct Store {
    worker: Arc<Worker>,
    health: health::Health,
}

/// The store's thread; it ends, closing the connection, with the last Store.
struct Worker {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing the queue ends the thread; waiting for it means the
        // connection is closed (and the WAL checkpointed) when this returns.
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path` and applies migrations.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut conn = Connection::open(path)?;
        configure_connection(&mut conn)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        migrate(&mut conn)?;

        let mut db = Db { conn };
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("gatehouse-db".into())
            .spawn(move || {
                for job in queue {
                    // A panicking job drops its answer channel (the caller
                    // gets an error); the thread and connection go on.
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut db)));
                }
            })
            .map_err(|e| StoreError::Task(format!("cannot start the database thread: {e}")))?;
        Ok(Store {
            worker: Arc::new(Worker {
                jobs: Some(jobs),
                thread: Some(thread),
            }),
            health: health::Health::default(),
        })
    }

    /// Runs blocking database work on the store's thread, off the async executor.
    pub async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Db) -> Result<T, StoreError> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let queued = Instant::now();
        let health = self.health.clone();
        let job: Job = Box::new(move |db| {
            // Behind calls stuck on another process's lock: answer at once
            // rather than add one more wait to theirs.
            if queued.elapsed() > health::MAX_QUEUE_WAIT {
                let _ = answer.send(Err(StoreError::Busy));
                return;
            }
            let changes = db.conn.total_changes();
            let result = work(db).map_err(StoreError::classified);
            health.record(&result, db.conn.total_changes() > changes);
            let _ = answer.send(result);
        });
        let sent = self.worker.jobs.as_ref().map(|jobs| jobs.send(job));
        if !matches!(sent, Some(Ok(()))) {
            return Err(StoreError::Task("the database thread has stopped".into()));
        }
        answered
            .await
            .map_err(|_| StoreError::Task("the database work panicked".into()))?
    }

    /// Is `other` a handle on this same store (the same thread and connection)?
    pub fn same_as(&self, other: &Store) -> bool {
        Arc::ptr_eq(&self.worker, &other.worker)
    }

    /// Can the database take writes? For `/readyz`: answers within
    /// `limit` (busy when the store's queue is stuck), says so while a
    /// failed write has not been followed by a good one, and takes the
    /// write lock for a moment to see that no other process holds it.
    pub async fn ready(&self, limit: std::time::Duration, now: i64) -> Result<(), StoreError> {
        let writes_failing = self.health.writes_failing();
        let probe = self.run(move |db| health::probe(db, writes_failing, now));
        let probed = tokio::time::timeout(limit, probe)
            .await
            .unwrap_or(Err(StoreError::Busy));
        if self.health.writes_failing() {
            return Err(StoreError::Full("a recent write failed".into()));
        }
        probed
    }
}

fn configure_connection(conn: &mut Connection) -> Result<(), rusqlite::Error> {
    conn.busy_timeout(health::BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// Applies pending migrations; refuses a database migrated by a newer binary
/// without touching it.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let runner = embedded::migrations::runner();
    let known = known_schema_version();
    if let Some(found) = applied_schema_version(conn)? {
        if found > known {
            return Err(StoreError::TooNew { found, known });
        }
    }
    runner
        .set_abort_divergent(true)
        .set_abort_missing(true)
        .run(conn)
        .map(|_| ())
        .map_err(|e| StoreError::Migration(e.to_string()))
}

/// The newest schema version this binary's migrations know.
pub fn known_schema_version() -> i64 {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_from_a_newer_binary_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.sqlite");
        drop(Store::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.execute(
            "INSERT INTO refinery_schema_history (version, name, applied_on, checksum)
             VALUES (999, 'future', '2030-01-01T00:00:00Z', '1')",
            [],
        )
        .unwrap();
        drop(conn);
        let before = std::fs::read(&path).unwrap();
        let err = Store::open(&path).err().expect("refused").to_string();
        assert!(err.contains("newer gatehouse"), "{err}");
        assert!(err.contains("999"), "{err}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "the file was altered"
        );
    }
}
