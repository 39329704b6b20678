//! The engine-neutral SQL layer every store module speaks: statements in
//! the subset SQLite and PostgreSQL both accept (`?N` placeholders,
//! `ON CONFLICT`, `RETURNING`), parameters and rows as [`Value`]s, and a
//! transaction that rolls back unless its work succeeds. `sqlite.rs` and
//! `postgres.rs` (in `sql/`) are the two engines behind it; nothing above
//! `store/` sees either.
//!
//! What the engines do differently is said here once, by name:
//! [`Db::lock_keys`] (PostgreSQL serializes by advisory locks what SQLite's
//! single writer serializes anyway), [`Db::for_update`] and
//! [`Db::skip_locked`] (row locks, which SQLite neither has nor needs).

use std::cell::Cell;
use std::time::Duration;

use super::StoreError;

pub(super) mod postgres;
mod sqlite;

pub(super) use postgres::PgConn;

/// A parameter or a column's value, whatever the engine. Booleans are
/// integers 0 and 1 in both (the schema's columns are integers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

macro_rules! value_from {
    ($($t:ty => |$v:ident| $e:expr),* $(,)?) => {
        $(impl From<$t> for Value {
            fn from($v: $t) -> Value {
                $e
            }
        })*
    };
}

value_from! {
    i64 => |v| Value::Int(v),
    u32 => |v| Value::Int(i64::from(v)),
    bool => |v| Value::Int(i64::from(v)),
    &str => |v| Value::Text(v.to_string()),
    String => |v| Value::Text(v),
    &String => |v| Value::Text(v.clone()),
    &[u8] => |v| Value::Blob(v.to_vec()),
    &Vec<u8> => |v| Value::Blob(v.clone()),
}

impl From<usize> for Value {
    fn from(v: usize) -> Value {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

impl From<&Option<String>> for Value {
    fn from(v: &Option<String>) -> Value {
        v.as_deref().into()
    }
}

/// `args![a, b, c]`: the parameters of a statement, as [`Value`]s.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        &[$($crate::store::sql::Value::from($value)),*][..]
    };
}
pub(super) use args;

/// One row of an answer, its columns in the statement's order.
#[derive(Debug, Clone)]
pub struct Row(pub(super) Vec<Value>);

impl Row {
    /// Column `index` as a `T`; a type the column cannot be is an error,
    /// never a panic.
    pub fn get<T: FromValue>(&self, index: usize) -> Result<T, StoreError> {
        let value = self.0.get(index).unwrap_or(&Value::Null);
        T::from_value(value).ok_or_else(|| {
            StoreError::Decode(format!("column {index} cannot be read from {value:?}"))
        })
    }
}

/// A Rust type a column's [`Value`] can be read as.
pub trait FromValue: Sized {
    fn from_value(value: &Value) -> Option<Self>;
}

impl FromValue for i64 {
    fn from_value(value: &Value) -> Option<i64> {
        match value {
            Value::Int(v) => Some(*v),
            _ => None,
        }
    }
}

impl FromValue for u32 {
    fn from_value(value: &Value) -> Option<u32> {
        i64::from_value(value).and_then(|v| u32::try_from(v).ok())
    }
}

impl FromValue for bool {
    fn from_value(value: &Value) -> Option<bool> {
        i64::from_value(value).map(|v| v != 0)
    }
}

