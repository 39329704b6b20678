//! `gatehouse store copy`: the people and their sign-in methods from one
//! database to another (an appliance's SQLite file to the cluster's
//! PostgreSQL). Codes, limits, sessions, queues and the audit trail are
//! left behind: they are short-lived, or stay with the appliance's records.
//!
//! The target must hold none of what is copied: a second run, or a copy
//! into a database already in use, is refused before anything is written,
//! and the copy is one transaction (all or nothing).

use super::sql::{Begin, Row, Value};
use super::{Db, Store, StoreError};

/// The tables copied, with their columns, in the order they are written.
const COPIED: &[(&str, &str, &str)] = &[
    (
        "users",
        "people",
        "id, phone, given_name, family_name, email, email_verified, phone_verified, \
         street_address, locality, region, postal_code, country, disabled, created_at, updated_at",
    ),
    (
        "passkey_users",
        "passkey user handles",
        "subject, user_handle",
    ),
    (
        "passkeys",
        "passkeys",
        "credential_id, subject, user_handle, name, passkey, counter, transports, created_at, \
         last_used_at",
    ),
    (
        "totp_credentials",
        "authenticator apps",
        "id, subject, name, secret_sealed, confirmed, last_step, created_at, last_used_at",
    ),
    ("declined_offers", "declined offers", "subject, until"),
];

/// What is not copied, in the operator's words.
pub const LEFT_BEHIND: &str = "sign-in codes, rate limits and counters, headless sessions, \
    queued texts and events, delivery receipts, used proofs of work, sign-ins in progress and \
    the audit trail";

/// The rows read from the source, table by table.
pub struct Snapshot(Vec<(&'static str, Vec<Row>)>);

/// How many rows of each kind were copied (its words, the count).
pub type Copied = Vec<(&'static str, usize)>;

/// Reads everything [`COPIED`] names from `db`, in one transaction.
pub fn read(db: &Db) -> Result<Snapshot, StoreError> {
    db.transaction(Begin::Deferred, |tx| {
        let mut tables = Vec::new();
        for (table, _, columns) in COPIED {
            let rows = tx.query(&format!("SELECT {columns} FROM {table}"), &[])?;
            tables.push((*table, rows));
        }
        Ok(Snapshot(tables))
    })
}

/// Writes `snapshot` into `db`, refusing (writing nothing) when any table
/// it fills already has rows.
pub fn write(db: &Db, snapshot: Snapshot) -> Result<Copied, StoreError> {
    db.transaction(Begin::Immediate, |tx| {
        let mut found = Vec::new();
        for (table, words, _) in COPIED {
            let row = tx.query_row(&format!("SELECT count(*) FROM {table}"), &[])?;
            let count: i64 = row.map(|r| r.get(0)).transpose()?.unwrap_or(0);
            if count > 0 {
                found.push(format!("{count} {words}"));
            }
        }
        if !found.is_empty() {
            return Err(StoreError::Conflict(format!(
                "the target database already holds {}; `store copy` fills an empty one only \
                 (nothing was written)",
                found.join(", ")
            )));
        }
        let mut copied = Vec::new();
        for ((table, rows), (_, words, columns)) in snapshot.0.into_iter().zip(COPIED) {
            let width = columns.split(',').count();
            let placeholders: Vec<String> = (1..=width).map(|n| format!("?{n}")).collect();
            let sql = format!(
                "INSERT INTO {table} ({columns}) VALUES ({})",
                placeholders.join(", ")
            );
            for row in &rows {
                let values: &[Value] = &row.0;
                tx.execute(&sql, values)?;
            }
            copied.push((*words, rows.len()));
        }
        Ok(copied)
    })
}

/// Copies from the store `from` into the store `to` (see the module's doc).
pub async fn between(from: &Store, to: &Store) -> Result<Copied, StoreError> {
    let snapshot = from.run(|db| read(db)).await?;
    to.run(move |db| write(db, snapshot)).await
}
