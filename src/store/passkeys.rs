//! Passkeys (WebAuthn): each person's random user handle, their passkeys
//! (webauthn-rs's `Passkey` as JSON, with its counter), and the ceremonies
//! in progress, each used once.
//!
//! Plain SQL both SQLite and PostgreSQL accept (`ON CONFLICT`,
//! `RETURNING`), unix-second timestamps and BLOBs.

use super::sql::{args, Row};
use super::{Db, StoreError};

/// A stored passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPasskey {
    pub credential_id: Vec<u8>,
    pub subject: String,
    pub user_handle: Vec<u8>,
    pub name: String,
    /// webauthn-rs's `Passkey`, as JSON.
    pub passkey: String,
    pub counter: u32,
    /// JSON list of transports ("internal", "usb", "hybrid" ...).
    pub transports: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const COLUMNS: &str = "credential_id, subject, user_handle, name, passkey, counter, transports, \
                       created_at, last_used_at";

fn row(row: &Row) -> Result<StoredPasskey, StoreError> {
    Ok(StoredPasskey {
        credential_id: row.get(0)?,
        subject: row.get(1)?,
        user_handle: row.get(2)?,
        name: row.get(3)?,
        passkey: row.get(4)?,
        counter: row.get(5)?,
        transports: row.get(6)?,
        created_at: row.get(7)?,
        last_used_at: row.get(8)?,
    })
}

/// `subject`'s user handle: `fresh` the first time, the stored one after.
pub fn user_handle(db: &Db, subject: &str, fresh: &[u8]) -> Result<Vec<u8>, StoreError> {
    db.execute(
        "INSERT INTO passkey_users (subject, user_handle) VALUES (?1, ?2)
         ON CONFLICT (subject) DO NOTHING",
        args![subject, fresh],
    )?;
    let row = db.query_row(
        "SELECT user_handle FROM passkey_users WHERE subject = ?1",
        args![subject],
    )?;
    row.ok_or_else(|| StoreError::Conflict(format!("no user handle for {subject}")))?
        .get(0)
}

/// Stores a new passkey; false when its credential id is known already
/// (to anyone: a credential is registered once).
pub fn add(db: &Db, passkey: &StoredPasskey) -> Result<bool, StoreError> {
    let added = db.execute(
        "INSERT INTO passkeys (credential_id, subject, user_handle, name, passkey, counter,
                               transports, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (credential_id) DO NOTHING",
        args![
            &passkey.credential_id,
            &passkey.subject,
            &passkey.user_handle,
            &passkey.name,
            &passkey.passkey,
            passkey.counter,
            &passkey.transports,
            passkey.created_at
        ],
    )?;
    Ok(added == 1)
}

/// The passkey with this credential id, whoever's it is.
pub fn by_credential_id(
    db: &Db,
    credential_id: &[u8],
) -> Result<Option<StoredPasskey>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM passkeys WHERE credential_id = ?1");
    db.query_row(&sql, args![credential_id])?
        .as_ref()
        .map(row)
        .transpose()
}

/// `subject`'s passkeys, oldest first.
pub fn of(db: &Db, subject: &str) -> Result<Vec<StoredPasskey>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM passkeys WHERE subject = ?1 ORDER BY created_at, credential_id"
    );
    db.query(&sql, args![subject])?.iter().map(row).collect()
}

/// Records a sign-in with the passkey: its new state and counter. Only
/// from the counter it was checked against (`checked_counter`): of two
/// sign-ins racing with one passkey, the second finds it moved and gets
/// false.
pub fn used(
    db: &Db,
    credential_id: &[u8],
    checked_counter: u32,
    passkey: &str,
    counter: u32,
    now: i64,
) -> Result<bool, StoreError> {
    let changed = db.execute(
        "UPDATE passkeys SET passkey = ?3, counter = ?4, last_used_at = ?5
         WHERE credential_id = ?1 AND counter = ?2",
        args![credential_id, checked_counter, passkey, counter, now],
    )?;
    Ok(changed == 1)
}

/// Removes one of `subject`'s passkeys; false when there was none.
pub fn remove(db: &Db, subject: &str, credential_id: &[u8]) -> Result<bool, StoreError> {
    let removed = db.execute(
        "DELETE FROM passkeys WHERE credential_id = ?1 AND subject = ?2",
        args![credential_id, subject],
    )?;
    Ok(removed == 1)
}

/// Stores a ceremony's state until `expires_at`.
pub fn begin_ceremony(
    db: &Db,
    id: &str,
    kind: &str,
    binding: &str,
    state: &str,
    expires_at: i64,
) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO webauthn_ceremonies (id, kind, binding, state, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        args![id, kind, binding, state, expires_at],
    )?;
    Ok(())
}

/// Takes a ceremony's state, once: of concurrent callers one gets it, and
/// only for its own kind and binding while it lasts.
pub fn take_ceremony(
    db: &Db,
    id: &str,
    kind: &str,
    binding: &str,
    now: i64,
) -> Result<Option<String>, StoreError> {
    db.query_row(
        "DELETE FROM webauthn_ceremonies
         WHERE id = ?1 AND kind = ?2 AND binding = ?3 AND expires_at > ?4
         RETURNING state",
        args![id, kind, binding, now],
    )?
    .map(|row| row.get(0))
    .transpose()
}

/// Removes ceremonies that ran out; returns how many.
pub fn purge(db: &Db, now: i64) -> Result<usize, StoreError> {
    db.execute(
        "DELETE FROM webauthn_ceremonies WHERE expires_at <= ?1",
        args![now],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[tokio::test]
    async fn a_ceremony_is_taken_once_by_its_own_binding() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite")).unwrap();
        store
            .run(|db| {
                begin_ceremony(db, "c1", "sign_in", "challenge-a", "{}", 100)?;
                assert_eq!(take_ceremony(db, "c1", "sign_in", "challenge-b", 10)?, None);
                assert_eq!(
                    take_ceremony(db, "c1", "register", "challenge-a", 10)?,
                    None
                );
                assert_eq!(
                    take_ceremony(db, "c1", "sign_in", "challenge-a", 10)?.as_deref(),
                    Some("{}")
                );
                assert_eq!(
                    take_ceremony(db, "c1", "sign_in", "challenge-a", 10)?,
                    None,
                    "once"
                );
                begin_ceremony(db, "c2", "sign_in", "x", "{}", 100)?;
                assert_eq!(
                    take_ceremony(db, "c2", "sign_in", "x", 100)?,
                    None,
                    "expired"
                );
                assert_eq!(user_handle(db, "alice", b"first")?, b"first");
                assert_eq!(user_handle(db, "alice", b"second")?, b"first", "kept");
                Ok(())
            })
            .await
            .unwrap();
    }
}