impl FromValue for String {
    fn from_value(value: &Value) -> Option<String> {
        match value {
            Value::Text(v) => Some(v.clone()),
            _ => None,
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: &Value) -> Option<Vec<u8>> {
        match value {
            Value::Blob(v) => Some(v.clone()),
            _ => None,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Option<Option<T>> {
        match value {
            Value::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// Which engine a [`Db`] speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// How a transaction starts on SQLite. `Immediate` takes the write lock
/// first, so a transaction that reads to decide what to write cannot be
/// overtaken; on PostgreSQL both are `BEGIN` (read committed), and what
/// must not be overtaken takes [`Db::lock_keys`] or [`Db::for_update`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    Deferred,
    Immediate,
}

/// The database as the store's thread lends it to one piece of work. Its
/// connection is private to `store/`: the layers above call the operations
/// the store's modules name (`codes::consume`, `users::find_by_phone`, ...)
/// and never see SQL or an engine.
pub struct Db {
    pub(super) conn: Conn,
    /// Transactions open on the connection: a transaction begun inside
    /// another (a call's inside the store thread's group commit, or one
    /// operation's inside another's) is a savepoint of it.
    nesting: Cell<u32>,
    /// The SQLite busy timeout last set here (none yet: the connection's own).
    lock_wait: Cell<Option<Duration>>,
}

pub(super) enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(PgConn),
}

impl Db {
    pub(super) fn sqlite(conn: rusqlite::Connection) -> Db {
        Db::on(Conn::Sqlite(conn))
    }

    pub(super) fn postgres(conn: PgConn) -> Db {
        Db::on(Conn::Postgres(conn))
    }

    fn on(conn: Conn) -> Db {
        Db {
            conn,
            nesting: Cell::new(0),
            lock_wait: Cell::new(None),
        }
    }

    /// How long a statement waits for a lock another process holds (SQLite's
    /// busy timeout; PostgreSQL's waits are bounded by its `lock_timeout`).
    pub(super) fn wait_for_locks(&self, patience: Duration) -> Result<(), StoreError> {
        let Conn::Sqlite(conn) = &self.conn else {
            return Ok(());
        };
        if self.lock_wait.get() != Some(patience) {
            conn.busy_timeout(patience)?;
            self.lock_wait.set(Some(patience));
        }
        Ok(())
    }

    pub fn engine(&self) -> Engine {
        match self.conn {
            Conn::Sqlite(_) => Engine::Sqlite,
            Conn::Postgres(_) => Engine::Postgres,
        }
    }

    /// Runs a statement; returns the rows it changed.
    pub(super) fn execute(&self, sql: &str, params: &[Value]) -> Result<usize, StoreError> {
        match &self.conn {
            Conn::Sqlite(conn) => sqlite::execute(conn, sql, params),
            Conn::Postgres(conn) => conn.execute(sql, params),
        }
    }

    /// Every row a statement answers.
    pub(super) fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        match &self.conn {
            Conn::Sqlite(conn) => sqlite::query(conn, sql, params),
            Conn::Postgres(conn) => conn.query(sql, params),
        }
    }

    /// The first row a statement answers, if any.
    pub(super) fn query_row(&self, sql: &str, params: &[Value]) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// Runs `work` in a transaction: committed when it returns `Ok`, rolled
    /// back when it returns an error or panics. Inside another transaction
    /// it is a savepoint: its work is undone alone, and kept when the outer
    /// one commits.
    pub(super) fn transaction<T>(
        &self,
        begin: Begin,
        work: impl FnOnce(&Db) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let open = self.begin(begin)?;
        let result = work(self)?;
        open.commit()?;
        Ok(result)
    }

    /// Opens a transaction (a savepoint when one is open already), rolled
    /// back unless [`Open::commit`] is called.
    fn begin(&self, begin: Begin) -> Result<Open<'_>, StoreError> {
        Ok(Open {
            db: self,
            nested: self.enter(begin)?,
            done: false,
        })
    }

    /// Opens a transaction, or a savepoint when one is open already (then
    /// true), for work that [`Db::leave`] ends: the guard-free form, for
    /// the store thread's group commit, which lends the database mutably to
    /// each call in between.
    pub(super) fn enter(&self, begin: Begin) -> Result<bool, StoreError> {
        let nested = self.nesting.get() > 0;
        self.control(match (nested, self.engine(), begin) {
            (true, _, _) => "SAVEPOINT nested",
            (false, Engine::Sqlite, Begin::Immediate) => "BEGIN IMMEDIATE",
            (false, _, _) => "BEGIN",
        })?;
        self.nesting.set(self.nesting.get() + 1);
        Ok(nested)
    }

    /// Ends what [`Db::enter`] opened: its work kept (committed, or
    /// released into the outer transaction) or undone. Work that cannot be
    /// kept is undone.
    pub(super) fn leave(&self, nested: bool, keep: bool) -> Result<(), StoreError> {
        self.nesting.set(self.nesting.get().saturating_sub(1));
        let kept = match (keep, nested) {
            (false, _) => Ok(()),
            (true, true) => self.control("RELEASE nested"),
            (true, false) => self.control("COMMIT"),
        };
        if !keep || kept.is_err() {
            if nested {
                // Undone, then let go: a savepoint rolled back stays open.
                let _ = self.control("ROLLBACK TO nested");
                let _ = self.control("RELEASE nested");
            } else {
                let _ = self.control("ROLLBACK");
            }
        }
        kept
    }

    /// Inside a transaction on PostgreSQL: waits for, and holds until the
    /// transaction ends, one advisory lock per key (in a fixed order, so two
    /// transactions never wait for each other). Another instance deciding
    /// about the same phone, network or flow waits until this one has
    /// written. SQLite needs none: an `Immediate` transaction holds the only
    /// write lock.
    pub(super) fn lock_keys<'a>(
        &self,
        keys: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(), StoreError> {
        let Conn::Postgres(conn) = &self.conn else {
            return Ok(());
        };
        let mut ids: Vec<i64> = keys
            .into_iter()
            .map(|(kind, key)| advisory_key(kind, key))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            conn.execute("SELECT pg_advisory_xact_lock(?1)", args![id])?;
        }
        Ok(())
    }

    /// Inside a transaction: takes the advisory lock `name` if nobody holds
    /// it, until the transaction ends; false when another instance does.
    /// Always true on SQLite (one gatehouse per database).
    pub(super) fn try_lock(&self, name: &str) -> Result<bool, StoreError> {
        let Conn::Postgres(conn) = &self.conn else {
            return Ok(true);
        };
        let row = conn
            .query(
                "SELECT CASE WHEN pg_try_advisory_xact_lock(?1) THEN 1 ELSE 0 END",
                args![advisory_key("job", name)],
            )?
            .into_iter()
            .next();
        Ok(row.map(|r| r.get::<bool>(0)).transpose()?.unwrap_or(false))
    }

    /// ` FOR UPDATE` on PostgreSQL (the row stays locked until the
    /// transaction ends, and a concurrent one re-reads it after), nothing on
    /// SQLite (its transaction already excludes other writers).
    pub(super) fn for_update(&self) -> &'static str {
        match self.engine() {
            Engine::Sqlite => "",
            Engine::Postgres => " FOR UPDATE",
        }
    }

