//! The neutral layer on PostgreSQL: one tokio-postgres connection driven
//! by a runtime of its own on the store thread that owns it (so the store's
//! work stays blocking code, as on SQLite), `?N` placeholders rewritten to
//! `$N`, each statement prepared once per connection, values converted to
//! the type the server says a parameter has.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::error::Error as StdError;
use std::time::Duration;

use bytes::BytesMut;
use tokio_postgres::config::SslMode;
use tokio_postgres::types::{IsNull, ToSql, Type};
use tokio_postgres::{Client, NoTls, Statement};

use super::{Row, Value};
use crate::config::{PgSslMode, PostgresTls};
use crate::infra::postgres_tls;
use crate::store::StoreError;

/// How long a connection attempt may take when the URL does not say.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The server ends a statement (or a wait for a lock) that takes longer,
/// so a stuck call answers 503 instead of holding a store thread.
const STATEMENT_TIMEOUT_MS: u32 = 5_000;
const LOCK_TIMEOUT_MS: u32 = 2_000;

/// Where gatehouse's PostgreSQL database is and how to reach it.
#[derive(Clone)]
pub struct PgTarget {
    config: tokio_postgres::Config,
    tls: PostgresTls,
    /// The URL's password, taken out of every message.
    secrets: Vec<String>,
}

impl PgTarget {
    /// Reads the URL (`sslmode` and `sslrootcert` are already out of it, in
    /// `tls`); connects only when asked to.
    pub fn new(url: &str, tls: &PostgresTls) -> Result<PgTarget, StoreError> {
        let postgres_tls::ParsedUrl { config, secrets } =
            postgres_tls::parse_url("database.url", url, CONNECT_TIMEOUT)
                .map_err(StoreError::Postgres)?;
        let mode = postgres_tls::effective_mode(&config, tls.mode);
        postgres_tls::warn_if_unchecked(&config, mode, "database.url");
        Ok(PgTarget {
            config,
            tls: tls.clone(),
            secrets,
        })
    }

    /// The password taken out of `message`.
    pub fn scrubbed(&self, message: String) -> String {
        postgres_tls::scrub(&self.secrets, message)
    }
}

/// One connection, owned by one store thread.
pub struct PgConn {
    runtime: tokio::runtime::Runtime,
    client: Client,
    statements: RefCell<HashMap<String, Statement>>,
    changes: Cell<u64>,
}

impl PgConn {
    /// Connects (encrypted as the target's `sslmode` asks) and sets the
    /// session's time limits.
    pub fn connect(target: &PgTarget) -> Result<PgConn, StoreError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Task(format!("cannot start a runtime: {e}")))?;
        let mut config = target.config.clone();
        let mode = postgres_tls::effective_mode(&config, target.tls.mode);
        let connected = runtime.block_on(async {
            match mode {
                PgSslMode::Disable => {
                    config.ssl_mode(SslMode::Disable);
                    let (client, connection) = config.connect(NoTls).await?;
                    tokio::spawn(connection);
                    Ok(client)
                }
                mode => {
                    config.ssl_mode(SslMode::Require);
                    let connector = postgres_tls::connector(mode, target.tls.root_cert.as_ref());
                    let (client, connection) = config.connect(connector).await?;
                    tokio::spawn(connection);
                    Ok(client)
                }
            }
        });
        let client = connected.map_err(|e: tokio_postgres::Error| {
            let why = postgres_tls::explain(&e).unwrap_or_else(|| postgres_tls::error_chain(&e));
            StoreError::Unavailable(target.scrubbed(format!("cannot connect to PostgreSQL: {why}")))
        })?;
        let conn = PgConn {
            runtime,
            client,
            statements: RefCell::new(HashMap::new()),
            changes: Cell::new(0),
        };
        conn.batch(&format!(
            "SET statement_timeout = {STATEMENT_TIMEOUT_MS}; SET lock_timeout = {LOCK_TIMEOUT_MS}"
        ))?;
        Ok(conn)
    }

    /// The server closed the connection (or it broke): open another.
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    pub(in crate::store) fn execute(
        &self,
        sql: &str,
        params: &[Value],
    ) -> Result<usize, StoreError> {
        let statement = self.prepared(sql)?;
        let changed = self
            .runtime
            .block_on(self.client.execute(&statement, &refs(params)))
            .map_err(failed)?;
        self.changes.set(self.changes.get() + changed);
        Ok(usize::try_from(changed).unwrap_or(usize::MAX))
    }

    pub(in crate::store) fn query(
        &self,
        sql: &str,
        params: &[Value],
    ) -> Result<Vec<Row>, StoreError> {
        let statement = self.prepared(sql)?;
        let rows = self
            .runtime
            .block_on(self.client.query(&statement, &refs(params)))
            .map_err(failed)?;
        if !sql.trim_start().starts_with("SELECT") {
            // An UPDATE ... RETURNING: its rows are rows it changed.
            self.changes.set(self.changes.get() + rows.len() as u64);
        }
        rows.iter().map(row).collect()
    }

    pub(in crate::store) fn batch(&self, sql: &str) -> Result<(), StoreError> {
        self.runtime
            .block_on(self.client.batch_execute(sql))
            .map_err(failed)
    }

    pub(in crate::store) fn changes(&self) -> u64 {
        self.changes.get()
    }

    /// For the migration runner, which wants the client itself.
    pub(in crate::store) fn with_client<T>(
        &mut self,
        work: impl AsyncFnOnce(&mut Client) -> T,
    ) -> T {
        self.runtime.block_on(work(&mut self.client))
    }

    fn prepared(&self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = self
            .runtime
            .block_on(self.client.prepare(&dollar_placeholders(sql)))
            .map_err(failed)?;
        self.statements
            .borrow_mut()
            .insert(sql.to_string(), statement.clone());
        Ok(statement)
    }
}

