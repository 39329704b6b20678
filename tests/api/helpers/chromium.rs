//! A real headless Chromium driven over WebDriver: Debian's chromedriver as a
//! child process, fantoccini as the client. Install both with
//! `scripts/install-chromium`.
//!
//! Every call returns an error (never hangs): element look-ups poll up to
//! `Chromium::wait`, other commands are capped, and errors name the page URL
//! and start of its source. Dropping a `Chromium`, also while a test panics,
//! ends the session and kills chromedriver with every Chromium process.

use std::fs::File;
use std::future::Future;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use url::Url;

use super::free_port;

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// A phone's viewport (CSS pixels), the default window.
pub const PHONE_WINDOW: (u32, u32) = (412, 915);
/// How long `wait_for`, `fill`, `click` and `text` look for their element.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(5);
/// Cap on any single WebDriver command, so a wedged browser fails the test
/// instead of hanging it. Page loads have their own, shorter, WebDriver limit.
const COMMAND_LIMIT: Duration = Duration::from_secs(60);
const PAGE_LOAD_LIMIT_MS: u64 = 30_000;
const SOURCE_SNIPPET_CHARS: usize = 1500;

/// Chromium's flags. The network here is closed: without the background,
/// sync and component flags Chromium keeps dialling Google and can hang.
/// `--no-sandbox` because tests run as root.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

pub struct Chromium {
    /// `None` once `close()` has ended the session.
    client: Option<Client>,
    session_id: String,
    driver: Driver,
    /// How long element look-ups poll before failing.
    pub wait: Duration,
}

impl Chromium {
    /// Starts chromedriver and a phone-sized headless Chromium session.
    /// Panics with chromedriver's log when that fails.
    pub async fn start() -> Chromium {
        Self::start_with_window(PHONE_WINDOW.0, PHONE_WINDOW.1).await
    }

    /// Like `start`, with a `width` x `height` window.
    pub async fn start_with_window(width: u32, height: u32) -> Chromium {
        match Self::try_start(width, height).await {
            Ok(browser) => browser,
            Err(err) => panic!("the browser did not start: {err:?}"),
        }
    }

    async fn try_start(width: u32, height: u32) -> Result<Chromium> {
        for binary in [CHROMEDRIVER, CHROMIUM] {
            if !Path::new(binary).is_file() {
                bail!("{binary} is not installed: run scripts/install-chromium first");
            }
        }
        let mut driver = Driver::spawn()?;
        driver.wait_until_ready(Duration::from_secs(20)).await?;

        let profile = driver.dir.path().join("profile");
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        args.push(format!("--window-size={width},{height}"));
        let capabilities = json!({
            "browserName": "chrome",
            // Everything the page's console says, for `assert_no_console_errors`.
            "goog:loggingPrefs": { "browser": "ALL" },
            "pageLoadStrategy": "normal",
            "timeouts": { "implicit": 0, "pageLoad": PAGE_LOAD_LIMIT_MS, "script": 10_000 },
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": args,
                // Headless Chromium keeps windows at least 500 px wide, so the
                // window size alone cannot make a phone; this emulates its
                // viewport (and touch, and `<meta name=viewport>` handling).
                "mobileEmulation": {
                    "deviceMetrics": { "width": width, "height": height, "pixelRatio": 1.0 }
                },
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        // Loopback plain http only: a bare HTTP connector, no TLS stack.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let url = driver.url();
        let mut builder = ClientBuilder::new(connector);
        builder.capabilities(capabilities);
        let client = match tokio::time::timeout(COMMAND_LIMIT, builder.connect(&url)).await {
            Ok(Ok(client)) => client,
            Ok(Err(err)) => bail!("new WebDriver session: {err}\n{}", driver.log()),
            Err(_) => bail!(
                "no WebDriver session within {COMMAND_LIMIT:?}\n{}",
                driver.log()
            ),
        };
        let session_id = client
            .session_id()
            .await?
            .context("chromedriver gave no session id")?;
        Ok(Chromium {
            client: Some(client),
            session_id,
            driver,
            wait: DEFAULT_WAIT,
        })
    }

    /// The fantoccini client, for anything this API does not cover.
    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("session is open")
    }

    pub async fn goto(&self, url: &str) -> Result<()> {
        self.run(format!("goto {url}"), self.client().goto(url))
            .await
    }

    pub async fn current_url(&self) -> Result<Url> {
        self.run("current URL".into(), self.client().current_url())
            .await
    }

    /// Polls every 100 ms for an element matching `css`, up to `timeout`.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element> {
        let find = self
            .client()
            .wait()
            .at_most(timeout)
            .every(Duration::from_millis(100))
            .for_element(Locator::Css(css));
        self.run(format!("waiting {timeout:?} for `{css}`"), find)
            .await
    }

