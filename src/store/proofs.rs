//! The replay memory of the bot challenge: proofs of work already used.
//!
//! Whether a proof is right is `crate::signin::bot_challenge`'s business;
//! this module only remembers which challenges were spent, until they expire.

use super::sql::args;
use super::{Db, StoreError};

/// Marks the challenge `salt` (valid until `expires_at`) as used. True the
/// first time; false when it was used before: of many concurrent callers
/// exactly one gets true.
pub fn spend(db: &Db, salt: &str, expires_at: i64) -> Result<bool, StoreError> {
    let inserted = db.execute(
        "INSERT INTO spent_proofs (salt, expires_at) VALUES (?1, ?2)
         ON CONFLICT (salt) DO NOTHING",
        args![salt, expires_at],
    )?;
    Ok(inserted == 1)
}

/// Forgets the challenges that expired by `now` (they are refused as expired
/// anyway); returns how many.
pub fn purge(db: &Db, now: i64) -> Result<usize, StoreError> {
    db.execute(
        "DELETE FROM spent_proofs WHERE expires_at <= ?1",
        args![now],
    )
}
