//! A real nginx with `auth_request` in front of a test upstream, asking
//! gatehouse's /auth/verify about every request (the README's snippet).

use std::process::{Child, Command};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::http_browser::HttpBrowser;
use crate::helpers::oauth::Client;
use crate::helpers::world::World;
use crate::helpers::{free_port, WebhookSink};
use gatehouse::config::ForwardAuthRule;
use serde_json::json;

/// nginx running in the foreground on a loopback port, config in a temp dir.
struct Nginx {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Nginx {
    async fn start(gatehouse: &str, upstream: &str) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let d = dir.path().display();
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
        location /api/ {{
            auth_request /_gatehouse;
            auth_request_set $auth_subject $upstream_http_x_auth_subject;
            auth_request_set $auth_client  $upstream_http_x_auth_client_id;
            auth_request_set $auth_scope   $upstream_http_x_auth_scope;
            proxy_set_header X-Auth-Subject   $auth_subject;
            proxy_set_header X-Auth-Client-Id $auth_client;
            proxy_set_header X-Auth-Scope     $auth_scope;
            proxy_pass {upstream};
        }}
        location = /_gatehouse {{
            internal;
            proxy_pass {gatehouse}/auth/verify;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URI $request_uri;
        }}
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

/// gatehouse (a rule: `/api/admin` needs `admin`), an upstream and nginx
/// in front of it, as the README sets them up; tokens live `token_ttl`.
async fn behind_nginx(token_ttl: Duration) -> (World, WebhookSink, Nginx, Client) {
    let world = World::with(|c| {
        c.hydra.access_token_ttl = token_ttl;
        c.forward_auth.cache_ttl = Duration::from_secs(1);
        c.forward_auth.rules = vec![ForwardAuthRule {
            prefix: "/api/admin".into(),
            scopes: vec!["admin".into()],
        }];
    })
    .await;
    let upstream = WebhookSink::start(200).await;
    let upstream_base = upstream.url.trim_end_matches("/sms").to_string();
    let nginx = Nginx::start(&world.app.address, &upstream_base).await;
    let client = world
        .client(json!({"skip_consent": true, "scope": "openid offline_access read admin"}))
        .await;
    (world, upstream, nginx, client)
}

#[tokio::test]
async fn nginx_auth_request_lets_good_tokens_through_and_stops_the_rest() {
    let (world, upstream, nginx, client) = behind_nginx(Duration::from_secs(4)).await;
    let http = crate::helpers::http_client();
    let get = |path: &str, token: Option<&str>| {
        let mut request = http.get(format!("{}{path}", nginx.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };

    let tokens = world
        .sign_in(
            &HttpBrowser::new(),
            &client,
            "+12015550190",
            "openid read",
            false,
        )
        .await;
    let access = tokens["access_token"].as_str().unwrap();
    let response = get("/api/things?x=1", Some(access)).await.unwrap();
    assert_eq!(response.status(), 200);
    let seen = upstream.received();
    assert_eq!(seen.len(), 1, "the upstream got the request");
    assert_eq!(seen[0].uri, "/api/things?x=1");
    let subject = seen[0].headers["x-auth-subject"].to_str().unwrap();
    assert_eq!(subject.len(), 32, "the user id reaches the upstream");
    assert_eq!(seen[0].headers["x-auth-scope"], "openid read");

    assert_eq!(get("/api/things", None).await.unwrap().status(), 401);
    assert_eq!(
        get("/api/things", Some("garbage")).await.unwrap().status(),
        401
    );
    assert_eq!(
        get("/api/admin/users", Some(access))
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        upstream.received().len(),
        1,
        "refused requests never reach the upstream"
    );

    // Revoked: refused once the cache TTL (1 s) has passed.
    let second = world
        .sign_in(
            &HttpBrowser::new(),
            &client,
            "+12015550191",
            "openid read",
            false,
        )
        .await;
    let revoked = second["access_token"].as_str().unwrap();
    assert_eq!(
        get("/api/things", Some(revoked)).await.unwrap().status(),
        200
    );
    assert_eq!(client.revoke(&world.app, revoked).await, 200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        get("/api/things", Some(revoked)).await.unwrap().status(),
        401
    );

    // Expired: the first token lived 4 s.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        get("/api/things", Some(access)).await.unwrap().status(),
        401
    );
}

/// `GET target` sent exactly as written, like `curl --path-as-is`: no
/// client library resolves `..` or touches `//` and `%61` on the way.
async fn raw_get(base: &str, target: &str, headers: &[(&str, &str)]) -> u16 {
    let address = base.trim_start_matches("http://");
    let mut request = format!("GET {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    response
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {response}"))
}

#[tokio::test]
async fn nginx_paths_that_name_the_admin_prefix_another_way_are_refused() {
    let (world, upstream, nginx, client) = behind_nginx(Duration::from_secs(60)).await;
    let tokens = world
        .sign_in(
            &HttpBrowser::new(),
            &client,
            "+12015550192",
            "openid read",
            false,
        )
        .await;
    let bearer = format!("Bearer {}", tokens["access_token"].as_str().unwrap());
    let auth = ("Authorization", bearer.as_str());
    assert_eq!(raw_get(&nginx.url, "/api/things", &[auth]).await, 200);
    assert_eq!(upstream.received().len(), 1);

    // nginx picks `location /api/` by its normalised path; the upstream
    // gets the target as sent and may normalise it the same way.
    for target in [
        "/api//admin/u",
        "//api/admin/u",
        "/api/%61dmin/u",
        "/api/x/../admin/u",
    ] {
        assert_eq!(raw_get(&nginx.url, target, &[auth]).await, 403, "{target}");
    }
    // The client's own URI headers do not count: nginx sets X-Original-URI.
    for header in ["X-Original-URI", "X-Forwarded-Uri"] {
        let status = raw_get(&nginx.url, "/api/admin/u", &[auth, (header, "/api/things")]).await;
        assert_eq!(status, 403, "{header}");
    }
    // An encoded slash gets gatehouse's 400, which auth_request turns into 500.
    assert_eq!(raw_get(&nginx.url, "/api/admin%2Fu", &[auth]).await, 500);
    assert_eq!(
        upstream.received().len(),
        1,
        "refused requests never reach the upstream"
    );
}
