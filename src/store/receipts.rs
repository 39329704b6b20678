//! What providers said about the texts they took (migration V10): a row
//! per message a provider gave an id for, matched by its delivery receipt.
//!
//! Policy (what a receipt means, which metrics count it) lives in
//! `crate::signin::otp::receipts`; this module stores and matches rows.

use super::sql::{args, Begin};
use super::{Db, StoreError};

/// A text a provider took, as the outbox hands it over.
#[derive(Debug, Clone)]
pub struct Handed {
    pub provider: &'static str,
    pub message_id: String,
    /// The number's country, as the metrics label it.
    pub country: String,
    pub sent_at: i64,
}

/// What a receipt said about a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptStatus {
    Delivered,
    Failed,
}

impl ReceiptStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptStatus::Delivered => "delivered",
            ReceiptStatus::Failed => "failed",
        }
    }
}

/// A receipt matched to its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The number's country, as stored when it was sent.
    pub country: String,
    /// False when the message already had a final status (a repeated or
    /// late receipt): nothing changed.
    pub changed: bool,
    /// The code was still unused and was withdrawn, its send refunded.
    pub refunded: bool,
}

/// Keeps `handed` with the refund of the message it carried (`tx` is about
/// to delete the message from the outbox).
pub(super) fn remember(
    tx: &Db,
    challenge_id: &str,
    refund_event_ids: &str,
    handed: &Handed,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO sms_receipts
           (provider, message_id, challenge_id, country, refund_event_ids, sent_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (provider, message_id) DO UPDATE SET
           challenge_id = excluded.challenge_id, country = excluded.country,
           refund_event_ids = excluded.refund_event_ids, sent_at = excluded.sent_at,
           status = 'sent', updated_at = NULL",
        args![
            handed.provider,
            &handed.message_id,
            challenge_id,
            &handed.country,
            refund_event_ids,
            handed.sent_at
        ],
    )?;
    Ok(())
}

/// Records `status` for the `provider`'s message `message_id`; `None` when
/// no such message is known (never sent by this gatehouse, or older than a
/// day). A first `Failed` withdraws the code if it is still unused and
/// refunds the send it counted, so the person can ask again at once.
pub fn record(
    db: &mut Db,
    provider: &str,
    message_id: &str,
    status: ReceiptStatus,
    now: i64,
) -> Result<Option<Recorded>, StoreError> {
    db.transaction(Begin::Deferred, |tx| {
        // Locked on PostgreSQL: a second receipt for the same message (a
        // provider's retry, on another instance) waits and sees this one's status.
        let row = tx.query_row(
            &format!(
                "SELECT challenge_id, country, refund_event_ids, status FROM sms_receipts
                 WHERE provider = ?1 AND message_id = ?2{}",
                tx.for_update()
            ),
            args![provider, message_id],
        )?;
        let Some(row) = row else {
            return Ok(None);
        };
        let (challenge_id, country, refund, before): (String, String, String, String) =
            (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
        if before != "sent" {
            return Ok(Some(Recorded {
                country,
                changed: false,
                refunded: false,
            }));
        }
        tx.execute(
            "UPDATE sms_receipts SET status = ?1, updated_at = ?2
             WHERE provider = ?3 AND message_id = ?4",
            args![status.as_str(), now, provider, message_id],
        )?;
        let mut refunded = false;
        if status == ReceiptStatus::Failed {
            refunded = tx.execute(
                "DELETE FROM otp_challenges WHERE id = ?1 AND consumed_at IS NULL",
                args![&challenge_id],
            )? > 0;
            if refunded {
                refund_events(tx, &refund)?;
            }
        }
        Ok(Some(Recorded {
            country,
            changed: true,
            refunded,
        }))
    })
}

/// Gives back the sends a message counted (`refund`: `rate_limits::refund_note`).
pub(super) fn refund_events(tx: &Db, refund: &str) -> Result<(), StoreError> {
    super::rate_limits::refund(tx, refund)
}

/// Forgets messages sent before `before`; how many.
pub fn purge(db: &Db, before: i64) -> Result<usize, StoreError> {
    db.execute("DELETE FROM sms_receipts WHERE sent_at < ?1", args![before])
}
