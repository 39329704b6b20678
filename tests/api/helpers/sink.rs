//! An HTTP server that records every request it gets, standing in for an SMS
//! provider's webhook, a client's callback, a proxy's upstream or another
//! system's endpoint.

use std::future::Future;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// A recording HTTP server on a loopback port.
#[derive(Clone)]
pub struct WebhookSink {
    /// `http://127.0.0.1:PORT/<path>`: any path is answered.
    pub url: String,
    received: Arc<Mutex<Vec<ReceivedRequest>>>,
}

#[derive(Clone, Debug)]
pub struct ReceivedRequest {
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
    /// Path and query, e.g. `/sms?code=...` when used as an OAuth callback.
    pub uri: String,
}

impl ReceivedRequest {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("webhook body is JSON")
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

    /// A sink at `path` answering each request with `answer(n, request)`,
    /// `n` counting from 0; the request is recorded first.
    pub async fn answering<F, A>(path: &str, answer: F) -> WebhookSink
    where
        F: Fn(usize, &ReceivedRequest) -> A + Clone + Send + Sync + 'static,
        A: Future<Output = Response> + Send + 'static,
    {
        let received: Arc<Mutex<Vec<ReceivedRequest>>> = Arc::default();
        let log = received.clone();
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let request = ReceivedRequest {
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
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind sink");
        let url = format!("http://{}{path}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        WebhookSink { url, received }
    }

    pub fn received(&self) -> Vec<ReceivedRequest> {
        self.received.lock().unwrap().clone()
    }

    /// The code in the last message sent to `phone`, if any.
    pub fn last_code_for(&self, phone: &str) -> Option<String> {
        self.received()
            .iter()
            .rev()
            .map(ReceivedRequest::json)
            .find(|m| m["phone"] == phone)
            .and_then(|m| m["code"].as_str().map(str::to_string))
    }
}