    /// Replaces the value of the input matching `css` with `text`.
    pub async fn fill(&self, css: &str, text: &str) -> Result<()> {
        let element = self.wait_for(css, self.wait).await?;
        self.run(format!("filling `{css}`"), async {
            element.clear().await?;
            element.send_keys(text).await
        })
        .await
    }

    /// Types `keys` into the element matching `css`, as a keyboard does
    /// (" " toggles a checkbox, "\u{e007}" is Enter).
    pub async fn press(&self, css: &str, keys: &str) -> Result<()> {
        let element = self.wait_for(css, self.wait).await?;
        self.run(format!("typing into `{css}`"), element.send_keys(keys))
            .await
    }

    /// Is the checkbox (or option) matching `css` selected?
    pub async fn is_checked(&self, css: &str) -> Result<bool> {
        let element = self.wait_for(css, self.wait).await?;
        self.run(format!("state of `{css}`"), element.is_selected())
            .await
    }

    pub async fn click(&self, css: &str) -> Result<()> {
        let element = self.wait_for(css, self.wait).await?;
        self.run(format!("clicking `{css}`"), element.click()).await
    }

    /// The rendered (visible) text of the element matching `css`.
    pub async fn text(&self, css: &str) -> Result<String> {
        let element = self.wait_for(css, self.wait).await?;
        self.run(format!("text of `{css}`"), element.text()).await
    }

    /// Saves a PNG of the viewport to `<repo>/test-artifacts/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let png = self
            .run(format!("screenshot {name}"), self.client().screenshot())
            .await?;
        let dir = artifacts_dir();
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// Slows the page's CPU down `rate` times (Chrome DevTools'
    /// `Emulation.setCPUThrottlingRate`; Lighthouse takes 4 for a mid-range
    /// phone), through chromedriver's DevTools command endpoint.
    pub async fn throttle_cpu(&self, rate: f64) -> Result<()> {
        let url = format!(
            "{}/session/{}/goog/cdp/execute",
            self.driver.url(),
            self.session_id
        );
        let command = json!({"cmd": "Emulation.setCPUThrottlingRate", "params": {"rate": rate}});
        let response = super::http_client().post(url).json(&command).send().await?;
        if !response.status().is_success() {
            bail!("CPU throttling refused: {}", response.text().await?);
        }
        Ok(())
    }

    /// A WebDriver command of the session (`path` after
    /// `/session/{id}/`), e.g. the WebAuthn extension's virtual
    /// authenticators: `method` ("GET", "POST", "DELETE"), with `body` as
    /// JSON when POSTing; its `value`.
    pub async fn webdriver(&self, method: &str, path: &str, body: Value) -> Result<Value> {
        let url = format!("{}/session/{}/{path}", self.driver.url(), self.session_id);
        let http = super::http_client();
        let request = match method {
            "POST" => http.post(url).json(&body),
            "DELETE" => http.delete(url),
            _ => http.get(url),
        };
        let response = request.send().await?;
        let status = response.status();
        let answer: Value = response.json().await?;
        if !status.is_success() {
            bail!("WebDriver {path}: {status} {answer}");
        }
        Ok(answer["value"].clone())
    }

