//! Whether the database can take writes: SQLite's errors sorted (PostgreSQL's
//! are sorted where they arise, `sql/postgres.rs`) into "try
//! again shortly" (another process holds the lock; the disk is full) and
//! the rest, a flag a failed write sets until a write succeeds again, and
//! the readiness probe.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::ErrorCode;

use super::sql::{args, Conn};
use super::{Db, StoreError};

/// How long one statement waits for a lock another process holds.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(1);
/// The same once a call has found the lock held and no write has succeeded
/// since: a request's writes one after another do not each wait the full
/// second while another process keeps the database locked.
pub const BUSY_TIMEOUT_WHILE_LOCKED: Duration = Duration::from_millis(100);
/// A call that waited this long in the store's queue (behind calls stuck on
/// a lock) is answered "busy" without running, so waits do not add up.
pub const MAX_QUEUE_WAIT: Duration = Duration::from_secs(1);
/// The same on PostgreSQL, whose calls wait for row and advisory locks of
/// other instances (each wait bounded by the server's `lock_timeout`, 2 s):
/// a burst on one phone queues a little longer than on SQLite.
const MAX_QUEUE_WAIT_POSTGRES: Duration = Duration::from_secs(3);

/// How long a call may wait in the store's queue on `engine`.
pub(super) fn max_queue_wait(engine: super::Engine) -> Duration {
    match engine {
        super::Engine::Sqlite => MAX_QUEUE_WAIT,
        super::Engine::Postgres => MAX_QUEUE_WAIT_POSTGRES,
    }
}
/// The readiness probe's own wait for the write lock.
const PROBE_BUSY_TIMEOUT: Duration = Duration::from_millis(300);

/// Set by a write that failed for lack of disk (or an I/O error); cleared
/// by the next write that succeeds.
#[derive(Clone, Default)]
pub struct Health {
    writes_failing: Arc<AtomicBool>,
    /// Set by a call answered "busy"; cleared by the next write that succeeds.
    locked_elsewhere: Arc<AtomicBool>,
}

impl Health {
    pub fn writes_failing(&self) -> bool {
        self.writes_failing.load(Ordering::Relaxed)
    }

    /// How long the next call's statements wait for another process's lock.
    pub(super) fn lock_wait(&self) -> Duration {
        match self.locked_elsewhere.load(Ordering::Relaxed) {
            true => BUSY_TIMEOUT_WHILE_LOCKED,
            false => BUSY_TIMEOUT,
        }
    }

    /// Records how a call went: `wrote` says whether it changed rows.
    pub(super) fn record<T>(&self, result: &Result<T, StoreError>, wrote: bool) {
        let failing = match result {
            Err(StoreError::Busy) => return self.locked_elsewhere.store(true, Ordering::Relaxed),
            Err(StoreError::Full(_)) => true,
            Ok(_) if wrote => {
                self.locked_elsewhere.store(false, Ordering::Relaxed);
                false
            }
            _ => return,
        };
        match (
            self.writes_failing.swap(failing, Ordering::Relaxed),
            failing,
        ) {
            (false, true) => tracing::error!(
                "a database write failed: the disk is full or failing; sign-ins answer 503 \
                 and /readyz says so until a write succeeds"
            ),
            (true, false) => tracing::info!("database writes succeed again"),
            _ => {}
        }
    }
}

impl StoreError {
    /// SQLite's "locked by someone else" and "disk full or failing" get
    /// their own variants; everything else stays as it is.
    pub(super) fn classified(self) -> StoreError {
        let StoreError::Sqlite(error) = &self else {
            return self;
        };
        match error.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy,
            Some(ErrorCode::DiskFull | ErrorCode::SystemIoFailure) => {
                StoreError::Full(error.to_string())
            }
            _ => self,
        }
    }

    /// Worth trying again shortly, and after how long: the database is
    /// locked or cannot be written right now (a 503, not a 500).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            StoreError::Busy | StoreError::Unavailable(_) => Some(Duration::from_secs(2)),
            StoreError::Full(_) => Some(Duration::from_secs(30)),
            _ => None,
        }
    }
}

/// The readiness probe, on a store thread: the write lock can be had
/// (no other process holds it), and while writes are failing, one real
/// write succeeds. On PostgreSQL: the server answers, and takes that write.
pub(super) fn probe(db: &mut Db, writes_failing: bool, now: i64) -> Result<(), StoreError> {
    const WRITE: &str = "INSERT INTO store_probe (id, checked_at) VALUES (1, ?1)
                         ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at";
    let conn = match &db.conn {
        Conn::Sqlite(conn) => conn,
        Conn::Postgres(_) if writes_failing => return db.execute(WRITE, args![now]).map(|_| ()),
        Conn::Postgres(_) => return db.query("SELECT 1", &[]).map(|_| ()),
    };
    // The next call sets its own wait again.
    db.wait_for_locks(PROBE_BUSY_TIMEOUT)?;
    let probed = if writes_failing {
        conn.execute(WRITE, [now]).map(|_| ())
    } else {
        conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;")
    };
    Ok(probed?)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::store::Store;

    /// One write through the store, and how long it took.
    async fn timed_write(store: &Store) -> (Result<usize, StoreError>, Duration) {
        const BUMP: &str = "INSERT INTO store_probe (id, checked_at) VALUES (1, 0)
                            ON CONFLICT (id) DO UPDATE SET checked_at = checked_at + 1";
        let started = Instant::now();
        let result = store.run(|db| db.execute(BUMP, &[])).await;
        (result, started.elapsed())
    }

    #[tokio::test]
    async fn writes_after_one_found_the_lock_held_do_not_each_wait_the_full_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.sqlite");
        let store = Store::open(&path).unwrap();
        let other = rusqlite::Connection::open(&path).unwrap();
        other.execute_batch("BEGIN EXCLUSIVE").unwrap();

        let (first, waited) = timed_write(&store).await;
        assert!(matches!(first, Err(StoreError::Busy)), "{first:?}");
        assert!(
            waited >= BUSY_TIMEOUT,
            "the first waits the full time: {waited:?}"
        );
        for _ in 0..3 {
            let (next, waited) = timed_write(&store).await;
            assert!(matches!(next, Err(StoreError::Busy)), "{next:?}");
            assert!(
                waited < BUSY_TIMEOUT / 2,
                "later ones give up sooner: {waited:?}"
            );
        }

        other.execute_batch("ROLLBACK").unwrap();
        let (freed, _) = timed_write(&store).await;
        assert_eq!(freed.unwrap(), 1, "the lock released, writes go through");
        other.execute_batch("BEGIN EXCLUSIVE").unwrap();
        let (again, waited) = timed_write(&store).await;
        assert!(matches!(again, Err(StoreError::Busy)), "{again:?}");
        assert!(
            waited >= BUSY_TIMEOUT,
            "after a write went through, the full wait again: {waited:?}"
        );
    }
}
