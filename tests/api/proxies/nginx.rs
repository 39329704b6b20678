//! A real nginx with `auth_request` in front of a test upstream, asking
//! gatehouse's /auth/verify about every request: the manual's
//! `proxies/nginx` snippet inside a `server` block of the test's own.

use std::process::{Child, Command};
use std::time::Duration;

use super::{Behind, Refusals, MANUAL_GATEHOUSE, MANUAL_UPSTREAM};
use crate::helpers::free_port;

/// nginx running in the foreground on a loopback port, config in a temp dir.
struct Nginx {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Nginx {
    async fn start(behind: &Behind) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let d = dir.path().display();
        let gatehouse = format!("http://{}", behind.gatehouse_address());
        let upstream = format!("http://{}", behind.upstream_address());
        let locations = super::fill(
            &super::manual_snippet("proxies/nginx"),
            &[
                (&format!("http://{MANUAL_GATEHOUSE}"), &gatehouse),
                (&format!("http://{MANUAL_UPSTREAM}"), &upstream),
            ],
        );
        let config = format!(
            r#"daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
{locations}
    }}
}}
"#
        );
        std::fs::write(dir.path().join("nginx.conf"), config).unwrap();
        let child = Command::new("nginx")
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .spawn()
            .expect("nginx is installed (scripts/install-nginx)");
        let url = format!("http://127.0.0.1:{port}");
        crate::helpers::eventually(Duration::from_secs(10), "nginx listens", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        })
        .await;
        Nginx {
            child,
            url,
            _dir: dir,
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its workers; SIGKILL would orphan them.
        crate::helpers::process::send_signal(self.child.id(), rustix::process::Signal::TERM);
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn nginx_auth_request_lets_good_tokens_through_and_stops_the_rest() {
    let behind = Behind::start("X-Original-URI", Duration::from_secs(4)).await;
    let nginx = Nginx::start(&behind).await;
    super::good_tokens_pass_and_the_rest_stop(&behind, &nginx.url).await;
}

#[tokio::test]
async fn nginx_paths_that_name_the_admin_prefix_another_way_are_refused() {
    let behind = Behind::start("X-Original-URI", Duration::from_secs(60)).await;
    let nginx = Nginx::start(&behind).await;
    super::paths_that_name_the_admin_prefix_another_way_are_refused(
        &behind,
        &nginx.url,
        Refusals::AnsweredByTheProxy,
    )
    .await;
}
