//! A SQLite file of another application, opened read-only.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::types::ValueRef;
use rusqlite::OpenFlags;
use serde_json::{Map, Value};

use super::{float, more_than_one_row, record, Query};
use crate::directory::DirectoryError;

pub struct Sqlite {
    path: PathBuf,
    pool: r2d2::Pool<SqliteConnectionManager>,
}

impl Sqlite {
    /// `sqlite:///absolute/path.db`. The file is not opened here.
    pub fn new(url: &str, pool_size: u32, timeout: Duration) -> Result<Sqlite, DirectoryError> {
        let path = file_path(url).ok_or_else(|| {
            DirectoryError::Unavailable(
                "directory.sql.url must be sqlite:///absolute/path/to/file.db, without options"
                    .into(),
            )
        })?;
        // READ_ONLY without CREATE: a missing file is an error, never a new
        // empty database, and SQLite itself refuses every write.
        let manager = SqliteConnectionManager::file(&path)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_init(move |conn| {
                conn.busy_timeout(timeout)?;
                // Belt and braces: refuse writes even if the flags were lost.
                conn.pragma_update(None, "query_only", true)
            });
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            // Connections are opened by lookups, not at start-up.
            .min_idle(Some(0))
            .connection_timeout(timeout)
            // Failures reach the person's page and the log through fetch.
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build_unchecked(manager);
        Ok(Sqlite { path, pool })
    }

    pub(super) async fn fetch(
        &self,
        query: Query<'_>,
        value: &str,
        timeout: Duration,
    ) -> Result<Option<Map<String, Value>>, DirectoryError> {
        // r2d2 would retry a missing file until its timeout; say so at once.
        if !self.path.is_file() {
            return Err(DirectoryError::Unavailable(format!(
                "directory.sql.url: there is no database file at {}",
                self.path.display()
            )));
        }
        let pool = self.pool.clone();
        let sql = query.sql.to_string();
        let value = value.to_string();
        let setting = query.setting;
        let deadline = Instant::now() + timeout;
        tokio::task::spawn_blocking(move || {
            let conn = pool.get().map_err(|e| {
                DirectoryError::Unavailable(format!("directory.sql.url: cannot open the file: {e}"))
            })?;
            let query = Query { setting, sql: &sql };
            // Stops a query still running at the deadline, so a slow one
            // does not hold its connection after the lookup gave up.
            conn.progress_handler(1000, Some(move || Instant::now() > deadline))
                .map_err(|e| query_failed(query, e))?;
            let found = run(&conn, query, &value);
            let _ = conn.progress_handler(0, None::<fn() -> bool>);
            found
        })
        .await
        .map_err(|e| DirectoryError::Unavailable(format!("SQLite lookup stopped: {e}")))?
    }
}

/// `sqlite:///var/lib/app/users.db` -> `/var/lib/app/users.db`.
fn file_path(url: &str) -> Option<PathBuf> {
    let url = url::Url::parse(url).ok()?;
    if url.scheme() != "sqlite" || url.query().is_some() || url.fragment().is_some() {
        return None;
    }
    // No host (or localhost), an absolute path, percent-decoded.
    url.to_file_path().ok()
}

fn run(
    conn: &rusqlite::Connection,
    query: Query<'_>,
    value: &str,
) -> Result<Option<Map<String, Value>>, DirectoryError> {
    let failed = |e| query_failed(query, e);
    let mut statement = conn.prepare_cached(query.sql).map_err(failed)?;
    let names: Vec<String> = statement
        .column_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    // `$1` is SQLite's parameter named "$1": the first and only one.
    let mut rows = statement.query([value]).map_err(failed)?;
    let Some(row) = rows.next().map_err(failed)? else {
        return Ok(None);
    };
    let mut columns = Vec::with_capacity(names.len());
    for (i, name) in names.into_iter().enumerate() {
        let value = row.get_ref(i).map_err(failed)?;
        let value = to_json(value).ok_or_else(|| {
            DirectoryError::BadRecord(format!(
                "{}: column `{name}` holds a BLOB, which cannot go into a profile; \
                 leave it out of the query or convert it (e.g. `hex({name})`)",
                query.setting
            ))
        })?;
        columns.push((name, value));
    }
    let found = record(query, columns)?;
    if rows.next().map_err(failed)?.is_some() {
        return Err(more_than_one_row(query));
    }
    Ok(Some(found))
}

/// SQLite's storage classes as JSON; `None` for a BLOB (bytes have no
/// place in a profile, and guessing an encoding would hide a mistake).
fn to_json(value: ValueRef<'_>) -> Option<Value> {
    Some(match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => Value::from(n),
        ValueRef::Real(x) => float(x),
        ValueRef::Text(bytes) => Value::String(String::from_utf8_lossy(bytes).into_owned()),
        ValueRef::Blob(_) => return None,
    })
}

