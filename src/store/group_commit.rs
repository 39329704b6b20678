//! The SQLite store thread, committing calls in groups (issue 25). A commit
//! writes every page the transaction changed to the WAL: the same few pages
//! of the rate-limit counters, the codes and the outbox, again for each
//! call, and that was a third of the thread's time under load. So the
//! calls already queued when the thread takes one run in one transaction,
//! each in a savepoint of its own (its writes are undone alone when it
//! fails, as they were when it had a transaction of its own), and each
//! caller is answered once the group has committed, never before its
//! writes are in the WAL. A group takes only what is already waiting,
//! never waits for more, and closes after [`GROUP_TIME`]: the first
//! caller's answer waits at most that long for the others' work.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::sql::{Begin, Db};
use super::StoreError;

/// The longest a group runs before it commits.
const GROUP_TIME: Duration = Duration::from_millis(2);
/// The most calls in one group.
const GROUP_CALLS: usize = 64;

/// A call's work for a store thread, given its database (or why there is
/// none): it gives back what to keep and how to answer.
pub(super) struct Job {
    /// Runs outside any transaction: the readiness probe, which takes the
    /// write lock itself.
    pub(super) alone: bool,
    pub(super) work: Work,
}

/// A call's work: on its database, or told why there is none.
pub(super) type Work = Box<dyn FnOnce(Result<&mut Db, StoreError>) -> Done + Send>;
/// How a call's caller is answered, given the outcome of its commit.
pub(super) type Answer = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// What a call did: whether its writes are to be undone, and how to answer
/// its caller once they are committed (or cannot be).
pub(super) struct Done {
    pub(super) failed: bool,
    pub(super) answer: Answer,
}

impl Job {
    /// Runs the job outside any group, and answers at once.
    pub(super) fn run_alone(self, db: Result<&mut Db, StoreError>) {
        if let Some(done) = caught(self, db) {
            (done.answer)(Ok(()));
        }
    }
}

/// Serves `queue` on `db` until every sender is gone.
pub(super) fn serve(queue: &mpsc::Receiver<Job>, db: &mut Db) {
    let mut waiting = queue.recv().ok();
    while let Some(first) = waiting.take() {
        let next = queue.try_recv().ok();
        if first.alone || next.is_none() {
            // Alone, or nobody else waiting: no group to make.
            first.run_alone(Ok(db));
            waiting = next.or_else(|| queue.recv().ok());
            continue;
        }
        waiting = group(queue, db, first, next);
        if waiting.is_none() {
            waiting = queue.recv().ok();
        }
    }
}

/// Runs `first`, `second` and whatever else is waiting, up to the group's
/// limits, in one transaction; returns a job taken but not run (one to run
/// alone).
fn group(queue: &mpsc::Receiver<Job>, db: &mut Db, first: Job, second: Option<Job>) -> Option<Job> {
    let started = Instant::now();
    if let Err(error) = db.enter(Begin::Deferred).map_err(StoreError::classified) {
        for job in [Some(first), second].into_iter().flatten() {
            job.run_alone(Err(clone_error(&error)));
        }
        return None;
    }
    // The first call needs no savepoint: were it to fail, the group holds
    // nothing else yet, and is undone whole. (A savepoint copies each page
    // a call changes before it changes it.)
    let mut answers = match caught(first, Ok(&mut *db)) {
        Some(done) if !done.failed => vec![done.answer],
        failed => {
            let _ = db.leave(false, false);
            if let Some(done) = failed {
                (done.answer)(Ok(()));
            }
            return second;
        }
    };
    let mut next = second;
    let (mut left_over, mut lost) = (None, false);
    loop {
        if !db.in_transaction() {
            // SQLite undid the whole group (a full disk, an I/O error): the
            // work so far is lost, and what is still queued goes on alone.
            lost = true;
            left_over = next;
            break;
        }
        if next.is_none() && answers.len() < GROUP_CALLS && started.elapsed() < GROUP_TIME {
            next = queue.try_recv().ok();
        }
        let Some(job) = next.take() else {
            break;
        };
        if job.alone {
            left_over = Some(job);
            break;
        }
        if let Some(answer) = in_savepoint(job, db) {
            answers.push(answer);
        }
    }
    let committed = match lost {
        false => db.leave(false, true).map_err(StoreError::classified),
        true => {
            let _ = db.leave(false, false);
            Err(StoreError::Full(
                "the database undid the transaction".into(),
            ))
        }
    };
    for answer in answers {
        answer(committed.as_ref().map(|_| ()).map_err(clone_error));
    }
    left_over
}

