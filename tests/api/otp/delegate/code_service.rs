//! An existing system that sends and checks sign-in codes itself, speaking
//! the HTTP delegate's JSON (README) and the proto's `Verification` service:
//! it makes a random code per flow id and "texts" it (keeps it for the test).

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use gatehouse::infra::grpc::proto::verification_server::{Verification, VerificationServer};
use gatehouse::infra::grpc::proto::{
    CheckVerificationRequest, CheckVerificationResponse, StartVerificationRequest,
    StartVerificationResponse,
};
use serde_json::{json, Value};
use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;
use tonic::{Request, Response as GrpcResponse, Status};

pub const TOKEN: &str = "code-service-token-123";

#[derive(Default)]
struct Book {
    /// flow id -> (phone, code)
    codes: HashMap<String, (String, String)>,
    /// Every code sent, in order: (phone, flow id, code).
    sent: Vec<(String, String, String)>,
    /// Every check asked: (flow id, code).
    checks: Vec<(String, String)>,
    down: bool,
    /// How long each HTTP answer takes.
    delay: std::time::Duration,
}

#[derive(Clone, Default)]
pub struct CodeService {
    book: Arc<Mutex<Book>>,
}

impl CodeService {
    pub fn set_down(&self, down: bool) {
        self.book.lock().unwrap().down = down;
    }

    /// Every HTTP answer from now on takes `delay`.
    pub fn set_delay(&self, delay: std::time::Duration) {
        self.book.lock().unwrap().delay = delay;
    }

    async fn wait(&self) {
        let delay = self.book.lock().unwrap().delay;
        tokio::time::sleep(delay).await;
    }

    /// The last code sent to `phone`.
    pub fn code_for(&self, phone: &str) -> Option<String> {
        let book = self.book.lock().unwrap();
        book.sent
            .iter()
            .rev()
            .find(|(to, _, _)| to == phone)
            .map(|(_, _, code)| code.clone())
    }

    pub fn checks(&self) -> Vec<(String, String)> {
        self.book.lock().unwrap().checks.clone()
    }

    fn start(&self, phone: &str, flow_id: &str) -> Result<(), ()> {
        let mut book = self.book.lock().unwrap();
        if book.down || flow_id.is_empty() || !phone.starts_with('+') {
            return Err(());
        }
        let code = format!("{:06}", rand::random::<u32>() % 1_000_000);
        book.codes
            .insert(flow_id.to_string(), (phone.to_string(), code.clone()));
        book.sent
            .push((phone.to_string(), flow_id.to_string(), code));
        Ok(())
    }

    fn check(&self, flow_id: &str, phone: &str, code: &str) -> Result<bool, ()> {
        let mut book = self.book.lock().unwrap();
        if book.down {
            return Err(());
        }
        book.checks.push((flow_id.to_string(), code.to_string()));
        let approved = book
            .codes
            .get(flow_id)
            .is_some_and(|(to, sent)| to == phone && sent == code);
        if approved {
            book.codes.remove(flow_id);
        }
        Ok(approved)
    }

    /// Serves the JSON API on a free loopback port; its base URL.
    pub async fn serve_http(&self) -> String {
        let app = Router::new()
            .route("/otp/verifications", post(http_start))
            .route("/otp/verifications/check", post(http_check))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let url = format!("http://{}/otp", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    /// Serves the proto's `Verification` on a free loopback port; its URL.
    pub async fn serve_grpc(&self) -> String {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let router = Server::builder().add_service(VerificationServer::new(self.clone()));
        tokio::spawn(router.serve_with_incoming(TcpIncoming::from(listener)));
        url
    }
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .is_some_and(|v| v == format!("Bearer {TOKEN}").as_str())
}

async fn http_start(
    State(service): State<CodeService>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    service.wait().await;
    let phone = body["phone"].as_str().unwrap_or_default();
    match service.start(phone, body["flow_id"].as_str().unwrap_or_default()) {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(()) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

async fn http_check(
    State(service): State<CodeService>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    service.wait().await;
    let field = |name: &str| body[name].as_str().unwrap_or_default().to_string();
    match service.check(&field("flow_id"), &field("phone"), &field("code")) {
        Ok(approved) => Json(json!({ "approved": approved })).into_response(),
        Err(()) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

#[tonic::async_trait]
impl Verification for CodeService {
    async fn start_verification(
        &self,
        request: Request<StartVerificationRequest>,
    ) -> Result<GrpcResponse<StartVerificationResponse>, Status> {
        let message = request.into_inner();
        self.start(&message.phone, &message.flow_id)
            .map(|()| GrpcResponse::new(StartVerificationResponse {}))
            .map_err(|()| Status::unavailable("the code service is down"))
    }

    async fn check_verification(
        &self,
        request: Request<CheckVerificationRequest>,
    ) -> Result<GrpcResponse<CheckVerificationResponse>, Status> {
        let message = request.into_inner();
        self.check(&message.flow_id, &message.phone, &message.code)
            .map(|approved| GrpcResponse::new(CheckVerificationResponse { approved }))
            .map_err(|()| Status::unavailable("the code service is down"))
    }
}
