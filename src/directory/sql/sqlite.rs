//! A SQLite file of another application, opened read-only.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

use super::{float, more_than_one_row, record, Query};
use crate::directory::DirectoryError;
use crate::store::foreign_sqlite::{Cell, ForeignError, ForeignSqlite};

pub struct Sqlite {
    file: ForeignSqlite,
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
        Ok(Sqlite {
            file: ForeignSqlite::new(path, pool_size, timeout),
        })
    }

    pub(super) async fn fetch(
        &self,
        query: Query<'_>,
        value: &str,
        timeout: Duration,
    ) -> Result<Option<Map<String, Value>>, DirectoryError> {
        let found = self
            .file
            .first_row(query.sql, value, timeout)
            .await
            .map_err(|error| failed(query, error))?;
        let Some(row) = found else {
            return Ok(None);
        };
        let mut columns = Vec::with_capacity(row.columns.len());
        for (name, cell) in row.columns {
            let value = to_json(cell).ok_or_else(|| {
                DirectoryError::BadRecord(format!(
                    "{}: column `{name}` holds a BLOB, which cannot go into a profile; \
                     leave it out of the query or convert it (e.g. `hex({name})`)",
                    query.setting
                ))
            })?;
            columns.push((name, value));
        }
        let found = record(query, columns)?;
        if row.more {
            return Err(more_than_one_row(query));
        }
        Ok(Some(found))
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

/// SQLite's storage classes as JSON; `None` for a BLOB (bytes have no
/// place in a profile, and guessing an encoding would hide a mistake).
fn to_json(cell: Cell) -> Option<Value> {
    Some(match cell {
        Cell::Null => Value::Null,
        Cell::Integer(n) => Value::from(n),
        Cell::Real(x) => float(x),
        Cell::Text(text) => Value::String(text),
        Cell::Blob => return None,
    })
}

/// The database refused or failed the query: an outage for the person, a
/// fix for the operator (the message says which setting).
fn failed(query: Query<'_>, error: ForeignError) -> DirectoryError {
    let setting = match error {
        ForeignError::NoFile(_) | ForeignError::Open(_) => "directory.sql.url",
        ForeignError::Query(_) | ForeignError::Task(_) => query.setting,
    };
    DirectoryError::Unavailable(format!("{setting}: {error}"))
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
        crate::store::foreign_sqlite::create_for_tests(
            &path,
            "CREATE TABLE people (no INTEGER, mobile TEXT, first TEXT, score REAL,
                                  note TEXT, picture BLOB);
             INSERT INTO people VALUES (7, '+12015550100', 'Ada', 2.5, NULL, NULL);
             INSERT INTO people VALUES (8, '+12015550101', 'Bob', 1e999, 'x', x'00ff');
             INSERT INTO people VALUES (9, '+12015550102', 'Cy', 0, NULL, NULL);
             INSERT INTO people VALUES (10, '+12015550102', 'Cy2', 0, NULL, NULL);",
        );
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
