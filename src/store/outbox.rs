//! The SMS outbox: messages waiting for the gateway (migration V5).
//!
//! Policy (when to retry, when to give up) lives in
//! `crate::signin::otp::delivery`; this module only stores, claims and
//! removes rows, each change in one transaction.

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};

use super::lease::Outbox;
use super::receipts::{self, Handed};
use super::{Db, StoreError};

const SMS: Outbox = Outbox {
    table: "sms_outbox",
    key: "challenge_id",
};

/// A message a worker has claimed and is about to send.
#[derive(Debug, Clone)]
pub struct Queued {
    pub challenge_id: String,
    pub sealed: Vec<u8>,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When its code expires: the message is worthless after that.
    pub expires_at: i64,
}

/// Queues the message of a challenge that `tx` has just stored.
pub(super) fn enqueue(
    tx: &Transaction<'_>,
    challenge_id: &str,
    sealed: &[u8],
    refund_event_ids: &[i64],
    now: i64,
) -> Result<(), StoreError> {
    let refund: Vec<String> = refund_event_ids.iter().map(i64::to_string).collect();
    tx.execute(
        "INSERT INTO sms_outbox (challenge_id, sealed, refund_event_ids, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![challenge_id, sealed, refund.join(","), now],
    )?;
    Ok(())
}

/// Claims up to `limit` messages that are due, until `claim_until`, so no
/// other worker sends them meanwhile. Messages whose code was used or
/// replaced by a newer one are dropped on the way: nobody needs them.
pub fn claim_due(
    db: &mut Db,
    now: i64,
    claim_until: i64,
    limit: usize,
) -> Result<Vec<Queued>, StoreError> {
    let tx = db
        .conn
        .transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "DELETE FROM sms_outbox WHERE challenge_id IN
           (SELECT id FROM otp_challenges WHERE superseded = 1 OR consumed_at IS NOT NULL)",
        [],
    )?;
    let due = {
        let mut select = tx.prepare(
            "SELECT o.challenge_id, o.sealed, o.attempts, c.expires_at
             FROM sms_outbox o JOIN otp_challenges c ON c.id = o.challenge_id
             WHERE o.next_attempt_at <= ?1 AND (o.claimed_until IS NULL OR o.claimed_until <= ?1)
             ORDER BY o.next_attempt_at LIMIT ?2",
        )?;
        let rows = select.query_map(params![now, limit as i64], |row| {
            Ok(Queued {
                challenge_id: row.get(0)?,
                sealed: row.get(1)?,
                attempts: row.get(2)?,
                expires_at: row.get(3)?,
            })
        })?;
        rows.collect::<Result<Vec<_>, _>>()?
    };
    for message in &due {
        SMS.claim(&tx, &message.challenge_id, claim_until)?;
    }
    tx.commit()?;
    Ok(due)
}

/// The gateway took the message; with the provider's id for it
/// (`handed`), it is remembered for its delivery receipt.
pub fn delivered(
    db: &mut Db,
    challenge_id: &str,
    handed: Option<&Handed>,
) -> Result<(), StoreError> {
    let Some(handed) = handed else {
        return SMS.remove(db, &challenge_id);
    };
    let tx = db.conn.transaction()?;
    let refund: Option<String> = tx
        .query_row(
            "SELECT refund_event_ids FROM sms_outbox WHERE challenge_id = ?1",
            [challenge_id],
            |row| row.get(0),
        )
        .optional()?;
    if let Some(refund) = refund {
        receipts::remember(&tx, challenge_id, &refund, handed)?;
    }
    tx.execute(
        "DELETE FROM sms_outbox WHERE challenge_id = ?1",
        [challenge_id],
    )?;
    tx.commit()?;
    Ok(())
}

/// Another attempt failed; the next one is due at `next_attempt_at`.
pub fn retry_later(
    db: &Db,
    challenge_id: &str,
    attempts: u32,
    next_attempt_at: i64,
) -> Result<(), StoreError> {
    SMS.retry_later(db, &challenge_id, attempts, next_attempt_at)
}

/// The message will never be delivered: withdraws its code (the message goes
/// with it) and refunds the send it counted, so the person can ask again.
/// False when it was already gone.
pub fn withdraw(db: &mut Db, challenge_id: &str) -> Result<bool, StoreError> {
    let tx = db.conn.transaction()?;
    let refund: Option<String> = tx
        .query_row(
            "SELECT refund_event_ids FROM sms_outbox WHERE challenge_id = ?1",
            [challenge_id],
            |row| row.get(0),
        )
        .optional()?;
    let Some(refund) = refund else {
        return Ok(false);
    };
    tx.execute("DELETE FROM otp_challenges WHERE id = ?1", [challenge_id])?;
    tx.execute(
        "DELETE FROM sms_outbox WHERE challenge_id = ?1",
        [challenge_id],
    )?;
    for id in refund.split(',').filter_map(|id| id.parse::<i64>().ok()) {
        tx.execute("DELETE FROM rate_limit_events WHERE id = ?1", [id])?;
    }
    tx.commit()?;
    Ok(true)
}

/// Frees every claim. Only for start-up, when the data dir lock says no
/// other gatehouse is sending: what a crashed process held is due again.
pub fn release_claims(db: &Db) -> Result<usize, StoreError> {
    SMS.release_claims(db)
}

/// Messages still waiting (or being sent).
pub fn pending(db: &Db) -> Result<i64, StoreError> {
    Ok(db
        .conn
        .query_row("SELECT count(*) FROM sms_outbox", [], |row| row.get(0))?)
}
