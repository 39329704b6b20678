//! Read-only access to another application's SQLite file, for the `sql`
//! user directory: the file is never created or written (read-only flags
//! and `query_only`), and a query still running at its deadline is
//! stopped. What the rows mean is the directory's business; this module
//! only runs one query and hands back its first row.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::types::ValueRef;
use rusqlite::OpenFlags;

/// One value of a row, by SQLite storage class.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    /// Bytes: the caller decides what to make of them (the directory refuses them).
    Blob,
}

/// The first row a query found, column by column, and whether more followed.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstRow {
    pub columns: Vec<(String, Cell)>,
    pub more: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ForeignError {
    #[error("there is no database file at {}", .0.display())]
    NoFile(PathBuf),
    #[error("cannot open the file: {0}")]
    Open(String),
    /// The database refused or failed the query (also: stopped at its deadline).
    #[error("{0}")]
    Query(#[from] rusqlite::Error),
    #[error("SQLite lookup stopped: {0}")]
    Task(String),
}

pub struct ForeignSqlite {
    path: PathBuf,
    pool: r2d2::Pool<SqliteConnectionManager>,
}

impl ForeignSqlite {
    /// A pool of at most `pool_size` read-only connections to `path`; the
    /// file is not opened here.
    pub fn new(path: PathBuf, pool_size: u32, timeout: Duration) -> ForeignSqlite {
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
            // Failures reach the caller through first_row.
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build_unchecked(manager);
        ForeignSqlite { path, pool }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `sql` with `value` as `$1` and returns its first row, if any.
    pub async fn first_row(
        &self,
        sql: &str,
        value: &str,
        timeout: Duration,
    ) -> Result<Option<FirstRow>, ForeignError> {
        // r2d2 would retry a missing file until its timeout; say so at once.
        if !self.path.is_file() {
            return Err(ForeignError::NoFile(self.path.clone()));
        }
        let pool = self.pool.clone();
        let sql = sql.to_string();
        let value = value.to_string();
        let deadline = Instant::now() + timeout;
        tokio::task::spawn_blocking(move || {
            let conn = pool.get().map_err(|e| ForeignError::Open(e.to_string()))?;
            // Stops a query still running at the deadline, so a slow one
            // does not hold its connection after the lookup gave up.
            conn.progress_handler(1000, Some(move || Instant::now() > deadline))?;
            let found = run(&conn, &sql, &value);
            let _ = conn.progress_handler(0, None::<fn() -> bool>);
            found
        })
        .await
        .map_err(|e| ForeignError::Task(e.to_string()))?
    }
}

fn run(
    conn: &rusqlite::Connection,
    sql: &str,
    value: &str,
) -> Result<Option<FirstRow>, ForeignError> {
    let mut statement = conn.prepare_cached(sql)?;
    let names: Vec<String> = statement
        .column_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    // `$1` is SQLite's parameter named "$1": the first and only one.
    let mut rows = statement.query([value])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let mut columns = Vec::with_capacity(names.len());
    for (i, name) in names.into_iter().enumerate() {
        columns.push((name, cell(row.get_ref(i)?)));
    }
    let more = rows.next()?.is_some();
    Ok(Some(FirstRow { columns, more }))
}

fn cell(value: ValueRef<'_>) -> Cell {
    match value {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(n) => Cell::Integer(n),
        ValueRef::Real(x) => Cell::Real(x),
        ValueRef::Text(bytes) => Cell::Text(String::from_utf8_lossy(bytes).into_owned()),
        ValueRef::Blob(_) => Cell::Blob,
    }
}

/// Makes a database file as "another application" would, for the
/// directory's tests.
#[cfg(test)]
pub fn create_for_tests(path: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).expect("create the test database");
    conn.execute_batch(sql).expect("fill the test database");
}
