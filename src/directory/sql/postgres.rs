//! A PostgreSQL database of another application: each lookup is one READ
//! ONLY transaction on a pooled connection.
//!
//! Connections are made without TLS for now: point `directory.sql.url` at a
//! unix socket, the loopback interface or a private network.

use std::error::Error as _;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod};
use serde_json::{Map, Value};
use tokio_postgres::config::SslMode;
use tokio_postgres::types::{FromSql, Kind, ToSql, Type};
use tokio_postgres::{Column, NoTls, Row};

use super::{float, more_than_one_row, record, Query};
use crate::directory::DirectoryError;

type BoxError = Box<dyn std::error::Error + Sync + Send>;

pub struct Postgres {
    pool: Pool,
    /// The URL's password (as written and decoded), taken out of every
    /// message: whatever a driver error says, it must never print it.
    secrets: Vec<String>,
    statement_timeout_ms: u128,
}

impl Postgres {
    /// Reads the URL; connects only when the first lookup needs to.
    pub fn new(url: &str, pool_size: u32, timeout: Duration) -> Result<Postgres, DirectoryError> {
        // As written in the URL; tokio-postgres adds the decoded form.
        let mut secrets: Vec<String> = url::Url::parse(url)
            .ok()
            .and_then(|u| u.password().map(str::to_string))
            .into_iter()
            .collect();
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| {
            scrub(
                &secrets,
                DirectoryError::Unavailable(format!(
                    "directory.sql.url is not a PostgreSQL URL gatehouse can use: {}",
                    chain(&e)
                )),
            )
        })?;
        if let Some(password) = config.get_password() {
            secrets.push(String::from_utf8_lossy(password).into_owned());
        }
        if config.get_ssl_mode() == SslMode::Require {
            return Err(DirectoryError::Unavailable(
                "directory.sql.url asks for sslmode=require, but gatehouse connects to \
                 PostgreSQL without TLS for now: use a unix socket (?host=/run/postgresql), \
                 loopback or a private network, without sslmode"
                    .into(),
            ));
        }
        config.ssl_mode(SslMode::Disable);
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(timeout);
        }
        if config.get_application_name().is_none() {
            // So the database's administrators see who is connected.
            config.application_name("gatehouse");
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                // A connection the server closed is replaced; no extra query.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
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
            DirectoryError::Unavailable(format!("{}: {}", query.setting, chain(&e)))
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

/// Removes the URL's password from a message, whatever produced it.
fn scrub(secrets: &[String], error: DirectoryError) -> DirectoryError {
    let clean = |mut message: String| {
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            message = message.replace(secret.as_str(), "***");
        }
        message
    };
    match error {
        DirectoryError::Unavailable(m) => DirectoryError::Unavailable(clean(m)),
        DirectoryError::BadRecord(m) => DirectoryError::BadRecord(clean(m)),
        other => other,
    }
}

