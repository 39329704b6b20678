//! An HTTP server that records every request it gets, standing in for an SMS
//! provider's webhook, a client's callback, a proxy's upstream or another
//! system's endpoint.

use std::collections::HashMap;
use std::future::Future;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::response::{IntoResponse, Response};
use axum_server::tls_rustls::RustlsConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;

/// A recording HTTP (or HTTPS) server on a loopback port.
#[derive(Clone)]
pub struct WebhookSink {
    /// `http://127.0.0.1:PORT/<path>`: any path is answered.
    pub url: String,
    received: Arc<Mutex<Vec<ReceivedRequest>>>,
    /// Per phone, how many of its messages [`WebhookSink::code_for`] has seen.
    seen: Arc<Mutex<HashMap<String, usize>>>,
}

/// How long a test waits for gatehouse's outbox to deliver a message.
const DELIVERY_LIMIT: Duration = Duration::from_secs(10);

#[derive(Clone, Debug)]
pub struct ReceivedRequest {
    pub method: axum::http::Method,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
    /// Path and query, e.g. `/sms?code=...` when used as an OAuth callback.
    pub uri: String,
}

impl ReceivedRequest {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("webhook body is JSON")
    }

    /// The body's form fields, in order.
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

impl WebhookSink {
    /// A sink answering every request with `status`.
    pub async fn start(status: u16) -> WebhookSink {
        Self::scripted(vec![status]).await
    }

    /// A sink answering the n-th request with `statuses[n]` (the last one repeats).
    pub async fn scripted(statuses: Vec<u16>) -> WebhookSink {
        Self::answering("/sms", move |n, _| {
            let status = statuses[n.min(statuses.len() - 1)];
            std::future::ready(
                axum::http::StatusCode::from_u16(status)
                    .unwrap()
                    .into_response(),
            )
        })
        .await
    }

    /// A sink that accepts requests and never answers.
    pub async fn hanging() -> WebhookSink {
        Self::answering("/sms", |_, _| std::future::pending()).await
    }

    /// A sink at `path` that holds every request until the sender it
    /// returns says `true`, then answers 200.
    pub async fn held(path: &str) -> (WebhookSink, tokio::sync::watch::Sender<bool>) {
        let (release, held) = tokio::sync::watch::channel(false);
        let sink = Self::answering(path, move |_, _| {
            let mut held = held.clone();
            async move {
                let _ = held.wait_for(|released| *released).await;
                axum::http::StatusCode::OK.into_response()
            }
        })
        .await;
        (sink, release)
    }

    /// A sink at `path` answering each request with `answer(n, request)`,
    /// `n` counting from 0; the request is recorded first.
    pub async fn answering<F, A>(path: &str, answer: F) -> WebhookSink
    where
        F: Fn(usize, &ReceivedRequest) -> A + Clone + Send + Sync + 'static,
        A: Future<Output = Response> + Send + 'static,
    {
        let (app, received) = recorder(answer);
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind sink");
        let url = format!("http://{}{path}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        WebhookSink {
            url,
            received,
            seen: Arc::default(),
        }
    }

    /// A sink answering every request with `status` over HTTPS at `/sms`,
    /// presenting `cert_pem` (its key: `key_pem`).
    pub async fn start_tls(status: u16, cert_pem: &str, key_pem: &str) -> WebhookSink {
        Self::answering_tls("/sms", cert_pem, key_pem, move |_, _| {
            std::future::ready(
                axum::http::StatusCode::from_u16(status)
                    .unwrap()
                    .into_response(),
            )
        })
        .await
    }

