//! A person's sign-in methods next to the SMS code as one list: their
//! authenticator apps (`credentials.rs`) and passkeys (`passkeys.rs`), each
//! with an id an operator or the person can name (an app's own id; a
//! passkey's credential id in unpadded base64url), renamed and removed
//! here for the operator's command and the person's own page alike.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::credentials;
use super::passkeys;
use super::sql::{args, Begin};
use super::{Db, StoreError};

/// Which kind of method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodKind {
    Totp,
    Passkey,
}

impl MethodKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MethodKind::Totp => "totp",
            MethodKind::Passkey => "passkey",
        }
    }
}

/// One method as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Method {
    pub id: String,
    pub kind: MethodKind,
    pub name: String,
    /// An app whose set-up was never finished: no way in.
    pub pending: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// What a removal did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed(MethodKind),
    /// No method of the person's has this id.
    NotFound,
    /// It is the person's last way in, and they must keep one.
    LastWayIn,
}

/// `subject`'s methods: apps, then passkeys, each oldest first.
pub fn of(db: &Db, subject: &str) -> Result<Vec<Method>, StoreError> {
    let apps = credentials::totp_of(db, subject)?
        .into_iter()
        .map(|app| Method {
            id: app.id,
            kind: MethodKind::Totp,
            name: app.name,
            pending: !app.confirmed,
            created_at: app.created_at,
            last_used_at: app.last_used_at,
        });
    let keys = passkeys::of(db, subject)?.into_iter().map(|key| Method {
        id: URL_SAFE_NO_PAD.encode(&key.credential_id),
        kind: MethodKind::Passkey,
        name: key.name,
        pending: false,
        created_at: key.created_at,
        last_used_at: key.last_used_at,
    });
    Ok(apps.chain(keys).collect())
}

/// Renames `subject`'s method `id`; false when they have none by that id.
pub fn rename(db: &Db, subject: &str, id: &str, name: &str) -> Result<bool, StoreError> {
    let renamed = db.execute(
        "UPDATE totp_credentials SET name = ?3 WHERE id = ?1 AND subject = ?2",
        args![id, subject, name],
    )?;
    if renamed == 1 {
        return Ok(true);
    }
    let Some(credential_id) = credential_id(id) else {
        return Ok(false);
    };
    let renamed = db.execute(
        "UPDATE passkeys SET name = ?3 WHERE credential_id = ?1 AND subject = ?2",
        args![&credential_id, subject, name],
    )?;
    Ok(renamed == 1)
}

/// Removes `subject`'s method `id`. With `keep_one`, not the last one that
/// signs in (a finished app or a passkey): checked and removed in one
/// transaction, so two removals at once cannot both pass the check.
pub fn remove(db: &Db, subject: &str, id: &str, keep_one: bool) -> Result<Removal, StoreError> {
    db.transaction(Begin::Immediate, |tx| {
        tx.lock_keys([("methods", subject)])?;
        let all = of(tx, subject)?;
        let Some(method) = all.iter().find(|m| m.id == id) else {
            return Ok(Removal::NotFound);
        };
        let others = all.iter().filter(|m| m.id != id && !m.pending).count();
        if keep_one && !method.pending && others == 0 {
            return Ok(Removal::LastWayIn);
        }
        let removed = match method.kind {
            MethodKind::Totp => credentials::remove_totp(tx, subject, id)?,
            MethodKind::Passkey => {
                let credential_id = credential_id(id).unwrap_or_default();
                passkeys::remove(tx, subject, &credential_id)?
            }
        };
        Ok(if removed {
            Removal::Removed(method.kind)
        } else {
            Removal::NotFound
        })
    })
}

/// A passkey's credential id from its listed id.
fn credential_id(id: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(id).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::credentials::TotpCredential;
    use crate::store::passkeys::StoredPasskey;
    use crate::store::Store;

    fn app(subject: &str, id: &str) -> TotpCredential {
        TotpCredential {
            id: id.into(),
            subject: subject.into(),
            name: "Authenticator app".into(),
            secret_sealed: vec![1],
            confirmed: false,
            last_step: 0,
            created_at: 1,
            last_used_at: None,
        }
    }

    fn key(subject: &str, credential_id: &[u8]) -> StoredPasskey {
        StoredPasskey {
            credential_id: credential_id.to_vec(),
            subject: subject.into(),
            user_handle: vec![0; 16],
            name: "Passkey".into(),
            passkey: "{}".into(),
            counter: 0,
            transports: "[]".into(),
            created_at: 2,
            last_used_at: None,
        }
    }

    #[tokio::test]
    async fn the_last_way_in_stays_and_another_persons_method_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite")).unwrap();
        store
            .run(|db| {
                credentials::add_totp(db, &app("alice", "app1"))?;
                db.execute(
                    "UPDATE totp_credentials SET confirmed = 1 WHERE id = 'app1'",
                    args![],
                )?;
                passkeys::add(db, &key("alice", b"k1"))?;
                passkeys::add(db, &key("bob", b"k2"))?;
                let listed = of(db, "alice")?;
                assert_eq!(listed.len(), 2);
                let k1 = URL_SAFE_NO_PAD.encode(b"k1");
                let k2 = URL_SAFE_NO_PAD.encode(b"k2");
                assert_eq!(listed[1].id, k1);
                assert!(!rename(db, "alice", &k2, "mine now")?, "Bob's");
                assert!(rename(db, "alice", &k1, "Laptop")?);
                assert_eq!(of(db, "alice")?[1].name, "Laptop");
                assert_eq!(remove(db, "alice", &k2, true)?, Removal::NotFound);
                assert_eq!(of(db, "bob")?.len(), 1, "Bob's passkey stays");
                assert_eq!(
                    remove(db, "alice", "app1", true)?,
                    Removal::Removed(MethodKind::Totp)
                );
                assert_eq!(remove(db, "alice", &k1, true)?, Removal::LastWayIn);
                assert_eq!(
                    remove(db, "alice", &k1, false)?,
                    Removal::Removed(MethodKind::Passkey)
                );
                assert_eq!(remove(db, "alice", "nope", false)?, Removal::NotFound);
                Ok(())
            })
            .await
            .unwrap();
    }
}
