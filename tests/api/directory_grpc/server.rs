//! A tiny reference implementation of `gatehouse.directory.v1.Directory`
//! (the proto gatehouse ships): people kept as JSON records, answered as
//! `google.protobuf.Struct`, over plaintext or TLS (with client
//! certificates required when given a CA to check them against).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use gatehouse::infra::grpc::proto::directory_server::{Directory, DirectoryServer};
use gatehouse::infra::grpc::proto::{LookupByIdRequest, LookupByPhoneRequest, LookupResponse};
use prost_types::value::Kind;
use serde_json::Value;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status};

/// How the service behaves right now.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Normal,
    /// Every call fails with INTERNAL.
    Failing,
    /// Every call waits forever (gatehouse's deadline must end it).
    Hanging,
}

/// TLS for the service: its certificate and key, and the CA whose client
/// certificates it requires (None: no client certificate asked).
pub struct Tls {
    pub cert_pem: String,
    pub key_pem: String,
    pub client_ca_pem: Option<String>,
}

#[derive(Default)]
struct Log {
    /// Each call: what was looked up ("phone:+1..." or "id:...") and the
    /// deadline gatehouse sent (`grpc-timeout`).
    calls: Vec<(String, Option<String>)>,
}

#[derive(Clone)]
pub struct ReferenceDirectory {
    pub url: String,
    users: Arc<Vec<Value>>,
    /// Phones the service answers NOT_FOUND for (the status instead of an
    /// empty answer: both mean "no such user").
    not_found_status: Arc<Vec<String>>,
    mode: Arc<Mutex<Mode>>,
    log: Arc<Mutex<Log>>,
}

impl ReferenceDirectory {
    /// Serves `users` (records with "uid" and "mobile") on a free loopback port.
    pub async fn start(users: Vec<Value>, not_found_status: &[&str], tls: Option<Tls>) -> Self {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let address = listener.local_addr().unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let service = ReferenceDirectory {
            url: format!("{scheme}://{address}"),
            users: Arc::new(users),
            not_found_status: Arc::new(not_found_status.iter().map(|p| p.to_string()).collect()),
            mode: Arc::new(Mutex::new(Mode::Normal)),
            log: Arc::default(),
        };
        let mut builder = Server::builder();
        if let Some(tls) = tls {
            let mut config =
                ServerTlsConfig::new().identity(Identity::from_pem(tls.cert_pem, tls.key_pem));
            if let Some(ca) = tls.client_ca_pem {
                config = config.client_ca_root(Certificate::from_pem(ca));
            }
            builder = builder.tls_config(config).unwrap();
        }
        let router = builder.add_service(DirectoryServer::new(service.clone()));
        tokio::spawn(router.serve_with_incoming(TcpIncoming::from(listener)));
        service
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// Every lookup so far and the deadline it carried.
    pub fn calls(&self) -> Vec<(String, Option<String>)> {
        self.log.lock().unwrap().calls.clone()
    }

    async fn answer<T>(
        &self,
        request: &Request<T>,
        looked_up: String,
        find: impl Fn(&Value) -> bool,
    ) -> Result<Response<LookupResponse>, Status> {
        let deadline = request
            .metadata()
            .get("grpc-timeout")
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        self.log
            .lock()
            .unwrap()
            .calls
            .push((looked_up.clone(), deadline));
        let mode = *self.mode.lock().unwrap();
        match mode {
            Mode::Failing => return Err(Status::internal("the user database is down")),
            Mode::Hanging => return std::future::pending().await,
            Mode::Normal => {}
        }
        if self
            .not_found_status
            .iter()
            .any(|phone| looked_up == format!("phone:{phone}"))
        {
            return Err(Status::not_found("no such user"));
        }
        let user = self.users.iter().find(|user| find(user)).map(to_struct);
        Ok(Response::new(LookupResponse { user }))
    }
}

#[tonic::async_trait]
impl Directory for ReferenceDirectory {
    async fn lookup_by_phone(
        &self,
        request: Request<LookupByPhoneRequest>,
    ) -> Result<Response<LookupResponse>, Status> {
        let phone = request.get_ref().phone.clone();
        let looked_up = format!("phone:{phone}");
        self.answer(&request, looked_up, |user| user["mobile"] == phone.as_str())
            .await
    }

    async fn lookup_by_id(
        &self,
        request: Request<LookupByIdRequest>,
    ) -> Result<Response<LookupResponse>, Status> {
        let id = request.get_ref().id.clone();
        let looked_up = format!("id:{id}");
        self.answer(&request, looked_up, |user| user["uid"] == id.as_str())
            .await
    }
}

/// A JSON object as a protobuf Struct.
fn to_struct(record: &Value) -> prost_types::Struct {
    let fields: BTreeMap<String, prost_types::Value> = record
        .as_object()
        .expect("records are objects")
        .iter()
        .map(|(name, value)| (name.clone(), to_value(value)))
        .collect();
    prost_types::Struct { fields }
}

fn to_value(value: &Value) -> prost_types::Value {
    let kind = match value {
        Value::Null => Kind::NullValue(0),
        Value::Bool(flag) => Kind::BoolValue(*flag),
        Value::Number(number) => Kind::NumberValue(number.as_f64().unwrap()),
        Value::String(text) => Kind::StringValue(text.clone()),
        Value::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.iter().map(to_value).collect(),
        }),
        Value::Object(_) => Kind::StructValue(to_struct(value)),
    };
    prost_types::Value { kind: Some(kind) }
}
