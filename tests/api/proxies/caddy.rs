//! A real Caddy (`scripts/install-caddy`) with `forward_auth` in front of a
//! test upstream, asking gatehouse's /auth/verify about every request: the
//! manual's `proxies/caddy` snippet, with the test's addresses and a global
//! block that keeps Caddy to itself (no admin endpoint, no certificates).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Behind, Refusals, MANUAL_GATEHOUSE, MANUAL_UPSTREAM};
use crate::helpers::free_port;

/// The manual's example site address, served over plain http in the test.
const MANUAL_SITE: &str = "api.example.com";

/// Options the test adds before the manual's site block: no admin endpoint,
/// no automatic HTTPS (the site address is `http://` anyway), no autosaved
/// config.
const TEST_GLOBALS: &str = "{\n\tadmin off\n\tauto_https off\n\tpersist_config off\n}\n\n";

/// The Caddy binary the tests run: `CADDY_BINARY`, else `./bin/caddy`.
fn caddy_binary() -> PathBuf {
    let path = std::env::var_os("CADDY_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bin/caddy"));
    assert!(
        path.is_file(),
        "Caddy is not installed at {}: run scripts/install-caddy first",
        path.display()
    );
    path
}

/// Caddy running in the foreground on a loopback port, its Caddyfile, log
/// and data in a temp dir.
struct Caddy {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl Caddy {
    async fn start(behind: &Behind) -> Caddy {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let site = super::fill(
            &super::manual_snippet("proxies/caddy"),
            &[
                (MANUAL_SITE, &url),
                (MANUAL_GATEHOUSE, &behind.gatehouse_address()),
                (MANUAL_UPSTREAM, &behind.upstream_address()),
            ],
        );
        let caddyfile = dir.path().join("Caddyfile");
        std::fs::write(&caddyfile, format!("{TEST_GLOBALS}{site}")).unwrap();
        let log = std::fs::File::create(dir.path().join("caddy.log")).unwrap();
        let child = Command::new(caddy_binary())
            .arg("run")
            .arg("--config")
            .arg(&caddyfile)
            .arg("--adapter")
            .arg("caddyfile")
            // Caddy keeps its data and config under these; not the user's.
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start caddy");
        let mut caddy = Caddy { child, url, dir };
        caddy.wait_listening(port).await;
        caddy
    }

    async fn wait_listening(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            let exited = self.child.try_wait().unwrap();
            if exited.is_some() || Instant::now() > deadline {
                let log = std::fs::read_to_string(self.dir.path().join("caddy.log"));
                panic!(
                    "Caddy does not listen on {port} ({exited:?}):\n{}",
                    log.unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Caddy {
    fn drop(&mut self) {
        // SIGTERM shuts Caddy down gracefully; it has no workers to orphan,
        // so a Caddy still waiting on open connections after 5 s is killed.
        crate::helpers::process::send_signal(self.child.id(), rustix::process::Signal::TERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn caddy_forward_auth_lets_good_tokens_through_and_stops_the_rest() {
    let behind = Behind::start("X-Forwarded-Uri", Duration::from_secs(4)).await;
    let caddy = Caddy::start(&behind).await;
    super::good_tokens_pass_and_the_rest_stop(&behind, &caddy.url).await;
}

#[tokio::test]
async fn caddy_paths_that_name_the_admin_prefix_another_way_are_refused() {
    let behind = Behind::start("X-Forwarded-Uri", Duration::from_secs(60)).await;
    let caddy = Caddy::start(&behind).await;
    super::paths_that_name_the_admin_prefix_another_way_are_refused(
        &behind,
        &caddy.url,
        Refusals::PassedOn,
    )
    .await;
}
