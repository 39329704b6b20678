//! A directory's record (JSON object or SQL row) -> gatehouse's profile,
//! following `[directory.fields]`.

use serde_json::{Map, Value};

use super::{DirectoryError, DirectoryUser};
use crate::config::FieldMapping;
use crate::domain::PhoneNumber;
use crate::store::users::Profile;

/// The value at `path`: a key of the record itself (SQL column names, JSON
/// keys with dots), or else a dotted path into nested objects.
pub fn lookup<'a>(record: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(value) = record.get(path) {
        return Some(value);
    }
    let mut parts = path.split('.');
    let mut value = record.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
}

/// Maps one record. `looked_up_phone` is the phone the record was found by,
/// used when the record itself has no phone field.
pub fn to_user(
    record: Map<String, Value>,
    fields: &FieldMapping,
    looked_up_phone: Option<&PhoneNumber>,
) -> Result<DirectoryUser, DirectoryError> {
    let text = |path: &str| lookup(&record, path).and_then(as_text);
    let flag = |path: &str| lookup(&record, path).and_then(as_flag);
    let id = text(&fields.subject).ok_or_else(|| {
        DirectoryError::BadRecord(format!(
            "it has no `{}` (directory.fields.subject), the user id",
            fields.subject
        ))
    })?;
    let profile = Profile {
        given_name: text(&fields.given_name),
        family_name: text(&fields.family_name),
        email: text(&fields.email),
        email_verified: flag(&fields.email_verified).unwrap_or(false),
        street_address: text(&fields.street_address),
        locality: text(&fields.locality),
        region: text(&fields.region),
        postal_code: text(&fields.postal_code),
        country: text(&fields.country),
    };
    Ok(DirectoryUser {
        id,
        phone: text(&fields.phone).or_else(|| looked_up_phone.map(|p| p.as_str().to_string())),
        // People only ever sign in with a code sent to their phone.
        phone_verified: flag(&fields.phone_verified).unwrap_or(true),
        disabled: flag(&fields.disabled).unwrap_or(false),
        profile,
        record,
    })
}

/// Strings as they are, numbers as digits (ids are often integers); empty
/// strings count as absent.
fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// JSON booleans, 0/1 (SQLite has no booleans) and the usual words.
fn as_flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|n| n != 0.0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" => Some(true),
            "false" | "f" | "no" | "n" | "0" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Map<String, Value> {
        value.as_object().expect("an object").clone()
    }

    #[test]
    fn mapped_fields_fill_the_profile() {
        let fields = FieldMapping {
            subject: "user_id".into(),
            given_name: "profile.first".into(),
            family_name: "profile.last".into(),
            email: "contact.email".into(),
            email_verified: "contact.email_ok".into(),
            disabled: "blocked".into(),
            ..FieldMapping::default()
        };
        let user = to_user(
            record(json!({
                "user_id": 42,
                "phone": "+12015550123",
                "profile": {"first": "Ada", "last": "Lovelace"},
                "contact": {"email": "ada@example.com", "email_ok": 1},
                "blocked": "no",
                "roles": ["admin"]
            })),
            &fields,
            None,
        )
        .unwrap();
        assert_eq!(user.id, "42");
        assert_eq!(user.phone.as_deref(), Some("+12015550123"));
        assert_eq!(user.profile.given_name.as_deref(), Some("Ada"));
        assert_eq!(user.profile.family_name.as_deref(), Some("Lovelace"));
        assert_eq!(user.profile.email.as_deref(), Some("ada@example.com"));
        assert!(user.profile.email_verified);
        assert!(!user.disabled);
        assert!(user.phone_verified, "no phone_verified field: verified");
        assert_eq!(user.record["roles"], json!(["admin"]));
    }

    #[test]
    fn a_record_without_a_subject_is_refused_naming_the_setting() {
        let err =
            to_user(record(json!({"name": "x"})), &FieldMapping::default(), None).unwrap_err();
        assert!(
            err.to_string().contains("directory.fields.subject"),
            "{err}"
        );
        let err = to_user(record(json!({"id": ""})), &FieldMapping::default(), None);
        assert!(err.is_err(), "an empty id is no id");
    }

    #[test]
    fn the_looked_up_phone_fills_a_missing_phone_field() {
        let phone = PhoneNumber::parse("+12015550123", None).unwrap();
        let user = to_user(
            record(json!({"id": "u1", "disabled": true})),
            &FieldMapping::default(),
            Some(&phone),
        )
        .unwrap();
        assert_eq!(user.phone.as_deref(), Some("+12015550123"));
        assert!(user.disabled);
    }

    #[test]
    fn flags_accept_what_databases_store() {
        for (value, expected) in [
            (json!(true), Some(true)),
            (json!(0), Some(false)),
            (json!(1), Some(true)),
            (json!("t"), Some(true)),
            (json!("FALSE"), Some(false)),
            (json!("maybe"), None),
            (json!(null), None),
        ] {
            assert_eq!(as_flag(&value), expected, "{value}");
        }
    }
}
