//! The forward-auth scenarios' client: one keep-alive HTTP/1.1 connection
//! per worker, on hyper's bare client. reqwest's pool and layers cost about
//! 40 us of CPU per request, as much as the verification measured, on the
//! same two CPUs; gatehouse and Oathkeeper are both asked through this.

use std::future::poll_fn;
use std::pin::Pin;

use anyhow::{bail, Context, Result};
use hyper::body::Body;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, HOST};
use hyper_util::rt::TokioIo;
use tokio::sync::Mutex;

/// One connection per worker to one `http://` URL, opened on first use
/// (a scenario's warm-up), and again after one fails.
pub struct Connections {
    /// host:port, to connect to and for the Host header.
    authority: String,
    /// The path and query asked.
    path: String,
    slots: Vec<Mutex<Option<SendRequest<String>>>>,
}

impl Connections {
    pub fn new(url: &str, workers: usize) -> Result<Connections> {
        let parsed = reqwest::Url::parse(url).with_context(|| format!("parse {url}"))?;
        if parsed.scheme() != "http" {
            bail!("{url}: the forward-auth client speaks plain http only");
        }
        let host = parsed.host_str().context("a URL without a host")?;
        let port = parsed.port_or_known_default().unwrap_or(80);
        let path = match parsed.query() {
            Some(query) => format!("{}?{query}", parsed.path()),
            None => parsed.path().to_string(),
        };
        Ok(Connections {
            authority: format!("{host}:{port}"),
            path,
            slots: (0..workers.max(1)).map(|_| Mutex::new(None)).collect(),
        })
    }

    /// GET with `token` as the bearer token, on `worker`'s connection; the
    /// answer's status, its body read and dropped.
    pub async fn get(&self, worker: usize, token: &str) -> Result<u16, String> {
        let mut slot = self.slots[worker % self.slots.len()].lock().await;
        let mut sender = match slot.take() {
            Some(sender) => sender,
            None => self.connect().await?,
        };
        let request = hyper::Request::get(self.path.as_str())
            .header(HOST, self.authority.as_str())
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .body(String::new())
            .map_err(|e| e.to_string())?;
        let sent = async {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status().as_u16();
            let mut body = response.into_body();
            while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
                frame?;
            }
            Ok::<u16, hyper::Error>(status)
        };
        // A connection that failed is dropped; the next call opens another.
        let status = sent.await.map_err(|e| e.to_string())?;
        *slot = Some(sender);
        Ok(status)
    }

    async fn connect(&self) -> Result<SendRequest<String>, String> {
        let stream = tokio::net::TcpStream::connect(&self.authority)
            .await
            .map_err(|e| format!("connect to {}: {e}", self.authority))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        Ok(sender)
    }
}
