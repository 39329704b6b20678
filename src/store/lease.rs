//! What both outboxes do alike (`outbox.rs`: text messages for the SMS
//! gateway; `event_outbox.rs`: audit events for `[events] url`): a row is
//! claimed with a lease while a worker sends it, put back with the time of
//! its next attempt, removed once delivered, and every claim is freed at
//! start-up.

use super::sql::{args, Engine, Value};
use super::{Db, StoreError};

/// An outbox table and its key column (both written in code, never input).
pub(super) struct Outbox {
    pub table: &'static str,
    pub key: &'static str,
}

impl Outbox {
    /// Leases the row of `key` until `claim_until` (unix seconds).
    pub(super) fn claim(
        &self,
        conn: &Db,
        key: impl Into<Value>,
        claim_until: i64,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE {} SET claimed_until = ?1 WHERE {} = ?2",
            self.table, self.key
        );
        conn.execute(&sql, args![claim_until, key.into()])?;
        Ok(())
    }

    /// The row was delivered (or is of no use any more).
    pub(super) fn remove(&self, db: &Db, key: impl Into<Value>) -> Result<(), StoreError> {
        let sql = format!("DELETE FROM {} WHERE {} = ?1", self.table, self.key);
        db.execute(&sql, args![key.into()])?;
        Ok(())
    }

    /// Another attempt failed; the next one is due at `next_attempt_at`.
    pub(super) fn retry_later(
        &self,
        db: &Db,
        key: impl Into<Value>,
        attempts: u32,
        next_attempt_at: i64,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE {} SET attempts = ?1, next_attempt_at = ?2, claimed_until = NULL
             WHERE {} = ?3",
            self.table, self.key
        );
        db.execute(&sql, args![attempts, next_attempt_at, key.into()])?;
        Ok(())
    }

    /// Frees every claim. Only for start-up, when the data dir lock says no
    /// other gatehouse is sending: what a crashed process held is due again.
    /// Never on PostgreSQL, where other instances may hold live claims.
    pub(super) fn release_claims(&self, db: &Db) -> Result<usize, StoreError> {
        if db.engine() == Engine::Postgres {
            return Ok(0);
        }
        let sql = format!(
            "UPDATE {} SET claimed_until = NULL WHERE claimed_until IS NOT NULL",
            self.table
        );
        db.execute(&sql, &[])
    }
}
