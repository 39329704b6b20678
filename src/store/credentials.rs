//! Sign-in methods next to the SMS code: authenticator apps (TOTP), the
//! short grant after a sign-in to set one up, and the offers declined.
//!
//! Plain SQL both SQLite and PostgreSQL accept (`ON CONFLICT`,
//! `RETURNING`), unix-second timestamps and BLOBs. The secrets arrive and
//! leave sealed: this module never sees one in clear.

use super::sql::{args, Row};
use super::{Db, StoreError};

/// An authenticator app as stored (its secret still sealed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpCredential {
    pub id: String,
    pub subject: String,
    pub name: String,
    pub secret_sealed: Vec<u8>,
    pub confirmed: bool,
    /// The last time step a code was accepted for (0: never).
    pub last_step: i64,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const TOTP_COLUMNS: &str =
    "id, subject, name, secret_sealed, confirmed, last_step, created_at, last_used_at";

fn totp_row(row: &Row) -> Result<TotpCredential, StoreError> {
    Ok(TotpCredential {
        id: row.get(0)?,
        subject: row.get(1)?,
        name: row.get(2)?,
        secret_sealed: row.get(3)?,
        confirmed: row.get(4)?,
        last_step: row.get(5)?,
        created_at: row.get(6)?,
        last_used_at: row.get(7)?,
    })
}

/// Stores a new, unconfirmed authenticator app; an earlier unconfirmed one
/// of the same person is dropped (an abandoned set-up).
pub fn add_totp(db: &Db, credential: &TotpCredential) -> Result<(), StoreError> {
    db.execute(
        "DELETE FROM totp_credentials WHERE subject = ?1 AND confirmed = 0",
        args![&credential.subject],
    )?;
    db.execute(
        "INSERT INTO totp_credentials
           (id, subject, name, secret_sealed, confirmed, last_step, created_at)
         VALUES (?1, ?2, ?3, ?4, 0, 0, ?5)",
        args![
            &credential.id,
            &credential.subject,
            &credential.name,
            &credential.secret_sealed,
            credential.created_at
        ],
    )?;
    Ok(())
}

/// `subject`'s authenticator apps, confirmed or not, oldest first.
pub fn totp_of(db: &Db, subject: &str) -> Result<Vec<TotpCredential>, StoreError> {
    let sql = format!(
        "SELECT {TOTP_COLUMNS} FROM totp_credentials WHERE subject = ?1 ORDER BY created_at, id"
    );
    db.query(&sql, args![subject])?
        .iter()
        .map(totp_row)
        .collect()
}

/// One authenticator app of `subject`'s, by id.
pub fn totp_by_id(db: &Db, subject: &str, id: &str) -> Result<Option<TotpCredential>, StoreError> {
    let sql = format!("SELECT {TOTP_COLUMNS} FROM totp_credentials WHERE id = ?1 AND subject = ?2");
    db.query_row(&sql, args![id, subject])?
        .as_ref()
        .map(totp_row)
        .transpose()
}

/// Takes time step `step` for credential `id`: true for exactly one caller,
/// and only when no code of that step or a later one was taken before (a
/// replayed code, or two sign-ins racing with the same code, find false).
/// Taking a step of an unconfirmed credential confirms it.
pub fn take_totp_step(db: &Db, id: &str, step: i64, now: i64) -> Result<bool, StoreError> {
    let changed = db.execute(
        "UPDATE totp_credentials SET last_step = ?2, last_used_at = ?3, confirmed = 1
         WHERE id = ?1 AND last_step < ?2",
        args![id, step, now],
    )?;
    Ok(changed == 1)
}

/// Removes one of `subject`'s authenticator apps; false when there was none.
pub fn remove_totp(db: &Db, subject: &str, id: &str) -> Result<bool, StoreError> {
    let removed = db.execute(
        "DELETE FROM totp_credentials WHERE id = ?1 AND subject = ?2",
        args![id, subject],
    )?;
    Ok(removed == 1)
}

/// A grant to set up a method, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolmentGrant {
    pub subject: String,
    pub continue_to: String,
    pub expires_at: i64,
}