    /// ` FOR UPDATE OF {table} SKIP LOCKED` on PostgreSQL: rows another
    /// instance is claiming right now are passed over, not waited for.
    pub(super) fn skip_locked(&self, table: &str) -> String {
        match self.engine() {
            Engine::Sqlite => String::new(),
            Engine::Postgres => format!(" FOR UPDATE OF {table} SKIP LOCKED"),
        }
    }

    /// Is a transaction open on the connection? False inside a group
    /// commit means SQLite rolled the group back by itself (it may, on a
    /// full disk or an I/O error). Only asked on SQLite.
    pub(super) fn in_transaction(&self) -> bool {
        match &self.conn {
            Conn::Sqlite(conn) => !conn.is_autocommit(),
            Conn::Postgres(_) => self.nesting.get() > 0,
        }
    }

    /// Rows changed so far on this connection (for the store's health).
    pub(super) fn changes(&self) -> u64 {
        match &self.conn {
            Conn::Sqlite(conn) => conn.total_changes(),
            Conn::Postgres(conn) => conn.changes(),
        }
    }

    /// A statement that only steers the transaction (`BEGIN`, `SAVEPOINT`,
    /// `COMMIT` ...): on SQLite prepared once and kept, as its statements are.
    fn control(&self, sql: &str) -> Result<(), StoreError> {
        match &self.conn {
            Conn::Sqlite(conn) => sqlite::execute(conn, sql, &[]).map(|_| ()),
            Conn::Postgres(conn) => conn.batch(sql),
        }
    }
}

/// A transaction not yet committed: dropped on an error or a panic, it
/// rolls back, so the connection is clean for the next piece of work.
struct Open<'a> {
    db: &'a Db,
    nested: bool,
    done: bool,
}

impl Open<'_> {
    fn commit(mut self) -> Result<(), StoreError> {
        self.done = true;
        self.db.leave(self.nested, true)
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.db.leave(self.nested, false);
        }
    }
}

/// PostgreSQL's advisory locks are named by a 64-bit number: the first
/// eight bytes of SHA-256 of the name, so no two names gatehouse uses meet.
fn advisory_key(kind: &str, key: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(b"gatehouse:")
        .chain_update(kind.as_bytes())
        .chain_update(b":")
        .chain_update(key.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_as_what_they_were_and_refuse_other_types() {
        let row = Row(vec![
            Value::Int(7),
            Value::Null,
            Value::Text("x".into()),
            Value::Blob(vec![1]),
        ]);
        assert_eq!(row.get::<i64>(0).unwrap(), 7);
        assert!(row.get::<bool>(0).unwrap());
        assert_eq!(row.get::<Option<String>>(1).unwrap(), None);
        assert_eq!(row.get::<String>(2).unwrap(), "x");
        assert_eq!(row.get::<Vec<u8>>(3).unwrap(), vec![1]);
        assert!(row.get::<i64>(2).is_err(), "text is not a number");
        assert!(row.get::<String>(1).is_err(), "null is not a string");
        assert!(row.get::<u32>(9).is_err(), "no such column");
        assert!(Row(vec![Value::Int(-1)]).get::<u32>(0).is_err());
    }

    #[test]
    fn advisory_keys_differ_by_kind_and_key() {
        assert_ne!(advisory_key("phone", "+1"), advisory_key("ip", "+1"));
        assert_ne!(advisory_key("phone", "+1"), advisory_key("phone", "+2"));
        assert_eq!(advisory_key("a", "b"), advisory_key("a", "b"));
    }
}