/// The database refused or failed the query: an outage for the person, a
/// fix for the operator (the message says which setting).
fn query_failed(query: Query<'_>, error: rusqlite::Error) -> DirectoryError {
    DirectoryError::Unavailable(format!("{}: {error}", query.setting))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BY_PHONE: Query<'static> = Query {
        setting: "directory.sql.by_phone",
        sql: "SELECT * FROM people WHERE mobile = $1",
    };

    /// A database file made by "another application", and a read-only view of it.
    fn fixture() -> (tempfile::TempDir, PathBuf, Sqlite) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE people (no INTEGER, mobile TEXT, first TEXT, score REAL,
                                  note TEXT, picture BLOB);
             INSERT INTO people VALUES (7, '+12015550100', 'Ada', 2.5, NULL, NULL);
             INSERT INTO people VALUES (8, '+12015550101', 'Bob', 1e999, 'x', x'00ff');
             INSERT INTO people VALUES (9, '+12015550102', 'Cy', 0, NULL, NULL);
             INSERT INTO people VALUES (10, '+12015550102', 'Cy2', 0, NULL, NULL);",
        )
        .unwrap();
        drop(conn);
        let url = format!("sqlite://{}", path.display());
        let db = Sqlite::new(&url, 2, Duration::from_secs(2)).unwrap();
        (dir, path, db)
    }

    async fn fetch(db: &Sqlite, query: Query<'_>, value: &str) -> Result<Option<Value>, String> {
        db.fetch(query, value, Duration::from_secs(2))
            .await
            .map(|found| found.map(Value::Object))
            .map_err(|e| e.to_string())
    }

    #[tokio::test]
    async fn columns_become_json_by_storage_class() {
        let (_dir, _, db) = fixture();
        let query = Query {
            sql: "SELECT no, mobile, first, score, note FROM people WHERE mobile = $1",
            ..BY_PHONE
        };
        let found = fetch(&db, query, "+12015550100").await.unwrap();
        assert_eq!(
            found,
            Some(json!({"no": 7, "mobile": "+12015550100", "first": "Ada",
                        "score": 2.5, "note": null}))
        );
        // Infinity has no JSON form.
        let query = Query {
            sql: "SELECT score FROM people WHERE mobile = $1",
            ..BY_PHONE
        };
        let found = fetch(&db, query, "+12015550101").await.unwrap();
        assert_eq!(found, Some(json!({"score": null})));
        assert_eq!(fetch(&db, query, "+19999999999").await, Ok(None));
    }

    #[tokio::test]
    async fn a_blob_is_refused_naming_the_column() {
        let (_dir, _, db) = fixture();
        let err = fetch(&db, BY_PHONE, "+12015550101").await.unwrap_err();
        assert!(err.contains("column `picture` holds a BLOB"), "{err}");
        assert!(err.contains("directory.sql.by_phone"), "{err}");
        // A NULL in the same column is fine.
        let found = fetch(&db, BY_PHONE, "+12015550100").await.unwrap();
        assert_eq!(found.unwrap()["picture"], Value::Null);
    }

    #[tokio::test]
    async fn more_than_one_row_is_an_error_naming_the_setting() {
        let (_dir, _, db) = fixture();
        let err = fetch(&db, BY_PHONE, "+12015550102").await.unwrap_err();
        assert!(
            err.contains("directory.sql.by_phone returned more than one row"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn dollar_one_may_appear_twice_and_compares_with_integer_columns() {
        let (_dir, _, db) = fixture();
        let query = Query {
            setting: "directory.sql.by_id",
            sql: "SELECT first FROM people WHERE no = $1 OR mobile = $1",
        };
        let found = fetch(&db, query, "8").await.unwrap();
        assert_eq!(found, Some(json!({"first": "Bob"})));
    }

    #[tokio::test]
    async fn duplicate_column_names_are_refused() {
        let (_dir, _, db) = fixture();
        let query = Query {
            sql: "SELECT first AS name, mobile AS name FROM people WHERE mobile = $1",
            ..BY_PHONE
        };
        let err = fetch(&db, query, "+12015550100").await.unwrap_err();
        assert!(err.contains("two columns named `name`"), "{err}");
    }

    #[tokio::test]
    async fn writes_are_refused_and_the_file_is_untouched() {
        let (dir, path, db) = fixture();
        let before = std::fs::read(&path).unwrap();
        for sql in [
            "UPDATE people SET first = 'x' WHERE mobile = $1 RETURNING first",
            "INSERT INTO people (mobile) VALUES ($1) RETURNING mobile",
        ] {
            let query = Query { sql, ..BY_PHONE };
            let err = fetch(&db, query, "+12015550100").await.unwrap_err();
            assert!(err.contains("readonly"), "{err}");
            assert!(
                err.starts_with("the user directory is unavailable"),
                "{err}"
            );
        }
        assert_eq!(std::fs::read(&path).unwrap(), before);
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, vec!["app.db"], "no journal or WAL file appeared");
    }

    #[tokio::test]
    async fn a_missing_file_is_an_outage_and_is_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.db");
        let db = Sqlite::new(
            &format!("sqlite://{}", path.display()),
            1,
            Duration::from_secs(2),
        )
        .unwrap();
        let err = fetch(&db, BY_PHONE, "+12015550100").await.unwrap_err();
        assert!(err.contains("directory.sql.url"), "{err}");
        assert!(!path.exists());
    }

    #[test]
    fn only_absolute_file_urls_are_accepted() {
        assert_eq!(
            file_path("sqlite:///var/lib/app/my%20users.db"),
            Some(PathBuf::from("/var/lib/app/my users.db"))
        );
        for bad in [
            "sqlite://relative/users.db",
            "sqlite:users.db",
            "sqlite:///var/users.db?mode=rwc",
            "sqlite:///var/users.db#x",
        ] {
            assert_eq!(file_path(bad), None, "{bad}");
            assert!(
                Sqlite::new(bad, 1, Duration::from_secs(1)).is_err(),
                "{bad}"
            );
        }
    }
}