fn refs(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

/// `?N` becomes `$N`, and a bare `?` the next number; quoted text is left
/// alone.
pub(in crate::store) fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut next = 0;
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    next += 1;
                    digits = next.to_string();
                }
                out.push('$');
                out.push_str(&digits);
            }
            c => out.push(c),
        }
    }
    out
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                _ => Err(format!("an integer cannot be a {ty}").into()),
            },
            Value::Text(v) => v.as_str().to_sql(ty, out),
            Value::Blob(v) => v.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

/// A row as neutral values; booleans (`x IS NOT NULL`) become 0 and 1.
fn row(row: &tokio_postgres::Row) -> Result<Row, StoreError> {
    let decode = |e: tokio_postgres::Error| StoreError::Decode(e.to_string());
    let mut values = Vec::with_capacity(row.len());
    for (index, column) in row.columns().iter().enumerate() {
        let value = match *column.type_() {
            Type::INT8 => row
                .try_get::<_, Option<i64>>(index)
                .map_err(decode)?
                .map(Value::Int),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(index)
                .map_err(decode)?
                .map(|v| Value::Int(v.into())),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(index)
                .map_err(decode)?
                .map(|v| Value::Int(v.into())),
            Type::BOOL => row
                .try_get::<_, Option<bool>>(index)
                .map_err(decode)?
                .map(|v| Value::Int(v.into())),
            Type::BYTEA => row
                .try_get::<_, Option<Vec<u8>>>(index)
                .map_err(decode)?
                .map(Value::Blob),
            Type::VOID => None,
            _ => row
                .try_get::<_, Option<String>>(index)
                .map_err(decode)?
                .map(Value::Text),
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}

/// A server's refusal to wait longer (a lock, a timeout, a conflict) is
/// "busy, try again shortly", a full disk is `Full`, a lost connection
/// `Unavailable`; anything else keeps PostgreSQL's words.
fn failed(error: tokio_postgres::Error) -> StoreError {
    if let Some(state) = error.code() {
        return match state.code() {
            "55P03" | "57014" | "40001" | "40P01" => StoreError::Busy,
            "53100" => StoreError::Full(postgres_tls::error_chain(&error)),
            _ => StoreError::Postgres(postgres_tls::error_chain(&error)),
        };
    }
    let io = error
        .source()
        .is_some_and(|source| source.downcast_ref::<std::io::Error>().is_some());
    if error.is_closed() || io {
        StoreError::Unavailable(postgres_tls::error_chain(&error))
    } else {
        StoreError::Postgres(postgres_tls::error_chain(&error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgresql_outside_quotes() {
        assert_eq!(
            dollar_placeholders("SELECT a FROM t WHERE b = ?2 AND c = ?1 AND d = '?'"),
            "SELECT a FROM t WHERE b = $2 AND c = $1 AND d = '?'"
        );
        assert_eq!(dollar_placeholders("x = ? AND y = ?"), "x = $1 AND y = $2");
        assert_eq!(dollar_placeholders("?10, ?3"), "$10, $3");
    }
}
