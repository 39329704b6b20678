//! A PostgreSQL database of another application: each lookup is one READ
//! ONLY transaction on a pooled connection.
//!
//! Connections are encrypted as the URL's `sslmode` asks (`infra::postgres_tls`):
//! `verify-full` by default for a host that is not this machine.

use std::error::Error as _;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod};
use serde_json::{Map, Value};
use tokio_postgres::config::SslMode;
use tokio_postgres::types::{FromSql, ToSql, Type};
use tokio_postgres::{Column, NoTls, Row};

use super::{more_than_one_row, record, Query};
use crate::config::{PgSslMode, PostgresTls};
use crate::directory::DirectoryError;
use crate::infra::postgres_tls;

mod cell;

use cell::Cell;

pub struct Postgres {
    pool: Pool,
    /// The URL's password (as written and decoded), taken out of every
    /// message: whatever a driver error says, it must never print it.
    secrets: Vec<String>,
    statement_timeout_ms: u128,
}

impl Postgres {
    /// Reads the URL (`sslmode` and `sslrootcert` are already out of it,
    /// in `tls`); connects only when the first lookup needs to.
    pub fn new(
        url: &str,
        tls: &PostgresTls,
        pool_size: u32,
        timeout: Duration,
    ) -> Result<Postgres, DirectoryError> {
        let postgres_tls::ParsedUrl { config, secrets } =
            postgres_tls::parse_url("directory.sql.url", url, timeout)
                .map_err(DirectoryError::Unavailable)?;
        let pool = Pool::builder(manager(config, tls))
            .max_size(pool_size as usize)
            .build()
            .map_err(|e| DirectoryError::Unavailable(format!("PostgreSQL pool: {e}")))?;
        Ok(Postgres {
            pool,
            secrets,
            statement_timeout_ms: timeout.as_millis().max(1),
        })
    }

    pub(super) async fn fetch(
        &self,
        query: Query<'_>,
        value: &str,
    ) -> Result<Option<Map<String, Value>>, DirectoryError> {
        self.lookup(query, value)
            .await
            .map_err(|e| scrub(&self.secrets, e))
    }

    async fn lookup(
        &self,
        query: Query<'_>,
        value: &str,
    ) -> Result<Option<Map<String, Value>>, DirectoryError> {
        let failed = |e: tokio_postgres::Error| {
            DirectoryError::Unavailable(format!(
                "{}: {}",
                query.setting,
                postgres_tls::error_chain(&e)
            ))
        };
        let mut client = self.pool.get().await.map_err(|e| {
            DirectoryError::Unavailable(format!("cannot connect to PostgreSQL: {}", pool_error(e)))
        })?;
        // READ ONLY: a query that tries to write fails instead of writing.
        let transaction = client
            .build_transaction()
            .read_only(true)
            .start()
            .await
            .map_err(failed)?;
        // Set per transaction rather than at connect time, so it also works
        // through poolers that refuse startup options; the server then stops
        // a slow query itself when gatehouse has given up on it.
        transaction
            .batch_execute(&format!(
                "SET LOCAL statement_timeout = {}",
                self.statement_timeout_ms
            ))
            .await
            .map_err(failed)?;
        let statement = transaction.prepare(query.sql).await.map_err(failed)?;
        check_columns(query, statement.columns())?;
        let Some(parameter) = parameter(query, statement.params(), value)? else {
            return Ok(None);
        };
        let portal = transaction
            .bind(&statement, &[parameter.as_ref()])
            .await
            .map_err(failed)?;
        // Two rows are enough to know there is more than one.
        let rows = transaction.query_portal(&portal, 2).await.map_err(failed)?;
        drop(portal);
        drop(statement);
        transaction.rollback().await.map_err(failed)?;
        match rows.as_slice() {
            [] => Ok(None),
            [row] => to_record(query, row).map(Some),
            _ => Err(more_than_one_row(query)),
        }
    }
}

/// The pool's connection maker, encrypting as `tls` asks.
fn manager(mut config: tokio_postgres::Config, tls: &PostgresTls) -> Manager {
    let mode = postgres_tls::effective_mode(&config, tls.mode);
    postgres_tls::warn_if_unchecked(&config, mode, "directory.sql.url");
    // A connection the server closed is replaced; no extra query.
    let recycling = || ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    match mode {
        PgSslMode::Disable => {
            config.ssl_mode(SslMode::Disable);
            Manager::from_config(config, NoTls, recycling())
        }
        mode => {
            // TLS or no connection; the certificate is checked as `mode` says.
            config.ssl_mode(SslMode::Require);
            let connector = postgres_tls::connector(mode, tls.root_cert.as_ref());
            Manager::from_config(config, connector, recycling())
        }
    }
}

