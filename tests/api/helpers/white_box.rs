//! White-box reads of an instance's own database on whichever engine it
//! is on (SQLite in the data dir, or PostgreSQL with `database.url`, as in
//! scripts/test's second pass), so the tests that look at rows run on both.

use std::path::Path;

use gatehouse::config::Config;
use serde_json::{Map, Value};
use tokio_postgres::types::Type;
use tokio_postgres::NoTls;

/// The rows of `sql` (a statement without parameters, in SQL both engines
/// take) as objects keyed by column: integers as numbers, text as
/// strings, blobs as lowercase hex, NULL as null.
pub async fn rows(config: &Config, sql: &str) -> Vec<Map<String, Value>> {
    match config
        .database
        .url
        .as_ref()
        .map(|url| url.expose().to_string())
    {
        Some(url) if url.starts_with("postgres") => postgres_rows(&url, sql).await,
        Some(url) => sqlite_rows(Path::new(url.trim_start_matches("sqlite://")), sql),
        None => sqlite_rows(&config.data_dir.join("gatehouse.sqlite"), sql),
    }
}

/// [`rows`] of the SQLite file `file` (a store the test opened itself).
pub fn sqlite_rows(file: &Path, sql: &str) -> Vec<Map<String, Value>> {
    use rusqlite::types::ValueRef;
    let conn = rusqlite::Connection::open(file).expect("open the database");
    let mut statement = conn.prepare(sql).expect(sql);
    let names: Vec<String> = statement
        .column_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    let rows = statement
        .query_map([], |row| {
            let mut object = Map::new();
            for (i, name) in names.iter().enumerate() {
                let value = match row.get_ref(i)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(n) => Value::from(n),
                    ValueRef::Real(x) => Value::from(x),
                    ValueRef::Text(text) => Value::from(String::from_utf8_lossy(text).into_owned()),
                    ValueRef::Blob(bytes) => Value::from(hex::encode(bytes)),
                };
                object.insert(name.clone(), value);
            }
            Ok(object)
        })
        .expect(sql);
    rows.collect::<Result<_, _>>().expect(sql)
}

async fn postgres_rows(url: &str, sql: &str) -> Vec<Map<String, Value>> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("connect to PostgreSQL");
    tokio::spawn(connection);
    let rows = client.query(sql, &[]).await.expect(sql);
    rows.iter()
        .map(|row| {
            let mut object = Map::new();
            for (i, column) in row.columns().iter().enumerate() {
                let value = match *column.type_() {
                    Type::INT8 => row.get::<_, Option<i64>>(i).map(Value::from),
                    Type::INT4 => row.get::<_, Option<i32>>(i).map(Value::from),
                    Type::BYTEA => row
                        .get::<_, Option<Vec<u8>>>(i)
                        .map(|b| hex::encode(b).into()),
                    _ => row.get::<_, Option<String>>(i).map(Value::from),
                };
                object.insert(column.name().to_string(), value.unwrap_or(Value::Null));
            }
            object
        })
        .collect()
}

/// Is the instance's database PostgreSQL (else its SQLite file)?
pub fn is_postgres(config: &Config) -> bool {
    config
        .database
        .url
        .as_ref()
        .is_some_and(|url| url.expose().starts_with("postgres"))
}

/// The one number `sql` (a `SELECT count(*) ...` or the like) answers.
pub async fn number(config: &Config, sql: &str) -> i64 {
    let rows = rows(config, sql).await;
    let value = rows
        .first()
        .and_then(|row| row.values().next())
        .unwrap_or_else(|| panic!("no row from {sql}"));
    value.as_i64().unwrap_or_else(|| panic!("{sql}: {value}"))
}

/// Runs `sqlite` on the SQLite file or `postgres` on PostgreSQL (statements
/// without parameters, e.g. a trigger the test sets up).
pub async fn execute(config: &Config, sqlite: &str, postgres: &str) {
    match config.database.url.as_ref().map(|u| u.expose().to_string()) {
        Some(url) if url.starts_with("postgres") => {
            let (client, connection) = tokio_postgres::connect(&url, NoTls)
                .await
                .expect("connect to PostgreSQL");
            tokio::spawn(connection);
            client.batch_execute(postgres).await.expect(postgres);
        }
        url => {
            let file = url.map_or_else(
                || config.data_dir.join("gatehouse.sqlite"),
                |url| url.trim_start_matches("sqlite://").into(),
            );
            let conn = rusqlite::Connection::open(file).expect("open the database");
            conn.execute_batch(sqlite).expect(sqlite);
        }
    }
}
