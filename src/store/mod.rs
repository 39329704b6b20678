//! Gatehouse's own database, migrated at open: SQLite (one connection on a
//! thread of its own) or PostgreSQL (`[database] url`: a pool of threads,
//! each with its connection). The modules speak `sql.rs`'s neutral layer.
//!
//! The work is blocking, so every call goes through [`Store::run`], which
//! hands it to a store thread and awaits the answer. On SQLite, one
//! connection, because SQLite lets one connection write at a time anyway:
//! connections that collide wait in its busy handler, which sleeps 1, 2,
//! 5 ... 100 ms between tries, and a pool of eight made the p99 of a
//! sign-in step tens of milliseconds at load (gatehouse-bench). On one
//! thread the calls queue in order and run back to back, without a thread
//! hand-over between them.

use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use rusqlite::Connection;
use tokio::sync::oneshot;

pub mod audit;
mod checkpoint;
pub mod codes;
pub mod copy;
pub mod credentials;
pub mod event_outbox;
pub mod file;
pub mod foreign_sqlite;
mod group_commit;
pub mod health;
mod lease;
pub mod login_challenges;
pub mod login_sessions;
pub mod methods;
mod migrate;
pub mod outbox;
pub mod passkeys;
pub mod proofs;
mod rate_limits;
pub mod receipts;
pub mod sessions;
mod sql;
pub mod users;

use group_commit::{Done, Job};
pub use migrate::{known_schema_version, schema_version};
use sql::postgres::PgTarget;
use sql::{Conn, PgConn};
pub use sql::{Db, Engine};

use crate::config::Config;
pub use crate::config::DatabaseLocation;
use crate::infra::data_dir::DataDir;

/// Where `config` puts gatehouse's own database.
pub fn database_location(config: &Config) -> Result<DatabaseLocation, StoreError> {
    let default = DataDir::new(&config.data_dir).database();
    config
        .database
        .location(default)
        .map_err(|e| StoreError::Task(e.to_string()))
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error: {0}")]
    Postgres(String),
    /// PostgreSQL cannot be reached (refused, lost, timed out connecting).
    #[error("the database cannot be reached: {0}")]
    Unavailable(String),
    /// A column did not hold what the code reads from it.
    #[error("unexpected database value: {0}")]
    Decode(String),
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
    /// calls that did; on PostgreSQL, a lock or statement timeout.
    #[error("the database is busy: locked by another process, or calls queued behind such a wait")]
    Busy,
    /// A write failed for lack of disk space, or the disk failed.
    #[error("the database cannot be written (disk full or failing): {0}")]
    Full(String),
}

#[derive(Clone)]
pub struct Store {
    worker: Arc<Worker>,
    health: health::Health,
    engine: Engine,
}

/// The store's threads; they end, closing their connections, with the last Store.
struct Worker {
    jobs: Option<mpsc::Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
    /// SQLite's WAL checkpoints, on a thread of their own.
    checkpointer: Option<checkpoint::Checkpointer>,
}