/// Stores a grant under the hash of its token.
pub fn add_grant(db: &Db, token_hash: &[u8], grant: &EnrolmentGrant) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO enrolment_grants (token_hash, subject, continue_to, expires_at)
         VALUES (?1, ?2, ?3, ?4)",
        args![
            token_hash,
            &grant.subject,
            &grant.continue_to,
            grant.expires_at
        ],
    )?;
    Ok(())
}

/// The grant with this token hash, while it lasts.
pub fn grant(db: &Db, token_hash: &[u8], now: i64) -> Result<Option<EnrolmentGrant>, StoreError> {
    let Some(row) = db.query_row(
        "SELECT subject, continue_to, expires_at FROM enrolment_grants
         WHERE token_hash = ?1 AND expires_at > ?2",
        args![token_hash, now],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(EnrolmentGrant {
        subject: row.get(0)?,
        continue_to: row.get(1)?,
        expires_at: row.get(2)?,
    }))
}

/// Ends a grant (the person went on).
pub fn end_grant(db: &Db, token_hash: &[u8]) -> Result<(), StoreError> {
    db.execute(
        "DELETE FROM enrolment_grants WHERE token_hash = ?1",
        args![token_hash],
    )?;
    Ok(())
}

/// Notes that `subject` declined the offer until `until`.
pub fn decline_offer(db: &Db, subject: &str, until: i64) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO declined_offers (subject, until) VALUES (?1, ?2)
         ON CONFLICT (subject) DO UPDATE SET until = excluded.until",
        args![subject, until],
    )?;
    Ok(())
}

/// Whether `subject` declined the offer and that still holds at `now`.
pub fn offer_declined(db: &Db, subject: &str, now: i64) -> Result<bool, StoreError> {
    let found = db.query_row(
        "SELECT until FROM declined_offers WHERE subject = ?1 AND until > ?2",
        args![subject, now],
    )?;
    Ok(found.is_some())
}

/// Removes grants and declines that ran out, and set-ups of authenticator
/// apps abandoned before `abandoned_before`; returns the rows removed.
pub fn purge(db: &Db, now: i64, abandoned_before: i64) -> Result<usize, StoreError> {
    let grants = db.execute(
        "DELETE FROM enrolment_grants WHERE expires_at <= ?1",
        args![now],
    )?;
    let declines = db.execute("DELETE FROM declined_offers WHERE until <= ?1", args![now])?;
    let abandoned = db.execute(
        "DELETE FROM totp_credentials WHERE confirmed = 0 AND created_at < ?1",
        args![abandoned_before],
    )?;
    Ok(grants + declines + abandoned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn credential(id: &str, subject: &str) -> TotpCredential {
        TotpCredential {
            id: id.into(),
            subject: subject.into(),
            name: "Phone".into(),
            secret_sealed: vec![1, 2, 3],
            confirmed: false,
            last_step: 0,
            created_at: 100,
            last_used_at: None,
        }
    }

    #[tokio::test]
    async fn a_step_is_taken_once_and_never_an_older_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite")).unwrap();
        store
            .run(|db| {
                add_totp(db, &credential("a", "alice"))?;
                assert!(take_totp_step(db, "a", 10, 300)?, "first use");
                assert!(!take_totp_step(db, "a", 10, 301)?, "replay");
                assert!(!take_totp_step(db, "a", 9, 302)?, "older step");
                assert!(take_totp_step(db, "a", 11, 330)?, "next step");
                let stored = totp_by_id(db, "alice", "a")?.unwrap();
                assert!(stored.confirmed);
                assert_eq!((stored.last_step, stored.last_used_at), (11, Some(330)));
                assert_eq!(totp_by_id(db, "bob", "a")?, None, "another's id");
                assert!(!remove_totp(db, "bob", "a")?, "another's removal");
                assert!(remove_totp(db, "alice", "a")?);
                Ok(())
            })
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn an_abandoned_set_up_is_replaced_and_purged() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite")).unwrap();
        store
            .run(|db| {
                add_totp(db, &credential("a", "alice"))?;
                add_totp(db, &credential("b", "alice"))?;
                let ids: Vec<_> = totp_of(db, "alice")?.into_iter().map(|c| c.id).collect();
                assert_eq!(ids, ["b"]);
                assert_eq!(purge(db, 200, 101)?, 1);
                assert!(totp_of(db, "alice")?.is_empty());
                Ok(())
            })
            .await
            .unwrap();
    }
}
