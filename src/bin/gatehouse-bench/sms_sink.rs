//! The SMS gateway gatehouse sends its codes to during the benchmark: a
//! webhook inside this process that keeps the last code per phone, for the
//! flows to read back as a user reads a text message.

use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::Result;
use gatehouse::sms::MemoryOutbox;
use serde_json::Value;

/// An SMS gateway that keeps the last code per phone.
#[derive(Clone)]
pub struct SmsSink {
    /// Where gatehouse posts (`[sms.webhook] url`).
    pub url: String,
    /// `http://127.0.0.1:PORT`, also the origin of the clients' callback.
    pub origin: String,
    codes: MemoryOutbox,
}

impl SmsSink {
    /// Listens on a free loopback port, in a task of its own.
    pub async fn start() -> Result<SmsSink> {
        let codes = MemoryOutbox::default();
        let kept = codes.clone();
        let app = axum::Router::new().route(
            "/sms",
            axum::routing::post(move |axum::Json(message): axum::Json<Value>| {
                let kept = kept.clone();
                async move {
                    if let (Some(phone), Some(code)) =
                        (message["phone"].as_str(), message["code"].as_str())
                    {
                        kept.keep(phone, code);
                    }
                    axum::http::StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let origin = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(SmsSink {
            url: format!("{origin}/sms"),
            origin,
            codes,
        })
    }

    /// Takes the last code sent to `phone` (E.164), waiting a while for
    /// gatehouse's outbox to send it.
    pub async fn take(&self, phone: &str) -> Option<String> {
        self.codes.wait_for(phone, Duration::from_secs(10)).await
    }
}