impl Worker {
    fn new(jobs: mpsc::Sender<Job>, threads: Vec<JoinHandle<()>>) -> Worker {
        Worker {
            jobs: Some(jobs),
            threads,
            checkpointer: None,
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing the queue ends the threads; waiting for them means the
        // connections are closed (and the WAL checkpointed) when this returns.
        self.checkpointer.take();
        self.jobs.take();
        for thread in self.threads.drain(..) {
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

impl Store {
    /// Opens the database `[database]` names (the data dir's SQLite file by
    /// default) and applies migrations. Blocking: call off the executor.
    pub fn open_configured(config: &Config) -> Result<Store, StoreError> {
        Store::open_at(&database_location(config)?, config.database.pool_size)
    }

    /// Opens the database at `location` and applies migrations.
    pub fn open_at(location: &DatabaseLocation, pool_size: u32) -> Result<Store, StoreError> {
        match location {
            DatabaseLocation::Sqlite(path) => Store::open(path),
            DatabaseLocation::Postgres { url, tls } => {
                Store::open_postgres(&PgTarget::new(url.expose(), tls)?, pool_size)
            }
        }
    }

    /// Opens (creating if needed) the SQLite database at `path` and applies
    /// migrations: one connection on one thread.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut conn = Connection::open(path)?;
        configure_connection(&mut conn)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        migrate::sqlite(&mut conn)?;
        conn.pragma_update(None, "wal_autocheckpoint", checkpoint::BACKSTOP_PAGES)?;
        let checkpointer = checkpoint::start(path)?;

        let mut db = Db::sqlite(conn);
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = spawn_thread("gatehouse-db", move || group_commit::serve(&queue, &mut db))?;
        let mut worker = Worker::new(jobs, vec![thread]);
        worker.checkpointer = Some(checkpointer);
        Ok(Store::with_worker(worker, Engine::Sqlite))
    }

    /// Connects to PostgreSQL and applies migrations; then `pool_size`
    /// threads, each with a connection of its own (opened in the background
    /// at once, opened again when lost), take the calls in turn.
    fn open_postgres(target: &PgTarget, pool_size: u32) -> Result<Store, StoreError> {
        // On a thread of its own: a connection drives its own runtime, which
        // cannot start on a thread that is already running one (a caller's).
        let migrated = std::thread::scope(|scope| {
            scope
                .spawn(|| -> Result<PgConn, StoreError> {
                    let mut first = PgConn::connect(target)?;
                    migrate::postgres(&mut first)?;
                    Ok(first)
                })
                .join()
        });
        let first = migrated.map_err(|_| StoreError::Task("the migration panicked".into()))??;
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let mut first = Some(first);
        let mut threads = Vec::new();
        for n in 0..pool_size.max(1) {
            let queue = queue.clone();
            let target = target.clone();
            let db = first.take().map(Db::postgres);
            threads.push(spawn_thread(&format!("gatehouse-db-{n}"), move || {
                serve_postgres(&queue, &target, db)
            })?);
        }
        Ok(Store::with_worker(
            Worker::new(jobs, threads),
            Engine::Postgres,
        ))
    }

    fn with_worker(worker: Worker, engine: Engine) -> Store {
        Store {
            worker: Arc::new(worker),
            health: health::Health::default(),
            engine,
        }
    }

    /// Which engine the store is on.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Runs blocking database work on the store's thread, off the async
    /// executor. On SQLite it may share a commit with other calls
    /// (`group_commit.rs`): when it fails, its writes are undone, as
    /// they would be in a transaction of its own.
    pub async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Db) -> Result<T, StoreError> + Send + 'static,
    {
        self.queue(false, work).await
    }

    /// Hands `work` to a store thread (outside any group when `alone`) and
    /// awaits its answer, given once its writes are committed.
    async fn queue<T, F>(&self, alone: bool, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Db) -> Result<T, StoreError> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let queued = Instant::now();
        let health = self.health.clone();
        let engine = self.engine;
        let work = move |db: Result<&mut Db, StoreError>| {
            // Behind calls stuck on another process's lock: answer at once
            // rather than add one more wait to theirs.
            let db = match db {
                _ if queued.elapsed() > health::max_queue_wait(engine) => Err(StoreError::Busy),
                db => db,
            };
            let (result, wrote) = match db {
                Ok(db) => {
                    let changes = db.changes();
                    let result = db
                        .wait_for_locks(health.lock_wait())
                        .and_then(|()| work(db))
                        .map_err(StoreError::classified);
                    (result, db.changes() > changes)
                }
                Err(e) => (Err(e), false),
            };
            Done {
                failed: result.is_err(),
                answer: Box::new(move |committed: Result<(), StoreError>| {
                    let result = result.and_then(|value| committed.map(|()| value));
                    health.record(&result, wrote);
                    let _ = answer.send(result);
                }),
            }
        };
        let job = Job {
            alone,
            work: Box::new(work),
        };
        let sent = self.worker.jobs.as_ref().map(|jobs| jobs.send(job));
        if !matches!(sent, Some(Ok(()))) {
            return Err(StoreError::Task("the database thread has stopped".into()));
        }
        answered
            .await
            .map_err(|_| StoreError::Task("the database work panicked".into()))?
    }

    /// [`Store::run`] with `work` in one transaction: its writes are
    /// committed together (on SQLite one WAL commit instead of one per
    /// statement), or not at all when it fails.
    pub async fn run_atomically<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Db) -> Result<T, StoreError> + Send + 'static,
    {
        self.run(move |db| db.transaction(sql::Begin::Deferred, work))
            .await
    }

    /// Is `other` a handle on this same store (the same threads and connections)?
    pub fn same_as(&self, other: &Store) -> bool {
        Arc::ptr_eq(&self.worker, &other.worker)
    }

