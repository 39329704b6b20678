//! How each of Hydra's login sessions was proved: the `amr` and `acr` of
//! the sign-in that made (or last stepped up) the session, by Hydra's
//! login session id, so a remembered sign-in reports them truthfully.
//! Migration V13.

use super::sql::args;
use super::{Db, StoreError};

/// What a login session was proved with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proved {
    pub subject: String,
    /// RFC 8176 values, as a JSON list.
    pub amr: String,
    /// Empty when no level applies.
    pub acr: String,
}

/// Remembers how session `session_id` was proved, until `expires_at`
/// (a later sign-in in the same session replaces it).
pub fn remember(
    db: &Db,
    session_id: &str,
    proved: &Proved,
    expires_at: i64,
) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO login_sessions (session_id, subject, amr, acr, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (session_id) DO UPDATE
         SET subject = ?2, amr = ?3, acr = ?4, expires_at = ?5",
        args![
            session_id,
            &proved.subject,
            &proved.amr,
            &proved.acr,
            expires_at
        ],
    )?;
    Ok(())
}

/// How session `session_id` was proved, while it lasts.
pub fn find(db: &Db, session_id: &str, now: i64) -> Result<Option<Proved>, StoreError> {
    let row = db.query_row(
        "SELECT subject, amr, acr FROM login_sessions
         WHERE session_id = ?1 AND expires_at > ?2",
        args![session_id, now],
    )?;
    row.map(|row| {
        Ok(Proved {
            subject: row.get(0)?,
            amr: row.get(1)?,
            acr: row.get(2)?,
        })
    })
    .transpose()
}

/// Removes sessions past their time; returns how many.
pub fn purge(db: &Db, now: i64) -> Result<usize, StoreError> {
    db.execute(
        "DELETE FROM login_sessions WHERE expires_at <= ?1",
        args![now],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[tokio::test]
    async fn a_session_is_found_until_it_expires_and_a_later_sign_in_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite")).unwrap();
        store
            .run(|db| {
                let sms = Proved {
                    subject: "alice".into(),
                    amr: r#"["sms"]"#.into(),
                    acr: "otp".into(),
                };
                remember(db, "s1", &sms, 100)?;
                assert_eq!(find(db, "s1", 10)?, Some(sms.clone()));
                assert_eq!(find(db, "s2", 10)?, None);
                assert_eq!(find(db, "s1", 100)?, None, "expired");
                let passkey = Proved {
                    amr: r#"["hwk","user"]"#.into(),
                    acr: "phrh".into(),
                    ..sms
                };
                remember(db, "s1", &passkey, 200)?;
                assert_eq!(find(db, "s1", 150)?, Some(passkey));
                assert_eq!(purge(db, 250)?, 1);
                assert_eq!(find(db, "s1", 10)?, None);
                Ok(())
            })
            .await
            .unwrap();
    }
}
