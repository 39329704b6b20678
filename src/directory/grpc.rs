//! `kind = "grpc"`: an existing user service speaking
//! `gatehouse.directory.v1.Directory`.
//!
//! `LookupByPhone` and `LookupById` answer the record as a
//! `google.protobuf.Struct`, the same fields as the HTTP directory's JSON.
//! No record, or the status NOT_FOUND, is "no such user"; any other status
//! (a deadline exceeded included) is an outage: the person is told to try
//! again later and nothing is counted against them.

use prost_types::value::Kind;
use serde_json::{Map, Number, Value};
use tonic::transport::Channel;
use url::Url;

use super::{DirectoryError, Key};
use crate::config::GrpcSettings;
use crate::infra::grpc::proto::directory_client::DirectoryClient;
use crate::infra::grpc::proto::{LookupByIdRequest, LookupByPhoneRequest};
use crate::infra::grpc::{self, request};

/// A user record is small; refuse to decode a runaway answer.
const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Nested objects and lists deeper than this are cut (a record is flat or
/// nearly so; this bounds the recursion whatever the service sends).
const MAX_DEPTH: usize = 32;

pub struct GrpcDirectory {
    client: DirectoryClient<Channel>,
    settings: GrpcSettings,
}

impl GrpcDirectory {
    pub fn new(url: &Url, settings: &GrpcSettings) -> Result<GrpcDirectory, DirectoryError> {
        let channel = grpc::channel(url, settings)
            .map_err(|e| DirectoryError::Unavailable(format!("directory.grpc.url: {e}")))?;
        Ok(GrpcDirectory {
            client: DirectoryClient::new(channel).max_decoding_message_size(MAX_MESSAGE_BYTES),
            settings: settings.clone(),
        })
    }

    pub(super) async fn fetch(
        &self,
        key: Key<'_>,
    ) -> Result<Option<Map<String, Value>>, DirectoryError> {
        let mut client = self.client.clone();
        let answer = match key {
            Key::Phone(phone) => {
                let message = LookupByPhoneRequest {
                    phone: phone.as_str().to_string(),
                };
                client
                    .lookup_by_phone(request(message, &self.settings))
                    .await
            }
            Key::Id(id) => {
                let message = LookupByIdRequest { id: id.to_string() };
                client.lookup_by_id(request(message, &self.settings)).await
            }
        };
        match answer {
            Ok(response) => Ok(response.into_inner().user.map(|user| to_json(user, 0))),
            Err(status) if status.code() == tonic::Code::NotFound => Ok(None),
            Err(status) => {
                let problem = format!("user service: {}", grpc::failure(&status));
                tracing::warn!(%problem, "user directory lookup failed");
                Err(DirectoryError::Unavailable(problem))
            }
        }
    }
}

/// A Struct as the JSON object the field mapping reads.
fn to_json(record: prost_types::Struct, depth: usize) -> Map<String, Value> {
    record
        .fields
        .into_iter()
        .map(|(name, value)| (name, value_to_json(value, depth + 1)))
        .collect()
}

fn value_to_json(value: prost_types::Value, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    match value.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(flag)) => Value::Bool(flag),
        Some(Kind::StringValue(text)) => Value::String(text),
        Some(Kind::NumberValue(number)) => number_to_json(number),
        Some(Kind::StructValue(nested)) => Value::Object(to_json(nested, depth)),
        Some(Kind::ListValue(list)) => Value::Array(
            list.values
                .into_iter()
                .map(|item| value_to_json(item, depth + 1))
                .collect(),
        ),
    }
}

/// Struct numbers are doubles: a whole one (an integer id) becomes an
/// integer, so it reads "42", not "42.0".
fn number_to_json(number: f64) -> Value {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if number.fract() == 0.0 && number.abs() <= EXACT {
        return Value::Number(Number::from(number as i64));
    }
    Number::from_f64(number).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::{ListValue, Struct};

    fn value(kind: Kind) -> prost_types::Value {
        prost_types::Value { kind: Some(kind) }
    }

    #[test]
    fn a_struct_becomes_the_json_the_field_mapping_reads() {
        let mut profile = Struct::default();
        profile
            .fields
            .insert("first_name".into(), value(Kind::StringValue("Ada".into())));
        let mut record = Struct::default();
        record
            .fields
            .insert("id".into(), value(Kind::NumberValue(42.0)));
        record
            .fields
            .insert("score".into(), value(Kind::NumberValue(1.5)));
        record
            .fields
            .insert("nan".into(), value(Kind::NumberValue(f64::NAN)));
        record
            .fields
            .insert("disabled".into(), value(Kind::BoolValue(false)));
        record
            .fields
            .insert("profile".into(), value(Kind::StructValue(profile)));
        record.fields.insert(
            "roles".into(),
            value(Kind::ListValue(ListValue {
                values: vec![value(Kind::StringValue("admin".into()))],
            })),
        );
        record
            .fields
            .insert("gone".into(), value(Kind::NullValue(0)));
        assert_eq!(
            Value::Object(to_json(record, 0)),
            serde_json::json!({
                "id": 42, "score": 1.5, "nan": null, "disabled": false,
                "profile": {"first_name": "Ada"}, "roles": ["admin"], "gone": null,
            })
        );
    }

    #[test]
    fn deep_nesting_is_cut_not_followed() {
        // prost refuses to decode a message nested deeper than 100 levels, so
        // 1,000 is past anything a directory can send; 10,000 overflowed the
        // test thread's stack in dropping the value itself (a debug build).
        let mut nested = value(Kind::StringValue("bottom".into()));
        for _ in 0..1_000 {
            nested = value(Kind::ListValue(ListValue {
                values: vec![nested],
            }));
        }
        let mut record = Struct::default();
        record.fields.insert("deep".into(), nested);
        let json = Value::Object(to_json(record, 0)).to_string();
        assert!(!json.contains("bottom"), "cut at {MAX_DEPTH} levels");
    }
}
