//! WAL checkpoints off the store's thread (issue 25). SQLite checkpoints
//! automatically on the connection that commits, once the WAL holds 1,000
//! pages: on gatehouse's single store thread, the call that happened to
//! commit then copied those pages into the database and waited for two
//! fsyncs, and every call queued behind it waited too (the `request-otp`
//! own-time tail). Here a thread of its own, with its own connection, runs
//! a PASSIVE checkpoint every [`INTERVAL`], or [`BUSY_INTERVAL`] while the
//! WAL grows fast (it never blocks the store's writes), and the store's
//! connection checkpoints only as a backstop, when the WAL reaches
//! [`BACKSTOP_PAGES`]: by then the passive checkpoints have copied nearly
//! everything, so that one is short, and it lets the WAL start again from
//! its beginning (the file never grows past about [`BACKSTOP_PAGES`]
//! pages; the test below checks it).

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::StoreError;

/// How often the checkpoint thread copies the WAL while it is small. Each
/// time it has copied everything, the store's next commit starts the WAL
/// again from its beginning and syncs its header (SQLite does so with
/// `synchronous = NORMAL`): one fsync on the store's thread per pass that
/// caught up, so passes are rare while the load is light ...
const INTERVAL: Duration = Duration::from_secs(1);
/// ... and frequent while the WAL grows by [`BUSY_PAGES`] a second or
/// more: each pass then copies a few hundred pages, so the backstop
/// checkpoint, when it comes, finds little left to copy or to sync.
const BUSY_INTERVAL: Duration = Duration::from_millis(10);
const BUSY_PAGES: f64 = 2_000.0;

/// The store connection's `wal_autocheckpoint`: the WAL's most pages
/// before the committing connection checkpoints itself (SQLite's default
/// is 1,000), so the WAL file stays under 128 MiB. At 8,000 pages (32 MiB)
/// the `otp` benchmark hit it every few seconds, and each time the calls
/// queued behind a checkpoint on the store's thread: a flow's p99 of 40 to
/// 49 ms; at 32,000 the checkpoint thread's passes keep the WAL under it,
/// and the p99 was 6.6 to 7.2 ms, with 5 to 10% more pairs a second
/// (BENCHMARKS.md).
pub(super) const BACKSTOP_PAGES: u32 = 32_000;

/// The checkpoint thread; it stops, and closes its connection, when dropped.
pub(super) struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts checkpointing the SQLite database at `path` (in WAL mode, opened
/// and migrated by the store) every [`INTERVAL`].
pub(super) fn start(path: &Path) -> Result<Checkpointer, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(super::health::BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("gatehouse-db-checkpoint".into())
        .spawn(move || {
            let (mut wait, mut last) = (INTERVAL, (0, Instant::now()));
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(wait) {
                let Some(pages) = checkpoint(&conn) else {
                    continue;
                };
                // After a restart the WAL holds fewer pages than before:
                // all of them are new.
                let grown = if pages >= last.0 {
                    pages - last.0
                } else {
                    pages
                };
                let per_second = grown as f64 / last.1.elapsed().as_secs_f64().max(1e-3);
                wait = if per_second >= BUSY_PAGES {
                    BUSY_INTERVAL
                } else {
                    INTERVAL
                };
                last = (pages, Instant::now());
            }
        })
        .map_err(|e| StoreError::Task(format!("cannot start the checkpoint thread: {e}")))?;
    Ok(Checkpointer {
        stop: Some(stop),
        thread: Some(thread),
    })
}

/// One PASSIVE checkpoint: copies what it can without waiting for anyone.
/// The pages in the WAL, when it could look.
fn checkpoint(conn: &Connection) -> Option<i64> {
    let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
    });
    match done {
        Ok((wal_pages, copied)) => {
            tracing::trace!(wal_pages, copied, "WAL checkpoint");
            Some(wal_pages)
        }
        Err(error) => {
            tracing::debug!(%error, "WAL checkpoint failed; tried again shortly");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{codes, Store};

    /// The backstop this test sets, smaller than [`BACKSTOP_PAGES`] so a
    /// few seconds of writes pass it.
    const TEST_BACKSTOP: u64 = 2_000;
    /// The WAL's largest size allowed: the backstop's pages, twice over
    /// (a backstop checkpoint that found the checkpoint thread at work is
    /// tried again at the next commit), as frames of a 4 KiB page.
    const WAL_BOUND: u64 = 2 * TEST_BACKSTOP * (4096 + 24);

    #[tokio::test]
    async fn the_wal_does_not_grow_without_bound_under_constant_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.sqlite");
        let wal = dir.path().join("g.sqlite-wal");
        let store = Store::open(&path).unwrap();
        store
            .run(|db| db.query(&format!("PRAGMA wal_autocheckpoint = {TEST_BACKSTOP}"), &[]))
            .await
            .unwrap();
        // Each commit adds at least one page to the WAL: 40,000 commits
        // would make it 2.5 times the bound, were nothing copied back.
        let (batches, per_batch) = (200, 200);
        assert!(batches * per_batch > 2 * WAL_BOUND / 4096);
        let mut largest = 0;
        for batch in 0..batches {
            store
                .run(move |db| {
                    for n in 0..per_batch {
                        codes::record_event(db, "test", &format!("{batch}-{n}"), 1_800_000_000)?;
                    }
                    Ok(())
                })
                .await
                .unwrap();
            largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
        }
        assert!(largest > 0, "the database is in WAL mode");
        assert!(
            largest <= WAL_BOUND,
            "the WAL reached {largest} bytes (bound {WAL_BOUND})"
        );
    }
}