/// Runs `job` in a savepoint, undone when it fails; its answer, unless it
/// panicked (then its caller has already heard so).
fn in_savepoint(job: Job, db: &mut Db) -> Option<Answer> {
    let opened = db.enter(Begin::Deferred);
    if let Err(error) = opened {
        job.run_alone(Err(error));
        return None;
    }
    let done = caught(job, Ok(&mut *db));
    let keep = done.as_ref().is_some_and(|done| !done.failed);
    if let Err(error) = db.leave(true, keep).map_err(StoreError::classified) {
        // Its writes could not be kept in the group: say so, not "done".
        return done.map(|done| {
            let answer: Answer = Box::new(move |_| (done.answer)(Err(error)));
            answer
        });
    }
    done.map(|done| done.answer)
}

/// Runs the job's work; a panicking job drops its answer channel (the
/// caller gets an error), and the thread and connection go on.
fn caught(job: Job, db: Result<&mut Db, StoreError>) -> Option<Done> {
    std::panic::catch_unwind(AssertUnwindSafe(|| (job.work)(db))).ok()
}

/// The group's one error, for each of its callers.
fn clone_error(error: &StoreError) -> StoreError {
    match error {
        StoreError::Busy => StoreError::Busy,
        StoreError::Full(reason) => StoreError::Full(reason.clone()),
        StoreError::Unavailable(reason) => StoreError::Unavailable(reason.clone()),
        other => StoreError::Task(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc as std_mpsc;

    use super::*;
    use crate::store::sql::args;
    use crate::store::Store;

    /// A store with a table `t`, and its thread held by a call until the
    /// returned sender is dropped: calls made meanwhile queue, and the
    /// thread then takes them as groups.
    async fn held_store(dir: &tempfile::TempDir) -> (Store, std_mpsc::Sender<()>) {
        let store = Store::open(&dir.path().join("g.sqlite")).unwrap();
        store
            .run(|db| {
                db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)", &[])?;
                db.execute("CREATE TABLE child (n INTEGER REFERENCES t (n))", &[])
            })
            .await
            .unwrap();
        let (release, held) = std_mpsc::channel::<()>();
        let holder = store.clone();
        tokio::spawn(async move {
            holder
                .run(move |_| {
                    let _ = held.recv_timeout(Duration::from_secs(10));
                    Ok(())
                })
                .await
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        (store, release)
    }

    async fn rows(store: &Store) -> Vec<i64> {
        store
            .run(|db| {
                let rows = db.query("SELECT n FROM t ORDER BY n", &[])?;
                rows.iter().map(|row| row.get::<i64>(0)).collect()
            })
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_call_in_a_group_loses_its_writes_and_the_others_keep_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let (store, release) = held_store(&dir).await;
        let mut calls = Vec::new();
        for n in 0..40i64 {
            let store = store.clone();
            calls.push(tokio::spawn(async move {
                store
                    .run(move |db| {
                        // Every third fails after a write of its own; every
                        // third of those inside a transaction of its own.
                        let write = |db: &Db| db.execute("INSERT INTO t (n) VALUES (?1)", args![n]);
                        match n % 3 {
                            0 => write(db).map(|_| ()),
                            1 => write(db).and(Err(StoreError::Conflict("no".into()))),
                            _ => db.transaction(Begin::Immediate, |tx| {
                                write(tx)?;
                                Err(StoreError::Conflict("no".into()))
                            }),
                        }
                    })
                    .await
            }));
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(release);
        for (n, call) in calls.into_iter().enumerate() {
            let answer = call.await.unwrap();
            assert_eq!(answer.is_ok(), n % 3 == 0, "call {n}: {answer:?}");
        }
        let kept: Vec<i64> = (0..40).filter(|n| n % 3 == 0).collect();
        assert_eq!(rows(&store).await, kept);
    }

    /// The first call of a group runs without a savepoint of its own: when
    /// it fails (or panics), the group is undone whole, which holds only
    /// its writes, and the calls after it run in the next group.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_group_whose_first_call_fails_keeps_only_the_calls_after_it() {
        for panics in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let (store, release) = held_store(&dir).await;
            let spawn = |n: i64, fails: bool| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .run(move |db| {
                            db.execute("INSERT INTO t (n) VALUES (?1)", args![n])?;
                            assert!(!(fails && panics), "the work panics");
                            match fails {
                                true => Err(StoreError::Conflict("no".into())),
                                false => Ok(()),
                            }
                        })
                        .await
                })
            };
            let first = spawn(1, true);
            tokio::time::sleep(Duration::from_millis(20)).await;
            let later: Vec<_> = (2..6).map(|n| spawn(n, false)).collect();
            tokio::time::sleep(Duration::from_millis(50)).await;
            drop(release);
            assert!(first.await.unwrap().is_err());
            for call in later {
                let answer = call.await.unwrap();
                assert!(answer.is_ok(), "panics {panics}: {answer:?}");
            }
            assert_eq!(rows(&store).await, vec![2, 3, 4, 5], "panics {panics}");
        }
    }

    /// .cargo/config.toml's options reached the bundled SQLite: without
    /// them a savepoint's journal takes 1 KiB at a time, each allocation
    /// under a global lock.
    #[tokio::test]
    async fn the_bundled_sqlite_has_the_store_threads_compile_options() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("o.sqlite")).unwrap();
        let options: Vec<String> = store
            .run(|db| {
                let rows = db.query("PRAGMA compile_options", &[])?;
                rows.iter().map(|row| row.get::<String>(0)).collect()
            })
            .await
            .unwrap();
        for wanted in ["DEFAULT_MEMSTATUS=0", "STMTJRNL_SPILL=262144"] {
            assert!(options.iter().any(|o| o == wanted), "{wanted}: {options:?}");
        }
    }

    /// A group that closes on its time limit before it ran the second call
    /// it took leaves that call to the next group; nobody is left without
    /// an answer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_call_after_one_longer_than_a_group_is_answered() {
        let dir = tempfile::tempdir().unwrap();
        let (store, release) = held_store(&dir).await;
        let spawn = |n: i64, takes: Duration| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .run(move |db| {
                        std::thread::sleep(takes);
                        db.execute("INSERT INTO t (n) VALUES (?1)", args![n])
                    })
                    .await
            })
        };
        let slow = spawn(1, GROUP_TIME * 3);
        tokio::time::sleep(Duration::from_millis(20)).await;
        let next = spawn(2, Duration::ZERO);
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(release);
        assert!(slow.await.unwrap().is_ok());
        let next = next.await.unwrap();
        assert!(next.is_ok(), "{next:?}");
        assert_eq!(rows(&store).await, vec![1, 2]);
    }

    /// When SQLite undoes the whole group's transaction by itself (as it
    /// may on a full disk; a call's own `ROLLBACK` stands in for that),
    /// the calls before it hear that their work is lost, and the calls
    /// after it run in a transaction of their own: none is committed on
    /// its own and then told it failed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_group_undone_by_sqlite_tells_its_calls_and_the_rest_run_apart() {
        let dir = tempfile::tempdir().unwrap();
        let (store, release) = held_store(&dir).await;
        let spawn = |n: i64, undoes: bool| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .run(move |db| {
                        db.execute("INSERT INTO t (n) VALUES (?1)", args![n])?;
                        if undoes {
                            db.execute("ROLLBACK", &[])?;
                            return Err(StoreError::Full("disk full".into()));
                        }
                        Ok(())
                    })
                    .await
            })
        };
        let before = spawn(1, false);
        tokio::time::sleep(Duration::from_millis(20)).await;
        let undoing = spawn(2, true);
        tokio::time::sleep(Duration::from_millis(20)).await;
        let after = spawn(3, false);
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(release);
        assert!(before.await.unwrap().is_err(), "its work was undone");
        assert!(undoing.await.unwrap().is_err());
        let after = after.await.unwrap();
        assert!(after.is_ok(), "{after:?}");
        assert_eq!(rows(&store).await, vec![3]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_call_in_a_group_loses_its_writes_and_its_caller_hears_of_it() {
        let dir = tempfile::tempdir().unwrap();
        let (store, release) = held_store(&dir).await;
        let spawn = |n: i64, panics: bool| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .run(move |db| {
                        db.execute("INSERT INTO t (n) VALUES (?1)", args![n])?;
                        assert!(!panics, "the work panics");
                        Ok(())
                    })
                    .await
            })
        };
        let (before, panicking, after) = (spawn(1, false), spawn(2, true), spawn(3, false));
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(release);
        assert!(before.await.unwrap().is_ok());
        let err = panicking.await.unwrap().unwrap_err().to_string();
        assert!(err.contains("panicked"), "{err}");
        assert!(after.await.unwrap().is_ok());
        assert_eq!(rows(&store).await, vec![1, 3]);
    }

    /// The commit decides every answer: a call whose own work went well
    /// is not told so when the group's commit then fails. (A deferred
    /// foreign key, checked only at the commit, stands in for a disk that
    /// fills up between the work and the commit.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_caller_in_a_group_hears_success_before_the_commit_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let (store, release) = held_store(&dir).await;
        let good = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .run(|db| db.execute("INSERT INTO t (n) VALUES (1)", &[]))
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let orphan = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .run(|db| {
                        db.execute("PRAGMA defer_foreign_keys = ON", &[])?;
                        db.execute("INSERT INTO child (n) VALUES (99)", &[])
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(release);
        let good = good.await.unwrap();
        assert!(good.is_err(), "answered before a failed commit: {good:?}");
        assert!(orphan.await.unwrap().is_err());
        assert_eq!(
            rows(&store).await,
            Vec::<i64>::new(),
            "nothing was committed"
        );
        // The connection is clean for what comes next.
        store
            .run(|db| db.execute("INSERT INTO t (n) VALUES (2)", &[]))
            .await
            .unwrap();
        assert_eq!(rows(&store).await, vec![2]);
    }
}
