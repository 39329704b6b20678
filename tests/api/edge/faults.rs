//! Faults answered clearly, not with a hang or a 500: an over-long address,
//! a database another process has locked, a full disk, Hydra down.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use super::raw_status_line;
use crate::helpers::english;
use crate::helpers::headless::NativeApp;
use crate::helpers::http_browser::{Hop, HttpBrowser};
use crate::helpers::process::send_signal;
use crate::helpers::world::World;
use crate::helpers::{capture_logs, eventually, hydra_binary, TestApp};

const PHONE: &str = "+12015550182";

const NATIVE: NativeApp = NativeApp {
    id: "edge-native-app",
    secret: "edge-native-app-secret-0123456789",
    scope: "openid",
};

#[tokio::test]
async fn an_over_long_address_gets_414_before_hydra_and_is_never_logged_whole() {
    let (logs, _capturing) = capture_logs();
    let app = TestApp::spawn().await;
    // (reqwest, like the http crate, takes at most 64 KiB; raw below.)
    let filler = "a".repeat(60 * 1024);
    let url = app.url(&format!("/oauth2/auth?client_id=x&state={filler}"));
    let page = app
        .http
        .get(&url)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::URI_TOO_LONG);
    let body = page.text().await.unwrap();
    assert!(body.contains(&english("address-too-long")), "{body}");
    let api = app.http.get(&url).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::URI_TOO_LONG);
    let json: Value = api.json().await.unwrap();
    assert_eq!(json["error"], "invalid_request", "{json}");

    // 65 KB, and 22 KB of raw UTF-8 (which grows threefold when re-encoded).
    for state in ["a".repeat(65 * 1024), "é".repeat(11_000)] {
        let raw = format!(
            "GET /oauth2/auth?state={state} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        );
        let status = raw_status_line(app.config.server.listen, raw.as_bytes()).await;
        assert!(status.starts_with("HTTP/1.1 414"), "{status}");
    }

    let logs = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    let longest = logs.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 2048, "a log line of {longest} bytes");
    assert!(!logs.contains(&filler[..1024]), "the address was logged");
}

/// Another process holding `gatehouse.sqlite`'s write lock (SQLite's
/// `BEGIN EXCLUSIVE`, as a `sqlite3` shell would) until dropped.
struct LockHolder(std::process::Child);

