//! The SMS outbox: messages waiting for the gateway (migration V5).
//!
//! Policy (when to retry, when to give up) lives in
//! `crate::signin::otp::delivery`; this module only stores, claims and
//! removes rows, each change in one transaction.

use super::lease::Outbox;
use super::receipts::{self, Handed};
use super::sql::{args, Begin};
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

/// Queues the message of a challenge that `tx` has just stored, with what
/// to refund if it is never delivered (`rate_limits::refund_note`); claimed
/// until `claimed_until` when it is handed to this process's worker at once.
pub(super) fn enqueue(
    tx: &Db,
    challenge_id: &str,
    sealed: &[u8],
    refund: &str,
    now: i64,
    claimed_until: Option<i64>,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO sms_outbox (challenge_id, sealed, refund_event_ids, next_attempt_at, claimed_until)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        args![challenge_id, sealed, refund, now, claimed_until],
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
    // On PostgreSQL, rows another instance is claiming at this moment are
    // skipped (SKIP LOCKED), and the claim is written before the row locks
    // go: each message goes to one worker of one instance.
    db.transaction(Begin::Immediate, |tx| {
        // From the outbox's few rows to their codes by key: the plain
        // `IN (SELECT id FROM otp_challenges WHERE ...)` read every code.
        tx.execute(
            "DELETE FROM sms_outbox WHERE EXISTS (SELECT 1 FROM otp_challenges c
               WHERE c.id = sms_outbox.challenge_id
                 AND (c.superseded = 1 OR c.consumed_at IS NOT NULL))",
            &[],
        )?;
        let due = tx
            .query(
                &format!(
                    "SELECT o.challenge_id, o.sealed, o.attempts, c.expires_at
                     FROM sms_outbox o JOIN otp_challenges c ON c.id = o.challenge_id
                     WHERE o.next_attempt_at <= ?1
                       AND (o.claimed_until IS NULL OR o.claimed_until <= ?1)
                     ORDER BY o.next_attempt_at LIMIT ?2{}",
                    tx.skip_locked("o")
                ),
                args![now, limit],
            )?
            .into_iter()
            .map(|row| {
                Ok(Queued {
                    challenge_id: row.get(0)?,
                    sealed: row.get(1)?,
                    attempts: row.get(2)?,
                    expires_at: row.get(3)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        for message in &due {
            SMS.claim(tx, &message.challenge_id, claim_until)?;
        }
        Ok(due)
    })
}

/// The gateway took the message; with the provider's id for it
/// (`handed`), it is remembered for its delivery receipt.
pub fn delivered(
    db: &mut Db,
    challenge_id: &str,
    handed: Option<&Handed>,
) -> Result<(), StoreError> {
    let Some(handed) = handed else {
        return SMS.remove(db, challenge_id);
    };
    db.transaction(Begin::Deferred, |tx| {
        if let Some(refund) = refund_of(tx, challenge_id)? {
            receipts::remember(tx, challenge_id, &refund, handed)?;
        }
        tx.execute(
            "DELETE FROM sms_outbox WHERE challenge_id = ?1",
            args![challenge_id],
        )?;
        Ok(())
    })
}

/// Another attempt failed; the next one is due at `next_attempt_at`.
pub fn retry_later(
    db: &Db,
    challenge_id: &str,
    attempts: u32,
    next_attempt_at: i64,
) -> Result<(), StoreError> {
    SMS.retry_later(db, challenge_id, attempts, next_attempt_at)
}

/// The message will never be delivered: withdraws its code (the message goes
/// with it) and refunds the send it counted, so the person can ask again.
/// False when it was already gone.
pub fn withdraw(db: &mut Db, challenge_id: &str) -> Result<bool, StoreError> {
    db.transaction(Begin::Deferred, |tx| {
        let Some(refund) = refund_of(tx, challenge_id)? else {
            return Ok(false);
        };
        tx.execute(
            "DELETE FROM otp_challenges WHERE id = ?1",
            args![challenge_id],
        )?;
        tx.execute(
            "DELETE FROM sms_outbox WHERE challenge_id = ?1",
            args![challenge_id],
        )?;
        receipts::refund_events(tx, &refund)?;
        Ok(true)
    })
}

/// The rate-limit rows a queued message counted, its row locked on
/// PostgreSQL until the transaction ends (a concurrent withdrawal or
/// delivery waits, then finds it gone); None when it is gone.
fn refund_of(tx: &Db, challenge_id: &str) -> Result<Option<String>, StoreError> {
    tx.query_row(
        &format!(
            "SELECT refund_event_ids FROM sms_outbox WHERE challenge_id = ?1{}",
            tx.for_update()
        ),
        args![challenge_id],
    )?
    .map(|row| row.get(0))
    .transpose()
}

/// Frees every claim. Only for start-up, when the data dir lock says no
/// other gatehouse is sending: what a crashed process held is due again.
/// On PostgreSQL other instances may be sending: nothing is freed there,
/// and what a crashed instance held is due again when its lease ends.
pub fn release_claims(db: &Db) -> Result<usize, StoreError> {
    SMS.release_claims(db)
}

/// Messages still waiting (or being sent).
pub fn pending(db: &Db) -> Result<i64, StoreError> {
    db.query_row("SELECT count(*) FROM sms_outbox", &[])?
        .map_or(Ok(0), |row| row.get(0))
}
