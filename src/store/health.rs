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
}

impl Health {
    pub fn writes_failing(&self) -> bool {
        self.writes_failing.load(Ordering::Relaxed)
    }

    /// Records how a call went: `wrote` says whether it changed rows.
    pub(super) fn record<T>(&self, result: &Result<T, StoreError>, wrote: bool) {
        let failing = match result {
            Err(StoreError::Full(_)) => true,
            Ok(_) if wrote => false,
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
    conn.busy_timeout(PROBE_BUSY_TIMEOUT)?;
    let probed = if writes_failing {
        conn.execute(WRITE, [now]).map(|_| ())
    } else {
        conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;")
    };
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(probed?)
}