impl LockHolder {
    fn hold(data_dir: &Path) -> LockHolder {
        let script = "import sqlite3, sys\n\
            c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)\n\
            c.execute('BEGIN EXCLUSIVE')\n\
            c.execute('INSERT OR REPLACE INTO store_probe VALUES (1, 0)')\n\
            print('locked', flush=True)\n\
            sys.stdin.read()\n";
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(data_dir.join("gatehouse.sqlite"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
        assert_eq!(line.trim(), "locked");
        LockHolder(child)
    }
}

impl Drop for LockHolder {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A world with a native app of the headless API, and a browser on the
/// login page of a trusted client.
async fn world_on_the_login_page(data_dir: Option<PathBuf>) -> (World, HttpBrowser, Hop) {
    let world = World::with(|config| {
        config.headless.clients = vec![NATIVE.listed(false)];
        if let Some(dir) = data_dir {
            config.data_dir = dir;
        }
    })
    .await;
    NATIVE.register(&world.app, "client_secret_post").await;
    let (browser, login) = world.on_login_page().await;
    (world, browser, login)
}

/// `/readyz` answers 503 naming the database, within `limit`.
async fn assert_database_not_ready(app: &TestApp, limit: Duration) {
    let started = Instant::now();
    let ready = app.get("/readyz").await;
    let took = started.elapsed();
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["database"], "failing", "{body}");
    assert!(took < limit, "/readyz took {took:?}");
}

/// The code request's page says to try again later, with Retry-After.
fn assert_paused(page: &Hop) {
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(
        page.headers.contains_key("retry-after"),
        "{:?}",
        page.headers
    );
    assert!(page.body.contains("<html"), "a page: {}", page.body);
    assert!(page.body.contains("try again in a minute"), "{}", page.body);
}

#[tokio::test]
async fn a_database_locked_by_another_process_answers_503_at_once() {
    let (world, browser, login) = world_on_the_login_page(None).await;
    let lock = LockHolder::hold(&world.app.config.data_dir);

    let started = Instant::now();
    let page = world.send_code(&browser, &login, PHONE).await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_paused(&page);
    assert_database_not_ready(&world.app, Duration::from_millis(1500)).await;
    let api = world.request_otp("+12015550183", NATIVE.id, None).await;
    api.assert_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
    assert!(api.headers.contains_key("retry-after"));
    assert!(
        world.sms.received().is_empty(),
        "no text while nothing was stored"
    );

    drop(lock);
    world.app.wait_ready(Duration::from_secs(10)).await;
    let page = world.send_code(&browser, &login, PHONE).await;
    assert_eq!(page.status, 200, "{}", page.body);
}

/// A tmpfs of `size` mounted for the test (we run as root, as CI does);
/// unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "mounting a tmpfs needs root (CI runs as root)"
        );
        SmallDisk { dir }
    }

    /// Fills the disk; returns the filler file.
    fn fill(&self) -> PathBuf {
        let path = self.dir.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        for chunk in [1 << 20, 4096, 1] {
            let bytes = vec![0u8; chunk];
            while file.write_all(&bytes).is_ok() {}
        }
        let _ = file.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[tokio::test]
async fn a_full_disk_answers_503_and_readyz_says_so_until_a_write_succeeds() {
    let disk = SmallDisk::mount("64m");
    let data_dir = disk.dir.path().join("data");
    let (world, browser, login) = world_on_the_login_page(Some(data_dir)).await;

    // An empty WAL first: a write that fits in a WAL with room left
    // succeeds, rightly, even on a full disk (the checkpoint thread keeps
    // restarting the WAL); a write that needs a new block must fail.
    let (busy, _, _): (i64, i64, i64) = world
        .app
        .database()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .unwrap();
    assert_eq!(busy, 0, "the WAL was emptied");
    let filler = disk.fill();
    let page = world.send_code(&browser, &login, PHONE).await;
    assert_paused(&page);
    // Not ready, and still not on the next probe: the disk is still full.
    assert_database_not_ready(&world.app, Duration::from_secs(2)).await;
    assert_database_not_ready(&world.app, Duration::from_secs(2)).await;

    std::fs::remove_file(filler).unwrap();
    world.app.wait_ready(Duration::from_secs(15)).await;
    let page = world.send_code(&browser, &login, PHONE).await;
    assert_eq!(page.status, 200, "{}", page.body);
}

/// Writes `script` as an executable file at `path`, in one rename.
fn write_script(path: &Path, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    let next = path.with_extension("next");
    std::fs::write(&next, script).unwrap();
    std::fs::set_permissions(&next, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&next, path).unwrap();
}

#[tokio::test]
async fn while_hydra_is_down_a_browser_gets_a_page_to_try_again_and_an_app_json() {
    let dir = tempfile::tempdir().unwrap();
    let wrapper = dir.path().join("hydra");
    let real = hydra_binary();
    write_script(
        &wrapper,
        &format!("#!/bin/sh\nexec '{}' \"$@\"\n", real.display()),
    );
    let app = TestApp::spawn_with(|config| config.hydra.binary = wrapper.clone()).await;
    // Hydra dies and cannot come back for now (a long restart).
    write_script(&wrapper, "#!/bin/sh\nexit 1\n");
    send_signal(app.hydra.pid().unwrap(), rustix::process::Signal::KILL);
    let public = ("127.0.0.1", app.config.hydra.public_port);
    eventually(Duration::from_secs(15), "Hydra's port closed", || {
        std::net::TcpStream::connect(public).is_err()
    })
    .await;

    let url = app.url("/oauth2/auth?client_id=app&response_type=code&state=s1");
    let page = app
        .http
        .get(&url)
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::BAD_GATEWAY);
    assert!(page.headers().contains_key("retry-after"));
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let body = page.text().await.unwrap();
    assert!(
        body.contains(&english("authorization-server-down")),
        "{body}"
    );
    let retry = url.replace('&', "&amp;");
    assert!(
        body.contains(&format!("href=\"{retry}\"")),
        "a link to try again: {body}"
    );

    let api = app.http.get(&url).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::BAD_GATEWAY);
    let json: Value = api.json().await.unwrap();
    assert_eq!(json["error"], "temporarily_unavailable", "{json}");
}