    /// The console's errors (and failed loads, such as a 404) since the
    /// last call, as chromedriver's log has them; reading empties it.
    pub async fn console_errors(&self) -> Result<Vec<String>> {
        let url = format!("{}/session/{}/se/log", self.driver.url(), self.session_id);
        let log: Value = super::http_client()
            .post(url)
            .json(&json!({ "type": "browser" }))
            .send()
            .await?
            .json()
            .await?;
        let entries = log["value"].as_array().context("no log entries")?;
        Ok(entries
            .iter()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_string())
            .collect())
    }

    /// Fails the test if the console reported any error since the last look.
    pub async fn assert_no_console_errors(&self, page: &str) {
        let errors = self.console_errors().await.expect("chromedriver's log");
        assert!(errors.is_empty(), "console errors on {page}: {errors:#?}");
    }

    /// Pids of chromedriver and every Chromium process it started.
    pub fn process_ids(&self) -> Vec<u32> {
        self.driver.group()
    }

    /// Ends the session (Chromium quits), then chromedriver (on drop).
    pub async fn close(mut self) -> Result<()> {
        let client = self.client.take().expect("session is open");
        match tokio::time::timeout(COMMAND_LIMIT, client.close()).await {
            Ok(result) => result.context("ending the WebDriver session"),
            Err(_) => bail!("ending the WebDriver session took over {COMMAND_LIMIT:?}"),
        }
    }

    /// Runs one WebDriver command with a time cap; a failure says where the
    /// browser was and what it showed.
    async fn run<T>(
        &self,
        what: String,
        command: impl Future<Output = Result<T, CmdError>>,
    ) -> Result<T> {
        let err = match tokio::time::timeout(COMMAND_LIMIT, command).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(CmdError::WaitTimeout)) => anyhow!("not found in time"),
            Ok(Err(err)) => anyhow!(err),
            Err(_) => anyhow!("no answer from chromedriver within {COMMAND_LIMIT:?}"),
        };
        Err(err.context(format!("{what} failed\n{}", self.page_state().await)))
    }

    /// The page URL and the start of its source, best effort.
    async fn page_state(&self) -> String {
        let limit = Duration::from_secs(5);
        let client = self.client();
        let url = match tokio::time::timeout(limit, client.current_url()).await {
            Ok(Ok(url)) => url.to_string(),
            other => format!("(unknown: {other:?})"),
        };
        let source = match tokio::time::timeout(limit, client.source()).await {
            Ok(Ok(source)) => snippet(&source),
            other => format!("(unknown: {other:?})"),
        };
        format!("  page: {url}\n  source: {source}")
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // Drop cannot await, and while a test panics the runtime may never run
        // fantoccini's own clean-up: end the session with a blocking request
        // so chromedriver quits Chromium (and reaps it) before being killed.
        if self.client.take().is_some() {
            delete_session_blocking(self.driver.port, &self.session_id);
        }
    }
}

/// The chromedriver process, leader of its own process group; Chromium's
/// processes join that group, so one signal on drop ends them all. (Only
/// Chromium's crashpad handlers start their own sessions; they exit when the
/// browser does.)
struct Driver {
    child: Child,
    port: u16,
    /// chromedriver.log, the browser profile and TMPDIR; removed after the
    /// processes are gone (fields drop after `Drop::drop`).
    dir: tempfile::TempDir,
}

impl Driver {
    fn spawn() -> Result<Driver> {
        let dir = tempfile::tempdir()?;
        let port = free_port();
        let log = File::create(dir.path().join("chromedriver.log"))?;
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Chromium's scratch files and crash-report database (otherwise
            // in ~/.config/chromium) land in our temp dir and go with it.
            .env("TMPDIR", dir.path())
            .env("XDG_CONFIG_HOME", dir.path())
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {CHROMEDRIVER}"))?;
        Ok(Driver { child, port, dir })
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Polls `/status` until chromedriver says it is ready.
    async fn wait_until_ready(&mut self, limit: Duration) -> Result<()> {
        let http = super::http_client();
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("chromedriver exited with {status}\n{}", self.log());
            }
            if let Ok(response) = http.get(format!("{}/status", self.url())).send().await {
                if let Ok(body) = response.json::<Value>().await {
                    if body["value"]["ready"] == true {
                        return Ok(());
                    }
                }
            }
            if Instant::now() > deadline {
                bail!("chromedriver not ready within {limit:?}\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log(&self) -> String {
        let path = self.dir.path().join("chromedriver.log");
        let log = std::fs::read_to_string(&path).unwrap_or_default();
        format!("--- {} ---\n{log}", path.display())
    }

    /// Live pids in chromedriver's process group.
    fn group(&self) -> Vec<u32> {
        super::process::group_members(self.child.id())
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: anything Chromium left behind goes with the driver.
        if let Some(group) = i32::try_from(self.child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        let _ = self.child.wait();
    }
}

/// `DELETE /session/{id}` over a plain socket, waiting for the answer, which
/// chromedriver sends once Chromium has quit.
fn delete_session_blocking(port: u16, session_id: &str) {
    let address = (Ipv4Addr::LOCALHOST, port).into();
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(2)) else {
        return;
    };
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
    let request = format!(
        "DELETE /session/{session_id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return;
    }
    // chromedriver keeps the connection open despite `Connection: close`, so
    // read until the whole response is in rather than to end of stream.
    let mut response = Vec::new();
    let mut chunk = [0u8; 4096];
    while !response_complete(&response) {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => response.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Has `response` got its headers and `Content-Length` bytes of body?
fn response_complete(response: &[u8]) -> bool {
    let text = String::from_utf8_lossy(response);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    body.len() >= length
}

/// `<repo>/test-artifacts`, where screenshots go.
pub fn artifacts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-artifacts")
}

/// The start of a page source, whitespace squeezed, for error messages.
fn snippet(source: &str) -> String {
    let squeezed = source.split_whitespace().collect::<Vec<_>>().join(" ");
    match squeezed.char_indices().nth(SOURCE_SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}…", &squeezed[..cut]),
        None => squeezed,
    }
}
