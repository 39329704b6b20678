//! The HTTP edge under abuse and faults (issue 18): connections that never
//! end (`connections`), answers when the database, the disk or Hydra fail
//! (`faults`), over-long addresses (`faults`), and what the binary writes
//! into a pipe (`logs`).

mod connections;
mod faults;
mod logs;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::binary::{env_for, wrapped_command};
use crate::helpers::http_browser::{form, HttpBrowser};
use crate::helpers::oauth::random_token;
use crate::helpers::{http_client, WebhookSink};
use gatehouse::config::{Config, SmsSenderKind};

/// Reads what the server sends until it closes the connection; panics if
/// it is still open after `limit`.
pub(crate) async fn read_until_closed(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    limit: Duration,
) -> String {
    let mut got = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server kept the connection open for {limit:?}"
    );
    String::from_utf8_lossy(&got).into_owned()
}

/// Sends `request` (raw bytes, as written) on a new connection and returns
/// the answer's status line.
async fn raw_status_line(address: std::net::SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let answer = read_until_closed(&mut stream, Duration::from_secs(30)).await;
    answer.lines().next().unwrap_or_default().to_string()
}

/// `gatehouse serve`, the real binary, started through `wrapper` with SMS
/// going to `sms`, its stderr in a file; killed when dropped.
struct Running {
    child: Child,
    stderr: PathBuf,
    address: String,
    config: Config,
}

impl Running {
    fn start(dir: &Path, sms: &WebhookSink, wrapper: &[&str], extra: &[(&str, &str)]) -> Running {
        let mut config = crate::helpers::test_config(dir.join("data"));
        config.sms.sender = SmsSenderKind::Webhook {
            url: sms.url.parse().unwrap(),
        };
        let mut env = env_for(&config);
        for (key, value) in extra {
            env.retain(|(k, _)| k != key);
            env.push((key.to_string(), value.to_string()));
        }
        let stderr = dir.join("stderr.log");
        let child = wrapped_command(wrapper, &["serve"], env, dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("start gatehouse serve");
        let address = format!("http://{}", config.server.listen);
        Running {
            child,
            stderr,
            address,
            config,
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A whole browser sign-in over HTTP against a running instance: a client
/// registered in Hydra, the authorization request, the phone and the code
/// from `sms`, back to `callback` with an authorization code.
async fn sign_in(running: &Running, sms: &WebhookSink, callback: &WebhookSink, phone: &str) {
    let admin = running.config.hydra_admin_url();
    let created: serde_json::Value = http_client()
        .post(admin.join("admin/clients").unwrap())
        .json(&json!({
            "redirect_uris": [callback.url],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "scope": "openid",
            "skip_consent": true,
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut url = url::Url::parse(&format!("{}/oauth2/auth", running.address)).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", created["client_id"].as_str().unwrap())
        .append_pair("redirect_uri", &callback.url)
        .append_pair("scope", "openid")
        .append_pair("state", &random_token());
    let browser = HttpBrowser::new();
    let login = browser.follow(url.as_str(), &callback.url).await;
    assert_eq!(login.status, 200, "login page: {}", login.body);
    let post = |page, fields: &[(&str, &str)]| {
        let fields = form(page, fields);
        let url = format!("{}/login", running.address);
        let browser = &browser;
        async move {
            let fields: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            browser.post(&url, &fields).await
        }
    };
    let code_page = post(&login, &[("action", "send"), ("phone", phone)]).await;
    assert_eq!(code_page.status, 200, "{}", code_page.body);
    let code = sms.code_for(phone).await;
    let accepted = post(&code_page, &[("action", "verify"), ("code", &code)]).await;
    let next = accepted
        .location
        .clone()
        .expect("a redirect after the code");
    let last = browser.follow(&next, &callback.url).await;
    let landed = last.location.unwrap_or_default();
    assert!(
        landed.starts_with(&callback.url) && landed.contains("code="),
        "not back at the client with a code: {} {landed}",
        last.status
    );
}