    /// Can the database take writes? For `/readyz`: answers within
    /// `limit` (busy when the store's queue is stuck), says so while a
    /// failed write has not been followed by a good one, and takes the
    /// write lock for a moment to see that no other process holds it.
    pub async fn ready(&self, limit: std::time::Duration, now: i64) -> Result<(), StoreError> {
        let writes_failing = self.health.writes_failing();
        let probe = self.queue(true, move |db| health::probe(db, writes_failing, now));
        let probed = tokio::time::timeout(limit, probe)
            .await
            .unwrap_or(Err(StoreError::Busy));
        if self.health.writes_failing() {
            return Err(StoreError::Full("a recent write failed".into()));
        }
        probed
    }
}

/// Prepared statements a connection keeps. rusqlite keeps 16 by default,
/// fewer than one sign-in uses (the limits, the code, the outbox, the
/// audit trail, the clean-up): each miss parsed and planned its statement
/// again. Gatehouse has about a hundred distinct statements.
const STATEMENT_CACHE: usize = 256;

fn configure_connection(conn: &mut Connection) -> Result<(), rusqlite::Error> {
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // One plan per statement, whatever its parameters: otherwise SQLite
    // plans a statement again each time a parameter it could plan around
    // (the outbox claim's `LIMIT ?2`) gets a new value, which was 4% of
    // the store thread's time under load.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    conn.busy_timeout(health::BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // The savepoints of a group commit keep the pages they may undo in
    // memory up to 256 KiB (a compile-time option: .cargo/config.toml),
    // which no call comes near; `temp_store = MEMORY` would have done
    // without a file too, but 1 KiB at a time.
    Ok(())
}

/// What `doctor` says about a PostgreSQL database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresStatus {
    pub server_version: String,
    /// The newest migration applied; None before the first.
    pub schema_version: Option<i64>,
}

/// Connects to the PostgreSQL database at `location` (a SQLite location is
/// refused) and reads its server and schema versions, migrating nothing.
pub fn postgres_status(location: &DatabaseLocation) -> Result<PostgresStatus, StoreError> {
    let DatabaseLocation::Postgres { url, tls } = location else {
        return Err(StoreError::Task("not a PostgreSQL database".into()));
    };
    let target = PgTarget::new(url.expose(), tls)?;
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let conn = PgConn::connect(&target)?;
                let version = conn.query("SHOW server_version", &[])?;
                Ok(PostgresStatus {
                    server_version: version
                        .first()
                        .map(|row| row.get::<String>(0))
                        .transpose()?
                        .unwrap_or_default(),
                    schema_version: migrate::postgres_schema_version(&conn)?,
                })
            })
            .join()
            .unwrap_or_else(|_| Err(StoreError::Task("the check panicked".into())))
    })
}

/// Runs `work` in a transaction that holds the lock `name`, unless
/// another instance holds it (then None, and nothing runs): for jobs that
/// one instance at a time should do. On SQLite there is one instance, and
/// `work` always runs.
pub fn exclusively<T>(
    db: &Db,
    name: &str,
    work: impl FnOnce(&Db) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    if db.engine() == Engine::Sqlite {
        return work(db).map(Some);
    }
    db.transaction(sql::Begin::Deferred, |tx| match tx.try_lock(name)? {
        true => work(tx).map(Some),
        false => Ok(None),
    })
}

/// A PostgreSQL store thread: connects before it takes work (so calls go to
/// threads that are ready while others connect), runs each call, and
/// connects again when the connection was lost. Without a connection a
/// call is answered with the reason at once: nothing waits forever.
fn serve_postgres(queue: &Mutex<mpsc::Receiver<Job>>, target: &PgTarget, mut db: Option<Db>) {
    let connect = || PgConn::connect(target).map(Db::postgres);
    let lost = |db: &Db| matches!(&db.conn, Conn::Postgres(c) if c.is_closed());
    loop {
        if db.as_ref().is_none_or(lost) {
            db = connect().ok();
        }
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let opened = match db.take() {
            Some(open) => Ok(open),
            None => connect(),
        };
        match opened {
            Ok(mut open) => {
                job.run_alone(Ok(&mut open));
                db = Some(open);
            }
            Err(e) => job.run_alone(Err(e)),
        }
    }
}

fn spawn_thread(
    name: &str,
    body: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle<()>, StoreError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(body)
        .map_err(|e| StoreError::Task(format!("cannot start the database thread: {e}")))
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