/// Removes the URL's password from a message, whatever produced it.
fn scrub(secrets: &[String], error: DirectoryError) -> DirectoryError {
    let clean = |message: String| postgres_tls::scrub(secrets, message);
    match error {
        DirectoryError::Unavailable(m) => DirectoryError::Unavailable(clean(m)),
        DirectoryError::BadRecord(m) => DirectoryError::BadRecord(clean(m)),
        other => other,
    }
}

/// Why no connection could be had; a certificate problem in words that
/// say what to change.
fn pool_error(error: PoolError) -> String {
    match error {
        PoolError::Backend(e) => {
            postgres_tls::explain(&e).unwrap_or_else(|| postgres_tls::error_chain(&e))
        }
        other => other.to_string(),
    }
}

/// Refuses, before running anything, a query with a column gatehouse
/// cannot turn into JSON, naming the column and the fix.
fn check_columns(query: Query<'_>, columns: &[Column]) -> Result<(), DirectoryError> {
    for column in columns {
        if !Cell::accepts(column.type_()) {
            let name = column.name();
            return Err(DirectoryError::BadRecord(format!(
                "{}: column `{name}` has type {}, which gatehouse cannot read; \
                 cast it in the query, e.g. `{name}::text`",
                query.setting,
                column.type_()
            )));
        }
    }
    Ok(())
}

/// `$1` as the type PostgreSQL inferred for it, so `WHERE customer_no = $1`
/// works on an integer or uuid column. `None`: the value cannot be of that
/// type (an id "abc" for an integer column), so no row can match it.
fn parameter(
    query: Query<'_>,
    params: &[Type],
    value: &str,
) -> Result<Option<Box<dyn ToSql + Sync + Send>>, DirectoryError> {
    let ty = match params {
        [ty] => ty,
        _ => {
            return Err(DirectoryError::BadRecord(format!(
                "{} must use exactly one parameter, $1 (it uses {})",
                query.setting,
                params.len()
            )))
        }
    };
    let boxed = |v: Option<Box<dyn ToSql + Sync + Send>>| Ok(v);
    match *ty {
        Type::INT2 => boxed(value.parse::<i16>().ok().map(|v| Box::new(v) as _)),
        Type::INT4 => boxed(value.parse::<i32>().ok().map(|v| Box::new(v) as _)),
        Type::INT8 => boxed(value.parse::<i64>().ok().map(|v| Box::new(v) as _)),
        Type::UUID => boxed(uuid::Uuid::parse_str(value).ok().map(|v| Box::new(v) as _)),
        ref ty if <String as ToSql>::accepts(ty) => boxed(Some(Box::new(value.to_string()))),
        ref ty => Err(DirectoryError::BadRecord(format!(
            "{}: $1 is compared as type {ty}; compare it with a text, integer or uuid \
             column, or cast it (`$1::text`)",
            query.setting
        ))),
    }
}

fn to_record(query: Query<'_>, row: &Row) -> Result<Map<String, Value>, DirectoryError> {
    let mut columns = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let Cell(value) = row.try_get(i).map_err(|e| {
            DirectoryError::BadRecord(format!(
                "{}: column `{}`: {}",
                query.setting,
                column.name(),
                e.source()
                    .map_or_else(|| e.to_string(), ToString::to_string)
            ))
        })?;
        columns.push((column.name().to_string(), value));
    }
    record(query, columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_gatehouse_cannot_compare_are_refused() {
        let query = Query {
            setting: "directory.sql.by_id",
            sql: "",
        };
        for (params, ok) in [
            (vec![Type::TEXT], true),
            (vec![Type::INT8], true),
            (vec![Type::BYTEA], false),
            (vec![], false),
            (vec![Type::TEXT, Type::TEXT], false),
        ] {
            assert_eq!(parameter(query, &params, "42").is_ok(), ok, "{params:?}");
        }
        // An id that cannot be an integer matches no integer column.
        assert!(parameter(query, &[Type::INT4], "abc").unwrap().is_none());
        assert!(parameter(query, &[Type::UUID], "abc").unwrap().is_none());
    }

    #[test]
    fn the_password_is_scrubbed_and_construction_does_not_connect() {
        let url = "postgres://app:s3cr%40t@127.0.0.1:1/app";
        let tls = PostgresTls::default();
        let db = Postgres::new(url, &tls, 1, Duration::from_secs(1)).unwrap();
        let scrubbed = scrub(
            &db.secrets,
            DirectoryError::Unavailable("bad s3cr@t and s3cr%40t here".into()),
        );
        assert_eq!(
            scrubbed.to_string(),
            "the user directory is unavailable: bad *** and *** here"
        );
    }
}
