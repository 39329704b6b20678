//! PostgreSQL column values as JSON: which column types gatehouse can read,
//! and how each one's binary form becomes a JSON value.
//!
//! Kept apart from the connection and query handling because it is pure
//! decoding, with its own edge cases (exact `numeric`, `infinity` dates,
//! arrays and domains) and tests that need no database.

use serde_json::Value;
use tokio_postgres::types::{FromSql, Kind, Type};

use crate::directory::sql::float;

type BoxError = Box<dyn std::error::Error + Sync + Send>;

/// One column's value as JSON.
///
/// bool -> boolean; int2/4/8, oid, float4/8 -> number; numeric -> string
/// (exact: a JSON number would round it; cast to float8 or int8 for a
/// number); text, varchar, char, name, citext, enums -> string; uuid ->
/// string; json/jsonb -> as is; date -> "2024-05-01"; timestamptz -> RFC
/// 3339 in UTC; timestamp (no zone) -> "2024-05-01T12:00:00", as stored;
/// arrays of any of these -> arrays; domains as their base type; NULL ->
/// null. Anything else is refused by `check_columns`.
pub(super) struct Cell(pub(super) Value);

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
    fn only_readable_types_are_accepted() {
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
    }
}
