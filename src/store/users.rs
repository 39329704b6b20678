//! The users table: the people gatehouse signs in.

use serde::Serialize;

use super::sql::{args, Begin, Row};
use super::{Db, StoreError};
use crate::domain::PhoneNumber;

/// A stored user. `id` is the stable, opaque OIDC subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: String,
    pub phone: String,
    #[serde(flatten)]
    pub profile: Profile,
    pub phone_verified: bool,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a user tells about themselves; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Profile {
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub street_address: Option<String>,
    pub locality: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

/// What an upsert did, for import reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created,
    Updated,
    Unchanged,
}

const COLUMNS: &str = "id, phone, given_name, family_name, email, email_verified, phone_verified, \
     street_address, locality, region, postal_code, country, disabled, created_at, updated_at";

fn from_row(row: &Row) -> Result<User, StoreError> {
    Ok(User {
        id: row.get(0)?,
        phone: row.get(1)?,
        profile: Profile {
            given_name: row.get(2)?,
            family_name: row.get(3)?,
            email: row.get(4)?,
            email_verified: row.get(5)?,
            street_address: row.get(7)?,
            locality: row.get(8)?,
            region: row.get(9)?,
            postal_code: row.get(10)?,
            country: row.get(11)?,
        },
        phone_verified: row.get(6)?,
        disabled: row.get(12)?,
        created_at: row.get(13)?,
        updated_at: row.get(14)?,
    })
}

/// A new opaque user id: 128 random bits.
fn new_user_id() -> String {
    crate::infra::random::random_hex(16)
}

pub fn find_by_phone(db: &Db, phone: &PhoneNumber) -> Result<Option<User>, StoreError> {
    phone_user(db, phone)
}

pub fn find_by_id(db: &Db, id: &str) -> Result<Option<User>, StoreError> {
    id_user(db, id)
}

/// Creates a user; fails with [`StoreError::Conflict`] when the phone is taken.
pub fn insert(
    db: &Db,
    phone: &PhoneNumber,
    profile: &Profile,
    phone_verified: bool,
    now: i64,
) -> Result<User, StoreError> {
    insert_user(db, phone, profile, phone_verified, now)
}

// The three above on a connection or a transaction, for the operations
// here that combine them.

fn phone_user(conn: &Db, phone: &PhoneNumber) -> Result<Option<User>, StoreError> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM users WHERE phone = ?1"),
        args![phone.as_str()],
    )?
    .map(|row| from_row(&row))
    .transpose()
}

fn id_user(conn: &Db, id: &str) -> Result<Option<User>, StoreError> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM users WHERE id = ?1"),
        args![id],
    )?
    .map(|row| from_row(&row))
    .transpose()
}

/// Looks a user up by id, or by phone number when `key` parses as one.
pub fn find_by_id_or_phone(db: &Db, key: &str) -> Result<Option<User>, StoreError> {
    if let Some(user) = find_by_id(db, key)? {
        return Ok(Some(user));
    }
    match PhoneNumber::parse(key, None) {
        Ok(phone) => find_by_phone(db, &phone),
        Err(_) => Ok(None),
    }
}

pub fn list(db: &Db) -> Result<Vec<User>, StoreError> {
    db.query(
        &format!("SELECT {COLUMNS} FROM users ORDER BY created_at, id"),
        &[],
    )?
    .iter()
    .map(from_row)
    .collect()
}

fn insert_user(
    conn: &Db,
    phone: &PhoneNumber,
    profile: &Profile,
    phone_verified: bool,
    now: i64,
) -> Result<User, StoreError> {
    let id = new_user_id();
    let inserted = conn.execute(
        "INSERT INTO users (id, phone, given_name, family_name, email, email_verified, phone_verified,
                            street_address, locality, region, postal_code, country, disabled,
                            created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 0, ?13, ?13)
         ON CONFLICT (phone) DO NOTHING",
        args![
            &id,
            phone.as_str(),
            &profile.given_name,
            &profile.family_name,
            &profile.email,
            profile.email_verified,
            phone_verified,
            &profile.street_address,
            &profile.locality,
            &profile.region,
            &profile.postal_code,
            &profile.country,
            now
        ],
    )?;
    if inserted == 0 {
        return Err(StoreError::Conflict(format!(
            "a user with phone {phone} already exists"
        )));
    }
    id_user(conn, &id)?.ok_or_else(|| StoreError::Conflict("user vanished".into()))
}

/// The user with this phone, created on the spot if there is none (sign-up
/// on first verified login). Safe against two concurrent first logins.
pub fn find_or_create(db: &Db, phone: &PhoneNumber, now: i64) -> Result<User, StoreError> {
    if let Some(user) = find_by_phone(db, phone)? {
        return Ok(user);
    }
    match insert(db, phone, &Profile::default(), true, now) {
        Ok(user) => Ok(user),
        // Lost a race with another first login: theirs is the user.
        Err(StoreError::Conflict(_)) => {
            find_by_phone(db, phone)?.ok_or_else(|| StoreError::Conflict("user vanished".into()))
        }
        Err(e) => Err(e),
    }
}

/// Marks the phone as verified (it just received and returned a code).
pub fn mark_phone_verified(db: &Db, id: &str, now: i64) -> Result<(), StoreError> {
    db.execute(
        "UPDATE users SET phone_verified = 1, updated_at = ?2 WHERE id = ?1 AND phone_verified = 0",
        args![id, now],
    )?;
    Ok(())
}

/// Creates the user or brings their profile to `profile`; touches nothing
/// when it already matches, so re-importing a file changes nothing.
pub fn upsert_profile(
    db: &mut Db,
    phone: &PhoneNumber,
    profile: &Profile,
    now: i64,
) -> Result<Upserted, StoreError> {
    db.transaction(Begin::Immediate, |tx| {
        // Two imports of the same number on two instances: one at a time.
        tx.lock_keys([("user", phone.as_str())])?;
        let outcome = match phone_user(tx, phone)? {
            None => {
                insert_user(tx, phone, profile, false, now)?;
                Upserted::Created
            }
            Some(user) if user.profile == *profile => Upserted::Unchanged,
            Some(user) => {
                tx.execute(
                    "UPDATE users SET given_name = ?2, family_name = ?3, email = ?4,
                            email_verified = ?5, street_address = ?6, locality = ?7, region = ?8,
                            postal_code = ?9, country = ?10, updated_at = ?11
                     WHERE id = ?1",
                    args![
                        &user.id,
                        &profile.given_name,
                        &profile.family_name,
                        &profile.email,
                        profile.email_verified,
                        &profile.street_address,
                        &profile.locality,
                        &profile.region,
                        &profile.postal_code,
                        &profile.country,
                        now
                    ],
                )?;
                Upserted::Updated
            }
        };
        Ok(outcome)
    })
}

/// Disables or re-enables a user; returns false when there is no such user.
pub fn set_disabled(db: &Db, id: &str, disabled: bool, now: i64) -> Result<bool, StoreError> {
    let changed = db.execute(
        "UPDATE users SET disabled = ?2, updated_at = ?3 WHERE id = ?1",
        args![id, disabled, now],
    )?;
    Ok(changed == 1)
}
