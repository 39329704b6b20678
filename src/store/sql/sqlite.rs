//! The neutral layer on SQLite: statements prepared once per connection
//! (rusqlite's cache), values handed over as they are.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params_from_iter, Connection, ToSql};

use super::{Row, Value};
use crate::store::StoreError;

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Value::Blob(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
        })
    }
}

pub(super) fn execute(conn: &Connection, sql: &str, params: &[Value]) -> Result<usize, StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    Ok(statement.execute(params_from_iter(params))?)
}

pub(super) fn query(
    conn: &Connection,
    sql: &str,
    params: &[Value],
) -> Result<Vec<Row>, StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    let columns = statement.column_count();
    let mut rows = statement.query(params_from_iter(params))?;
    let mut answer = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(columns);
        for index in 0..columns {
            values.push(match row.get_ref(index)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(v) => Value::Int(v),
                // No column of gatehouse's is a REAL; one would be a bug.
                ValueRef::Real(v) => Value::Text(v.to_string()),
                ValueRef::Text(v) => Value::Text(String::from_utf8_lossy(v).into_owned()),
                ValueRef::Blob(v) => Value::Blob(v.to_vec()),
            });
        }
        answer.push(Row(values));
    }
    Ok(answer)
}
