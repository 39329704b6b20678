//! The memory of login and consent challenges (migration V14): when each
//! was first seen, where its client started, and its first answer. Rows are
//! keyed by the challenge's hash; `crate::signin::challenges` decides what
//! they mean.
//!
//! Several instances: first sight is `INSERT ... ON CONFLICT DO NOTHING`
//! (whichever instance sees a challenge first sets its deadline, the others
//! read it), and the first answer is kept with `COALESCE`, so a double
//! submit that reaches two instances at once still lands on one answer.
//! Single statements: no lock is held between them.

use super::sql::args;
use super::{Db, StoreError};

/// A challenge as remembered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remembered {
    pub deadline: i64,
    /// Empty when it was too long to keep.
    pub request_url: String,
    pub answer: Option<String>,
}

/// Records the challenge `key` (to be forgotten at `forget_at`) unless it
/// is known; returns its deadline (the first sight's).
pub fn seen(
    db: &Db,
    key: &str,
    request_url: &str,
    deadline: i64,
    forget_at: i64,
) -> Result<i64, StoreError> {
    db.execute(
        "INSERT INTO login_challenges (key, deadline, forget_at, request_url)
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (key) DO NOTHING",
        args![key, deadline, forget_at, request_url],
    )?;
    let row = db.query_row(
        "SELECT deadline FROM login_challenges WHERE key = ?1",
        args![key],
    )?;
    Ok(row.map(|r| r.get(0)).transpose()?.unwrap_or(deadline))
}

/// The challenge `key`, unless unknown or forgotten by `now`.
pub fn find(db: &Db, key: &str, now: i64) -> Result<Option<Remembered>, StoreError> {
    let row = db.query_row(
        "SELECT deadline, request_url, answer FROM login_challenges
         WHERE key = ?1 AND forget_at > ?2",
        args![key, now],
    )?;
    row.map(|row| {
        Ok(Remembered {
            deadline: row.get(0)?,
            request_url: row.get(1)?,
            answer: row.get(2)?,
        })
    })
    .transpose()
}

/// Keeps `answer` unless the challenge has one already, and forgets the
/// challenge by `forget_at` at the latest. Unknown challenges stay unknown.
pub fn answer(db: &Db, key: &str, answer: &str, forget_at: i64) -> Result<(), StoreError> {
    db.execute(
        "UPDATE login_challenges SET answer = COALESCE(answer, ?2),
           forget_at = CASE WHEN forget_at < ?3 THEN forget_at ELSE ?3 END
         WHERE key = ?1",
        args![key, answer, forget_at],
    )?;
    Ok(())
}

/// Removes the challenges forgotten by `now`; how many.
pub fn purge(db: &Db, now: i64) -> Result<usize, StoreError> {
    db.execute(
        "DELETE FROM login_challenges WHERE forget_at <= ?1",
        args![now],
    )
}