/// An error and its causes: tokio-postgres keeps the useful part (the
/// server's message, the socket error) in `source()`.
fn chain(error: &tokio_postgres::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

fn pool_error(error: PoolError) -> String {
    match error {
        PoolError::Backend(e) => chain(&e),
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

/// One column's value as JSON.
///
/// bool -> boolean; int2/4/8, oid, float4/8 -> number; numeric -> string
/// (exact: a JSON number would round it; cast to float8 or int8 for a
/// number); text, varchar, char, name, citext, enums -> string; uuid ->
/// string; json/jsonb -> as is; date -> "2024-05-01"; timestamptz -> RFC
/// 3339 in UTC; timestamp (no zone) -> "2024-05-01T12:00:00", as stored;
/// arrays of any of these -> arrays; domains as their base type; NULL ->
/// null. Anything else is refused by `check_columns`.
struct Cell(Value);

impl<'a> FromSql<'a> for Cell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Cell, BoxError> {
        to_json(ty, raw).map(Cell)
    }

    fn from_sql_null(_: &Type) -> Result<Cell, BoxError> {
        Ok(Cell(Value::Null))
    }

    fn accepts(ty: &Type) -> bool {
        match *ty {
            Type::BOOL
            | Type::INT2
            | Type::INT4
            | Type::INT8
            | Type::OID
            | Type::FLOAT4
            | Type::FLOAT8
            | Type::NUMERIC
            | Type::UUID
            | Type::JSON
            | Type::JSONB
            | Type::DATE
            | Type::TIMESTAMP
            | Type::TIMESTAMPTZ => true,
            ref ty if <&str as FromSql>::accepts(ty) => true,
            ref ty => match ty.kind() {
                Kind::Enum(_) => true,
                Kind::Array(member) | Kind::Domain(member) => Cell::accepts(member),
                _ => false,
            },
        }
    }
}

fn to_json(ty: &Type, raw: &[u8]) -> Result<Value, BoxError> {
    Ok(match *ty {
        Type::BOOL => Value::Bool(bool::from_sql(ty, raw)?),
        Type::INT2 => Value::from(i16::from_sql(ty, raw)?),
        Type::INT4 => Value::from(i32::from_sql(ty, raw)?),
        Type::INT8 => Value::from(i64::from_sql(ty, raw)?),
        Type::OID => Value::from(u32::from_sql(ty, raw)?),
        Type::FLOAT4 => float(f32::from_sql(ty, raw)?.into()),
        Type::FLOAT8 => float(f64::from_sql(ty, raw)?),
        Type::NUMERIC => Value::String(numeric_text(raw)?),
        Type::UUID => Value::String(uuid::Uuid::from_sql(ty, raw)?.to_string()),
        Type::JSON | Type::JSONB => Value::from_sql(ty, raw)?,
        Type::DATE => match infinity(raw, i32::MAX.to_be_bytes(), i32::MIN.to_be_bytes()) {
            Some(text) => text,
            None => Value::String(chrono::NaiveDate::from_sql(ty, raw)?.to_string()),
        },
        Type::TIMESTAMP => match infinity(raw, i64::MAX.to_be_bytes(), i64::MIN.to_be_bytes()) {
            Some(text) => text,
            None => Value::String(
                chrono::NaiveDateTime::from_sql(ty, raw)?
                    .format("%Y-%m-%dT%H:%M:%S%.f")
                    .to_string(),
            ),
        },
        Type::TIMESTAMPTZ => match infinity(raw, i64::MAX.to_be_bytes(), i64::MIN.to_be_bytes()) {
            Some(text) => text,
            None => Value::String(
                chrono::DateTime::<chrono::Utc>::from_sql(ty, raw)?
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            ),
        },
        ref ty if <&str as FromSql>::accepts(ty) => {
            Value::String(<&str>::from_sql(ty, raw)?.into())
        }
        ref ty => match ty.kind() {
            // An enum's binary form is its label.
            Kind::Enum(_) => Value::String(std::str::from_utf8(raw)?.into()),
            Kind::Domain(base) => to_json(base, raw)?,
            Kind::Array(_) => Value::Array(
                Vec::<Cell>::from_sql(ty, raw)?
                    .into_iter()
                    .map(|Cell(v)| v)
                    .collect(),
            ),
            _ => return Err(format!("type {ty} is not supported").into()),
        },
    })
}

/// PostgreSQL's 'infinity' and '-infinity' dates and timestamps (a common
/// "never expires"), which no calendar type holds.
fn infinity<const N: usize>(raw: &[u8], max: [u8; N], min: [u8; N]) -> Option<Value> {
    if raw == max {
        Some(Value::String("infinity".into()))
    } else if raw == min {
        Some(Value::String("-infinity".into()))
    } else {
        None
    }
}

/// `numeric`'s binary form as its exact decimal text: digit count, weight
/// (of the first base-10000 digit), sign, display scale, then the digits.
fn numeric_text(raw: &[u8]) -> Result<String, BoxError> {
    let word = |i: usize| -> Result<u16, BoxError> {
        let bytes = raw.get(2 * i..2 * i + 2).ok_or("numeric value too short")?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    };
    let ndigits = word(0)? as usize;
    let weight = word(1)? as i16 as i64;
    let sign = word(2)?;
    let dscale = word(3)? as usize;
    if raw.len() != 8 + 2 * ndigits {
        return Err("numeric value has the wrong length".into());
    }
    let negative = match sign {
        0x0000 => false,
        0x4000 => true,
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        _ => return Err("numeric value has an unknown sign".into()),
    };
    let digits = (0..ndigits)
        .map(|i| word(4 + i))
        .collect::<Result<Vec<u16>, _>>()?;
    if digits.iter().any(|&d| d > 9999) {
        return Err("numeric digit out of range".into());
    }
    // Digit i stands for digits[i] * 10000^(weight - i).
    let digit = |i: i64| -> u16 {
        usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(i).copied())
            .unwrap_or(0)
    };
    let mut text = String::new();
    if negative && !digits.iter().all(|&d| d == 0) {
        text.push('-');
    }
    if weight < 0 {
        text.push('0');
    } else {
        text.push_str(&digit(0).to_string());
        for i in 1..=weight {
            text.push_str(&format!("{:04}", digit(i)));
        }
    }
    if dscale > 0 {
        let mut fraction = String::new();
        let mut i = weight + 1;
        while fraction.len() < dscale {
            fraction.push_str(&format!("{:04}", digit(i)));
            i += 1;
        }
        fraction.truncate(dscale);
        text.push('.');
        text.push_str(&fraction);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A numeric's binary form, as PostgreSQL sends it.
    fn numeric(weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut raw = Vec::new();
        for word in [digits.len() as u16, weight as u16, sign, dscale]
            .into_iter()
            .chain(digits.iter().copied())
        {
            raw.extend_from_slice(&word.to_be_bytes());
        }
        raw
    }

    #[test]
    fn numeric_is_exact_text() {
        for (raw, expected) in [
            (numeric(0, 0, 0, &[]), "0"),
            (numeric(0, 0, 2, &[]), "0.00"),
            (numeric(0, 0, 0, &[42]), "42"),
            (numeric(1, 0, 0, &[1, 0]), "10000"),
            (numeric(1, 0, 0, &[1]), "10000"),
            (numeric(0, 0x4000, 2, &[12, 3400]), "-12.34"),
            (numeric(-1, 0, 4, &[5]), "0.0005"),
            (numeric(-2, 0, 8, &[1234]), "0.00001234"),
            (numeric(2, 0, 1, &[9, 9999, 9999, 9000]), "999999999.9"),
            // 12345678901234567890: more digits than an f64 holds.
            (
                numeric(4, 0, 0, &[1234, 5678, 9012, 3456, 7890]),
                "12345678901234567890",
            ),
            (numeric(0, 0xC000, 0, &[]), "NaN"),
            (numeric(0, 0xD000, 0, &[]), "Infinity"),
            (numeric(0, 0xF000, 0, &[]), "-Infinity"),
        ] {
            assert_eq!(numeric_text(&raw).unwrap(), expected, "{raw:?}");
        }
    }

    #[test]
    fn malformed_numerics_are_errors_not_panics() {
        for raw in [
            vec![],
            vec![0, 1],
            numeric(0, 0, 0, &[1])[..9].to_vec(),
            numeric(0, 0x1234, 0, &[1]),
            numeric(0, 0, 0, &[10000]),
            numeric(i16::MIN, 0, u16::MAX, &[1]),
        ] {
            let _ = numeric_text(&raw);
        }
        assert!(numeric_text(&numeric(0, 0, 0, &[10000])).is_err());
        assert!(numeric_text(&[0, 2, 0, 0, 0, 0, 0, 0, 0, 1]).is_err());
    }

    #[test]
    fn scalars_map_to_json() {
        let cases: Vec<(Type, Vec<u8>, Value)> = vec![
            (Type::BOOL, vec![1], json!(true)),
            (Type::INT2, 7i16.to_be_bytes().to_vec(), json!(7)),
            (Type::INT4, (-7i32).to_be_bytes().to_vec(), json!(-7)),
            (Type::INT8, 1i64.to_be_bytes().to_vec(), json!(1)),
            (Type::FLOAT8, 2.5f64.to_be_bytes().to_vec(), json!(2.5)),
            (Type::FLOAT4, f32::NAN.to_be_bytes().to_vec(), Value::Null),
            (Type::TEXT, b"Ada".to_vec(), json!("Ada")),
            (Type::BPCHAR, b"GB".to_vec(), json!("GB")),
            (
                Type::UUID,
                (0u8..16).collect(),
                json!("00010203-0405-0607-0809-0a0b0c0d0e0f"),
            ),
            // 2000-01-01 is day 0 and microsecond 0.
            (
                Type::DATE,
                31i32.to_be_bytes().to_vec(),
                json!("2000-02-01"),
            ),
            (
                Type::TIMESTAMPTZ,
                1_500_000i64.to_be_bytes().to_vec(),
                json!("2000-01-01T00:00:01.500Z"),
            ),
            (
                Type::TIMESTAMP,
                3_600_000_000i64.to_be_bytes().to_vec(),
                json!("2000-01-01T01:00:00"),
            ),
            (
                Type::TIMESTAMPTZ,
                i64::MAX.to_be_bytes().to_vec(),
                json!("infinity"),
            ),
            (
                Type::DATE,
                i32::MIN.to_be_bytes().to_vec(),
                json!("-infinity"),
            ),
            (Type::JSONB, b"\x01{\"a\": [1]}".to_vec(), json!({"a": [1]})),
        ];
        for (ty, raw, expected) in cases {
            assert!(Cell::accepts(&ty), "{ty}");
            assert_eq!(to_json(&ty, &raw).unwrap(), expected, "{ty}");
        }
    }

    #[test]
    fn wrong_lengths_are_errors_not_panics() {
        for ty in [
            Type::BOOL,
            Type::INT4,
            Type::INT8,
            Type::FLOAT8,
            Type::UUID,
            Type::DATE,
            Type::TIMESTAMPTZ,
            Type::TEXT_ARRAY,
            Type::JSONB,
        ] {
            for raw in [&b""[..], &b"\xff\xff\xff"[..]] {
                let _ = to_json(&ty, raw);
            }
        }
        assert!(to_json(&Type::INT4, b"").is_err());
        assert!(to_json(&Type::TEXT_ARRAY, b"\xff\xff\xff").is_err());
    }

    #[test]
    fn unsupported_types_are_named() {
        for ty in [
            Type::BYTEA,
            Type::MONEY,
            Type::INET,
            Type::INTERVAL,
            Type::BYTEA_ARRAY,
        ] {
            assert!(!Cell::accepts(&ty), "{ty}");
        }
        for ty in [Type::TEXT_ARRAY, Type::VARCHAR_ARRAY, Type::INT8_ARRAY] {
            assert!(Cell::accepts(&ty), "{ty}");
        }
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
        let db = Postgres::new(url, 1, Duration::from_secs(1)).unwrap();
        let scrubbed = scrub(
            &db.secrets,
            DirectoryError::Unavailable("bad s3cr@t and s3cr%40t here".into()),
        );
        assert_eq!(
            scrubbed.to_string(),
            "the user directory is unavailable: bad *** and *** here"
        );
        let err = Postgres::new("postgres://h/db?sslmode=require", 1, Duration::from_secs(1))
            .err()
            .unwrap();
        assert!(err.to_string().contains("sslmode=require"), "{err}");
    }
}
