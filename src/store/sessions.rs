//! Headless sign-in sessions (see `crate::signin::headless`): looked up by the
//! SHA-256 of the id the app holds, and used once.

use std::collections::BTreeMap;

use super::sql::args;
use super::{Db, StoreError};

/// Hydra's cookies for one flow, name -> value.
pub type Cookies = BTreeMap<String, String>;

/// A session about to be stored.
pub struct NewSession<'a> {
    pub id_hash: &'a [u8],
    pub client_id: &'a str,
    pub phone: &'a str,
    pub state: &'a str,
    pub nonce: &'a str,
    pub code_verifier: &'a str,
    pub login_challenge: &'a str,
    pub cookies: &'a Cookies,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A live session, as verification needs it.
#[derive(Debug, Clone)]
pub struct Session {
    pub client_id: String,
    pub phone: String,
    pub state: String,
    pub nonce: String,
    pub code_verifier: String,
    pub login_challenge: String,
    pub cookies: Cookies,
}

pub fn insert(db: &Db, session: &NewSession<'_>) -> Result<(), StoreError> {
    let cookies = serde_json::to_string(session.cookies)
        .map_err(|e| StoreError::Conflict(format!("cookies do not serialize: {e}")))?;
    db.execute(
        "INSERT INTO headless_sessions (id_hash, client_id, phone, state, nonce, code_verifier,
                                        login_challenge, hydra_cookies, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        args![
            session.id_hash,
            session.client_id,
            session.phone,
            session.state,
            session.nonce,
            session.code_verifier,
            session.login_challenge,
            cookies,
            session.created_at,
            session.expires_at
        ],
    )?;
    Ok(())
}

/// The session, unless it is unknown, used up or expired.
pub fn find_live(db: &Db, id_hash: &[u8], now: i64) -> Result<Option<Session>, StoreError> {
    let Some(row) = db.query_row(
        "SELECT client_id, phone, state, nonce, code_verifier, login_challenge,
                hydra_cookies
         FROM headless_sessions
         WHERE id_hash = ?1 AND consumed_at IS NULL AND expires_at > ?2",
        args![id_hash, now],
    )?
    else {
        return Ok(None);
    };
    let cookies: String = row.get(6)?;
    let cookies = serde_json::from_str(&cookies)
        .map_err(|e| StoreError::Decode(format!("headless_sessions.hydra_cookies: {e}")))?;
    Ok(Some(Session {
        client_id: row.get(0)?,
        phone: row.get(1)?,
        state: row.get(2)?,
        nonce: row.get(3)?,
        code_verifier: row.get(4)?,
        login_challenge: row.get(5)?,
        cookies,
    }))
}

/// Uses a live session up in one statement: of many concurrent callers
/// exactly one gets `true`.
pub fn consume(db: &Db, id_hash: &[u8], now: i64) -> Result<bool, StoreError> {
    let changed = db.execute(
        "UPDATE headless_sessions SET consumed_at = ?2
         WHERE id_hash = ?1 AND consumed_at IS NULL AND expires_at > ?2",
        args![id_hash, now],
    )?;
    Ok(changed == 1)
}

/// Deletes sessions that can no longer be used; returns how many.
pub fn purge(db: &Db, now: i64) -> Result<usize, StoreError> {
    db.execute(
        "DELETE FROM headless_sessions WHERE expires_at <= ?1 OR consumed_at IS NOT NULL",
        args![now],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn session<'a>(id_hash: &'a [u8], cookies: &'a Cookies, expires_at: i64) -> NewSession<'a> {
        NewSession {
            id_hash,
            client_id: "app",
            phone: "+12015550123",
            state: "st",
            nonce: "no",
            code_verifier: "ve",
            login_challenge: "ch",
            cookies,
            created_at: 100,
            expires_at,
        }
    }

    #[test]
    fn sessions_are_found_used_once_and_purged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.sqlite");
        let _migrated = Store::open(&path).unwrap();
        let conn = Db::sqlite(rusqlite::Connection::open(&path).unwrap());
        let cookies = Cookies::from([("ory_hydra_login_csrf".into(), "v=1".into())]);
        insert(&conn, &session(b"live", &cookies, 200)).unwrap();
        insert(&conn, &session(b"used", &cookies, 200)).unwrap();
        insert(&conn, &session(b"old", &cookies, 150)).unwrap();

        let found = find_live(&conn, b"live", 120).unwrap().expect("live");
        assert_eq!(found.cookies, cookies);
        assert_eq!(found.login_challenge, "ch");
        assert!(find_live(&conn, b"nope", 120).unwrap().is_none());
        assert!(find_live(&conn, b"old", 150).unwrap().is_none(), "expired");

        assert!(consume(&conn, b"used", 120).unwrap());
        assert!(!consume(&conn, b"used", 121).unwrap(), "only once");
        assert!(find_live(&conn, b"used", 121).unwrap().is_none());
        assert!(!consume(&conn, b"old", 160).unwrap(), "expired");

        assert_eq!(
            purge(&conn, 160).unwrap(),
            2,
            "the used and the expired one"
        );
        assert!(find_live(&conn, b"live", 160).unwrap().is_some());
    }
}