    /// [`WebhookSink::answering`] over HTTPS, presenting `cert_pem` (its
    /// key: `key_pem`).
    pub async fn answering_tls<F, A>(
        path: &str,
        cert_pem: &str,
        key_pem: &str,
        answer: F,
    ) -> WebhookSink
    where
        F: Fn(usize, &ReceivedRequest) -> A + Clone + Send + Sync + 'static,
        A: Future<Output = Response> + Send + 'static,
    {
        let (app, received) = recorder(answer);
        let certificates = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certificates, key)
            .unwrap();
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind sink");
        listener.set_nonblocking(true).unwrap();
        let url = format!("https://{}{path}", listener.local_addr().unwrap());
        let config = RustlsConfig::from_config(Arc::new(tls));
        let server = axum_server::from_tcp_rustls(listener, config).unwrap();
        tokio::spawn(server.serve(app.into_make_service()));
        WebhookSink {
            url,
            received,
            seen: Arc::default(),
        }
    }

    pub fn received(&self) -> Vec<ReceivedRequest> {
        self.received.lock().unwrap().clone()
    }

    /// Waits for a message to `phone` newer than the last one this returned
    /// (gatehouse sends from its outbox, a moment after answering), and
    /// returns its code: the newest, if several arrived meanwhile.
    pub async fn code_for(&self, phone: &str) -> String {
        let started = Instant::now();
        loop {
            let messages: Vec<Value> = self
                .received()
                .iter()
                .map(ReceivedRequest::json)
                .filter(|m| m["phone"] == phone)
                .collect();
            if self.mark_seen(phone, messages.len()) {
                return messages.last().unwrap()["code"]
                    .as_str()
                    .expect("the message has a code")
                    .to_string();
            }
            assert!(
                started.elapsed() < DELIVERY_LIMIT,
                "no new SMS to {phone} within {DELIVERY_LIMIT:?}; received: {:?}",
                self.received()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Records that `count` messages to `phone` were seen; false when that
    /// is no more than before.
    fn mark_seen(&self, phone: &str, count: usize) -> bool {
        let mut seen = self.seen.lock().unwrap();
        let before = seen.insert(phone.to_string(), count).unwrap_or(0);
        if count <= before {
            seen.insert(phone.to_string(), before);
        }
        count > before
    }

    /// Waits until at least `count` requests arrived, and returns them all.
    pub async fn wait_for_requests(&self, count: usize) -> Vec<ReceivedRequest> {
        self.wait_for_requests_within(count, DELIVERY_LIMIT).await
    }

    /// [`Self::wait_for_requests`], waiting at most `limit`.
    pub async fn wait_for_requests_within(
        &self,
        count: usize,
        limit: Duration,
    ) -> Vec<ReceivedRequest> {
        let started = Instant::now();
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                started.elapsed() < limit,
                "{} of {count} requests within {limit:?}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The code in the last message sent to `phone` so far, if any; for
    /// "nothing was sent", check after the outbox is empty
    /// (`TestApp::outbox_drained`).
    pub fn last_code_for(&self, phone: &str) -> Option<String> {
        self.received()
            .iter()
            .rev()
            .map(ReceivedRequest::json)
            .find(|m| m["phone"] == phone)
            .and_then(|m| m["code"].as_str().map(str::to_string))
    }
}

type Recorded = Arc<Mutex<Vec<ReceivedRequest>>>;

/// A router that records every request, then answers it with `answer`.
fn recorder<F, A>(answer: F) -> (axum::Router, Recorded)
where
    F: Fn(usize, &ReceivedRequest) -> A + Clone + Send + Sync + 'static,
    A: Future<Output = Response> + Send + 'static,
{
    let received: Recorded = Arc::default();
    let log = received.clone();
    let app = axum::Router::new().fallback(
        move |method: axum::http::Method,
              uri: axum::http::Uri,
              headers: axum::http::HeaderMap,
              body: axum::body::Bytes| {
            let request = ReceivedRequest {
                method,
                uri: uri.to_string(),
                headers,
                body: body.to_vec(),
            };
            let reply = {
                let mut log = log.lock().unwrap();
                let reply = answer(log.len(), &request);
                log.push(request);
                reply
            };
            reply
        },
    );
    (app, received)
}

/// The check README.md tells a receiver (an SMS gateway, an events
/// receiver) to make: the header is `t=<unix>,v1=<hex HMAC-SHA256(secret,
/// "<t>.<body>")>`, and `t` is at most 5 minutes from the receiver's `now`.
/// Written here from the documentation, not from gatehouse's code.
pub fn signature_accepted(secret: &str, header: &str, body: &[u8], now: i64) -> bool {
    use hmac::{Hmac, Mac};
    let mut timestamp = None;
    let mut signature = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signature = hex::decode(value).ok(),
            _ => {}
        }
    }
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return false;
    };
    if (now - timestamp).abs() > 300 {
        return false;
    }
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&signature).is_ok()
}

/// The wall clock in unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
