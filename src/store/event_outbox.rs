//! The events outbox (migration V9): audit events waiting for
//! `[events] url`, queued by `audit::insert` with their rows. Like the SMS outbox (`outbox.rs`): claimed with a lease,
//! retried later, claims released at start-up. Unlike it, events of one
//! ordering key go one at a time, oldest first: only the oldest waiting
//! event of a key can be claimed. Policy (backoff, giving up) lives in
//! `crate::signin::audit::events`.

use rusqlite::{params, TransactionBehavior};

use super::audit::{from_row, AuditRow, COLUMNS};
use super::lease::Outbox;
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
    let tx = db
        .conn
        .transaction_with_behavior(TransactionBehavior::Immediate)?;
    let due = {
        let mut select = tx.prepare(&format!(
            "SELECT {COLUMNS}, o.attempts
             FROM event_outbox o JOIN audit_events ON id = o.event_id
             WHERE o.next_attempt_at <= ?1
               AND (o.claimed_until IS NULL OR o.claimed_until <= ?1)
               AND NOT EXISTS (SELECT 1 FROM event_outbox earlier
                               WHERE earlier.ordering_key = o.ordering_key
                                 AND earlier.event_id < o.event_id)
             ORDER BY o.event_id LIMIT ?2"
        ))?;
        let rows = select.query_map(params![now, limit as i64], |row| {
            Ok(QueuedEvent {
                event: from_row(row)?,
                attempts: row.get(12)?,
            })
        })?;
        rows.collect::<Result<Vec<_>, _>>()?
    };
    for queued in &due {
        EVENTS.claim(&tx, &queued.event.id, claim_until)?;
    }
    tx.commit()?;
    Ok(due)
}

/// The receiver took the event.
pub fn delivered(db: &Db, event_id: i64) -> Result<(), StoreError> {
    EVENTS.remove(db, &event_id)
}

/// Another attempt failed; the next one is due at `next_attempt_at`.
pub fn retry_later(
    db: &Db,
    event_id: i64,
    attempts: u32,
    next_attempt_at: i64,
) -> Result<(), StoreError> {
    EVENTS.retry_later(db, &event_id, attempts, next_attempt_at)
}

/// Frees every claim. Only for start-up, when the data dir lock says no
/// other gatehouse is sending.
pub fn release_claims(db: &Db) -> Result<usize, StoreError> {
    EVENTS.release_claims(db)
}

/// Events still waiting (or being sent), and the oldest one's time.
pub fn backlog(db: &Db) -> Result<Backlog, StoreError> {
    Ok(db.conn.query_row(
        "SELECT count(*), min(created_at) FROM event_outbox",
        [],
        |row| {
            Ok(Backlog {
                depth: row.get(0)?,
                oldest: row.get(1)?,
            })
        },
    )?)
}

/// Gives up the events queued before `before`; returns how many.
pub fn purge(db: &Db, before: i64) -> Result<usize, StoreError> {
    Ok(db
        .conn
        .execute("DELETE FROM event_outbox WHERE created_at < ?1", [before])?)
}
