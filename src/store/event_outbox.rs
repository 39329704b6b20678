//! The events outbox (migration V9): audit events waiting for
//! `[events] url`, queued by `audit::insert` with their rows. Like the SMS outbox (`outbox.rs`): claimed with a lease,
//! retried later, claims released at start-up. Unlike it, events of one
//! ordering key go one at a time, oldest first: only the oldest waiting
//! event of a key can be claimed. Policy (backoff, giving up) lives in
//! `crate::signin::audit::events`.

use super::audit::{from_row, AuditRow, COLUMNS};
use super::lease::Outbox;
use super::sql::{args, Begin};
use super::{Db, StoreError};

const EVENTS: Outbox = Outbox {
    table: "event_outbox",
    key: "event_id",
};

/// An event a worker has claimed and is about to send.
#[derive(Debug, Clone)]
pub struct QueuedEvent {
    pub event: AuditRow,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// How many events wait, and since when the oldest (unix seconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    pub depth: i64,
    pub oldest: Option<i64>,
}

/// Claims up to `limit` events that are due and first in line for their
/// ordering key, until `claim_until`.
pub fn claim_due(
    db: &mut Db,
    now: i64,
    claim_until: i64,
    limit: usize,
) -> Result<Vec<QueuedEvent>, StoreError> {
    // SKIP LOCKED on PostgreSQL: another instance's claim in progress is
    // passed over. The one-per-key rule holds across instances: a claimed
    // event stays the oldest of its key until it is delivered.
    db.transaction(Begin::Immediate, |tx| {
        let due = tx
            .query(
                &format!(
                    "SELECT {COLUMNS}, o.attempts
                     FROM event_outbox o JOIN audit_events ON id = o.event_id
                     WHERE o.next_attempt_at <= ?1
                       AND (o.claimed_until IS NULL OR o.claimed_until <= ?1)
                       AND NOT EXISTS (SELECT 1 FROM event_outbox earlier
                                       WHERE earlier.ordering_key = o.ordering_key
                                         AND earlier.event_id < o.event_id)
                     ORDER BY o.event_id LIMIT ?2{}",
                    tx.skip_locked("o")
                ),
                args![now, limit],
            )?
            .into_iter()
            .map(|row| {
                Ok(QueuedEvent {
                    event: from_row(&row)?,
                    attempts: row.get(12)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        for queued in &due {
            EVENTS.claim(tx, queued.event.id, claim_until)?;
        }
        Ok(due)
    })
}

/// The receiver took the event.
pub fn delivered(db: &Db, event_id: i64) -> Result<(), StoreError> {
    EVENTS.remove(db, event_id)
}

/// Another attempt failed; the next one is due at `next_attempt_at`.
pub fn retry_later(
    db: &Db,
    event_id: i64,
    attempts: u32,
    next_attempt_at: i64,
) -> Result<(), StoreError> {
    EVENTS.retry_later(db, event_id, attempts, next_attempt_at)
}

/// Frees every claim. Only for start-up, when the data dir lock says no
/// other gatehouse is sending.
pub fn release_claims(db: &Db) -> Result<usize, StoreError> {
    EVENTS.release_claims(db)
}

/// Events still waiting (or being sent), and the oldest one's time.
pub fn backlog(db: &Db) -> Result<Backlog, StoreError> {
    match db.query_row("SELECT count(*), min(created_at) FROM event_outbox", &[])? {
        Some(row) => Ok(Backlog {
            depth: row.get(0)?,
            oldest: row.get(1)?,
        }),
        None => Ok(Backlog::default()),
    }
}

/// Gives up the events queued before `before`; returns how many.
pub fn purge(db: &Db, before: i64) -> Result<usize, StoreError> {
    db.execute(
        "DELETE FROM event_outbox WHERE created_at < ?1",
        args![before],
    )
}
