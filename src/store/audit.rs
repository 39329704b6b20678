//! The audit trail (migration V9): write a row (and queue it for the
//! events receiver in the same transaction), search rows, purge old ones.
//! What goes into a row (masking, hashing, cutting) is decided in
//! `crate::signin::audit`; this module only stores it.

use super::sql::{args, Begin, Row, Value};
use super::{Db, StoreError};

/// One event as stored. Every field but the first four may be absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    pub result: String,
    pub reason: Option<String>,
    pub subject: Option<String>,
    pub phone_masked: Option<String>,
    pub client_id: Option<String>,
    pub client_address: Option<String>,
    pub user_agent: Option<String>,
    pub method: Option<String>,
    pub request_id: Option<String>,
}

/// A row to write: `row.id` is ignored (the database gives it).
pub struct NewAuditRow<'a> {
    pub row: &'a AuditRow,
    pub phone_hash: Option<&'a [u8]>,
    /// Queue the event for `[events] url`, in order with the others of
    /// this key (None: in no order).
    pub queue: Option<Option<&'a str>>,
}

/// What `gatehouse audit` asks for; every filter is optional.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub subject: Option<String>,
    pub phone_hash: Option<Vec<u8>>,
    pub client_id: Option<String>,
    /// Any of these kinds (all when empty).
    pub kinds: Vec<String>,
    /// From this unix second on, inclusive.
    pub since: Option<i64>,
    /// Before this unix second.
    pub until: Option<i64>,
    /// The newest this many (all when None).
    pub limit: Option<usize>,
}

/// The columns [`from_row`] reads, in its order (no other table that
/// joins this one has a column of these names).
pub(super) const COLUMNS: &str = "id, at, kind, result, reason, subject, phone_masked, client_id, \
     client_address, user_agent, method, request_id";

pub(super) fn from_row(row: &Row) -> Result<AuditRow, StoreError> {
    Ok(AuditRow {
        id: row.get(0)?,
        at: row.get(1)?,
        kind: row.get(2)?,
        result: row.get(3)?,
        reason: row.get(4)?,
        subject: row.get(5)?,
        phone_masked: row.get(6)?,
        client_id: row.get(7)?,
        client_address: row.get(8)?,
        user_agent: row.get(9)?,
        method: row.get(10)?,
        request_id: row.get(11)?,
    })
}

/// Writes the row (and its place in the events outbox); returns its id.
pub fn insert(db: &mut Db, new: &NewAuditRow<'_>) -> Result<i64, StoreError> {
    let row = new.row;
    db.transaction(Begin::Deferred, |tx| {
        let inserted = tx.query_row(
            "INSERT INTO audit_events (at, kind, result, reason, subject, phone_masked, phone_hash,
                                       client_id, client_address, user_agent, method, request_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             RETURNING id",
            args![
                row.at,
                &row.kind,
                &row.result,
                &row.reason,
                &row.subject,
                &row.phone_masked,
                new.phone_hash,
                &row.client_id,
                &row.client_address,
                &row.user_agent,
                &row.method,
                &row.request_id,
            ],
        )?;
        let id: i64 = inserted.map(|r| r.get(0)).transpose()?.unwrap_or_default();
        if let Some(ordering_key) = new.queue {
            tx.execute(
                "INSERT INTO event_outbox (event_id, ordering_key, created_at, next_attempt_at)
                 VALUES (?1, ?2, ?3, ?3)",
                args![id, ordering_key, row.at],
            )?;
        }
        Ok(id)
    })
}

/// The rows `filter` selects, oldest first (the newest `limit` of them).
pub fn search(db: &Db, filter: &AuditFilter) -> Result<Vec<AuditRow>, StoreError> {
    let mut conditions: Vec<String> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let mut add = |condition: &str, value: Value| {
        values.push(value);
        conditions.push(condition.replace('?', &format!("?{}", values.len())));
    };
    if let Some(subject) = &filter.subject {
        add("subject = ?", subject.into());
    }
    if let Some(hash) = &filter.phone_hash {
        add("phone_hash = ?", hash.into());
    }
    if let Some(client) = &filter.client_id {
        add("client_id = ?", client.into());
    }
    if let Some(since) = filter.since {
        add("at >= ?", since.into());
    }
    if let Some(until) = filter.until {
        add("at < ?", until.into());
    }
    let kinds: Vec<String> = filter
        .kinds
        .iter()
        .map(|kind| {
            values.push(kind.into());
            format!("?{}", values.len())
        })
        .collect();
    if !kinds.is_empty() {
        conditions.push(format!("kind IN ({})", kinds.join(", ")));
    }
    let mut sql = format!("SELECT {COLUMNS} FROM audit_events");
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    sql.push_str(" ORDER BY id DESC");
    if let Some(limit) = filter.limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    let mut rows = db
        .query(&sql, &values)?
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?;
    rows.reverse();
    Ok(rows)
}

/// Removes up to `batch` rows older than `before`; returns how many. The
/// clean-up job calls it until it returns less than `batch`, so that a
/// large backlog never holds the store's thread for long.
pub fn purge(db: &Db, before: i64, batch: usize) -> Result<usize, StoreError> {
    db.execute(
        "DELETE FROM audit_events WHERE id IN
           (SELECT id FROM audit_events WHERE at < ?1 ORDER BY at LIMIT ?2)",
        args![before, batch],
    )
}
