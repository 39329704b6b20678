//! `kind = "sql"`: an existing database, read-only.
//!
//! Two queries from `[directory.sql]` (`by_phone`, `by_id`) take the looked-up
//! value as `$1` and return at most one row; the row becomes a JSON object
//! keyed by column name, which `[directory.fields]` maps onto the profile.
//! SQLite files are opened read-only; PostgreSQL queries run in READ ONLY
//! transactions. Nothing connects before the first lookup, so gatehouse
//! starts while the database is down; a lookup that fails or takes longer
//! than `directory.sql.timeout` is an outage (the person is asked to try
//! again, nothing is counted against them).

use std::time::Duration;

use serde_json::{Map, Value};

use super::{DirectoryError, Key};
use crate::config::{SqlDatabase, SqlDirectoryConfig};

mod postgres;
mod sqlite;

pub struct SqlDirectory {
    database: Database,
    by_phone: String,
    by_id: String,
    timeout: Duration,
}

enum Database {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

/// The query one lookup runs, and the setting it comes from (for messages).
#[derive(Debug, Clone, Copy)]
struct Query<'a> {
    setting: &'static str,
    sql: &'a str,
}

impl SqlDirectory {
    pub fn new(
        source: &SqlDatabase,
        config: &SqlDirectoryConfig,
    ) -> Result<SqlDirectory, DirectoryError> {
        let url = source.url.expose();
        // The config check allows 1..=64; clamp anyway so no value can panic.
        let pool_size = config.pool_size.clamp(1, 64);
        let database = if url.starts_with("sqlite:") {
            Database::Sqlite(sqlite::Sqlite::new(url, pool_size, config.timeout)?)
        } else {
            Database::Postgres(postgres::Postgres::new(
                url,
                &source.tls,
                pool_size,
                config.timeout,
            )?)
        };
        Ok(SqlDirectory {
            database,
            by_phone: source.by_phone.clone(),
            by_id: source.by_id.clone(),
            timeout: config.timeout,
        })
    }

    pub(super) async fn fetch(
        &self,
        key: Key<'_>,
    ) -> Result<Option<Map<String, Value>>, DirectoryError> {
        let (query, value) = match key {
            Key::Phone(phone) => (
                Query {
                    setting: "directory.sql.by_phone",
                    sql: &self.by_phone,
                },
                phone.as_str(),
            ),
            Key::Id(id) => (
                Query {
                    setting: "directory.sql.by_id",
                    sql: &self.by_id,
                },
                id,
            ),
        };
        let lookup = async {
            match &self.database {
                Database::Sqlite(db) => db.fetch(query, value, self.timeout).await,
                Database::Postgres(db) => db.fetch(query, value).await,
            }
        };
        let result = match tokio::time::timeout(self.timeout, lookup).await {
            Ok(result) => result,
            Err(_) => Err(DirectoryError::Unavailable(format!(
                "{}: no answer within {} (directory.sql.timeout)",
                query.setting,
                humantime::format_duration(self.timeout)
            ))),
        };
        if let Err(error) = &result {
            tracing::warn!(%error, "user directory lookup failed");
        }
        result
    }
}

/// One row as a JSON object. Two columns of the same name would silently
/// hide one another, so they are refused.
fn record(
    query: Query<'_>,
    columns: impl IntoIterator<Item = (String, Value)>,
) -> Result<Map<String, Value>, DirectoryError> {
    let mut record = Map::new();
    for (name, value) in columns {
        if record.contains_key(&name) {
            return Err(DirectoryError::BadRecord(format!(
                "{} returns two columns named `{name}`; rename one with AS",
                query.setting
            )));
        }
        record.insert(name, value);
    }
    Ok(record)
}

fn more_than_one_row(query: Query<'_>) -> DirectoryError {
    DirectoryError::BadRecord(format!(
        "{} returned more than one row; it must find at most one person",
        query.setting
    ))
}

/// JSON has no NaN or infinity: such a value becomes null.
fn float(value: f64) -> Value {
    serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
}
