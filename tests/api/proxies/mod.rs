//! Real reverse proxies in front of a test upstream, each asking gatehouse's
//! `/auth/verify` about every request with the manual's own snippet: the
//! test reads the snippet out of docs/integrations/forward-auth.md (the
//! fenced block after a `<!-- snippet: NAME -->` line) and only swaps the
//! example addresses for the test's, so the documented text is the tested
//! text.
//!
//! Every proxy must show the same things: a good token reaches the upstream
//! with the identity headers (and a client's own identity headers do not),
//! a missing or bad token is 401, a token without the rule's scope is 403,
//! and paths that name the protected prefix another way, or a client's own
//! URI header, never reach the upstream.
//!
//! Traefik is not here: its v3 module needs modules the Go module proxy
//! does not serve (see the manual, "Forward auth").

mod caddy;
mod nginx;

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::http_browser::HttpBrowser;
use crate::helpers::oauth::Client;
use crate::helpers::world::World;
use crate::helpers::WebhookSink;
use gatehouse::config::ForwardAuthRule;
use serde_json::json;

/// The example address of gatehouse in the manual's snippets.
const MANUAL_GATEHOUSE: &str = "127.0.0.1:4455";
/// The example address of the API (the upstream) in the manual's snippets.
const MANUAL_UPSTREAM: &str = "127.0.0.1:8080";

/// The manual's snippet `name` in its forward-auth chapter.
fn manual_snippet(name: &str) -> String {
    crate::manual::snippet("integrations/forward-auth.md", name)
}

/// `snippet` with each `(example, actual)` swapped; every example must occur.
fn fill(snippet: &str, swaps: &[(&str, &str)]) -> String {
    swaps
        .iter()
        .fold(snippet.to_string(), |text, (example, actual)| {
            assert!(
                text.contains(example),
                "the manual's snippet no longer holds {example:?}:\n{snippet}"
            );
            text.replace(example, actual)
        })
}

/// gatehouse (a rule: `/api/admin` needs `admin`; the proxy's URI header is
/// `uri_header`), the upstream, and a client that may ask for `read` and
/// `admin`; tokens live `token_ttl`.
struct Behind {
    world: World,
    upstream: WebhookSink,
    client: Client,
}

impl Behind {
    async fn start(uri_header: &'static str, token_ttl: Duration) -> Behind {
        let world = World::with(|c| {
            c.hydra.access_token_ttl = token_ttl;
            c.forward_auth.cache_ttl = Duration::from_secs(1);
            c.forward_auth.uri_header = uri_header.parse().unwrap();
            c.forward_auth.rules = vec![ForwardAuthRule {
                prefix: "/api/admin".into(),
                scopes: vec!["admin".into()],
            }];
        })
        .await;
        let upstream = WebhookSink::start(200).await;
        let client = world
            .client(json!({"skip_consent": true, "scope": "openid offline_access read admin"}))
            .await;
        Behind {
            world,
            upstream,
            client,
        }
    }

    /// gatehouse's `host:port`.
    fn gatehouse_address(&self) -> String {
        self.world.app.address.trim_start_matches("http://").into()
    }

    /// The upstream's `host:port`.
    fn upstream_address(&self) -> String {
        let url = self.upstream.url.trim_start_matches("http://");
        url.split('/').next().unwrap().into()
    }

    /// An access token with the scopes `openid read` (not `admin`).
    async fn read_token(&self, phone: &str) -> String {
        let tokens = self
            .world
            .sign_in(
                &HttpBrowser::new(),
                &self.client,
                phone,
                "openid read",
                false,
            )
            .await;
        tokens["access_token"].as_str().unwrap().to_string()
    }
}

/// The proxy at `proxy` passes good tokens with the identity headers and
/// stops missing, garbage, under-scoped, revoked and expired ones (the
/// tokens of `behind` live 4 s).
async fn good_tokens_pass_and_the_rest_stop(behind: &Behind, proxy: &str) {
    let http = crate::helpers::http_client();
    let get = |path: &str, token: Option<&str>| {
        let mut request = http.get(format!("{proxy}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let upstream = &behind.upstream;

    let access = behind.read_token("+12015550190").await;
    let response = get("/api/things?x=1", Some(&access)).await.unwrap();
    assert_eq!(response.status(), 200);
    let seen = upstream.received();
    assert_eq!(seen.len(), 1, "the upstream got the request");
    assert_eq!(seen[0].uri, "/api/things?x=1");
    let subject = seen[0].headers["x-auth-subject"].to_str().unwrap();
    assert_eq!(subject.len(), 32, "the user id reaches the upstream");
    assert_eq!(seen[0].headers["x-auth-scope"], "openid read");
    assert_eq!(
        seen[0].headers["x-auth-client-id"],
        behind.client.id.as_str()
    );

    // A client's own identity headers are replaced by gatehouse's.
    let forged = http
        .get(format!("{proxy}/api/things"))
        .bearer_auth(&access)
        .header("X-Auth-Subject", "forged")
        .header("X-Auth-Scope", "admin")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 200);
    let seen = upstream.received();
    let headers = &seen.last().unwrap().headers;
    let subjects: Vec<_> = headers.get_all("x-auth-subject").iter().collect();
    assert_eq!(
        subjects,
        [subject],
        "the client's X-Auth-Subject is dropped"
    );
    let scopes: Vec<_> = headers.get_all("x-auth-scope").iter().collect();
    assert_eq!(
        scopes,
        ["openid read"],
        "the client's X-Auth-Scope is dropped"
    );

    let missing = get("/api/things", None).await.unwrap();
    assert_eq!(missing.status(), 401);
    let challenge = missing.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert_eq!(
        get("/api/things", Some("garbage")).await.unwrap().status(),
        401
    );
    assert_eq!(
        get("/api/admin/users", Some(&access))
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        upstream.received().len(),
        2,
        "refused requests never reach the upstream"
    );

    // Revoked: refused once the cache TTL (1 s) has passed.
    let revoked = behind.read_token("+12015550191").await;
    assert_eq!(
        get("/api/things", Some(&revoked)).await.unwrap().status(),
        200
    );
    assert_eq!(behind.client.revoke(&behind.world.app, &revoked).await, 200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        get("/api/things", Some(&revoked)).await.unwrap().status(),
        401
    );

    // Expired: the first token lived 4 s.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        get("/api/things", Some(&access)).await.unwrap().status(),
        401
    );
}

/// `GET target` sent exactly as written, like `curl --path-as-is`: no
/// client library resolves `..` or touches `//` and `%61` on the way.
/// Returns the status and the whole answer (head and body) as text.
async fn raw_get(base: &str, target: &str, headers: &[(&str, &str)]) -> (u16, String) {
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
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {response}"));
    (status, response)
}

/// What a proxy does with gatehouse's refusals.
#[derive(Clone, Copy, PartialEq)]
enum Refusals {
    /// nginx's `auth_request` answers 401 and 403 itself (gatehouse's
    /// headers dropped, but for `WWW-Authenticate` on a 401) and any
    /// other refusal with 500.
    AnsweredByTheProxy,
    /// Caddy's `forward_auth` hands the client gatehouse's answer as is.
    PassedOn,
}

/// Through the proxy at `proxy`, a `read` token cannot reach `/api/admin`
/// by another spelling of the path or by a URI header of its own.
async fn paths_that_name_the_admin_prefix_another_way_are_refused(
    behind: &Behind,
    proxy: &str,
    refusals: Refusals,
) {
    let bearer = format!("Bearer {}", behind.read_token("+12015550192").await);
    let auth = ("Authorization", bearer.as_str());
    assert_eq!(raw_get(proxy, "/api/things", &[auth]).await.0, 200);
    assert_eq!(behind.upstream.received().len(), 1);

    // Refused for the rule's scope: gatehouse read the path the proxy sent
    // and normalised it to /api/admin/u (not refused for want of a path).
    let refused_for_admin = |(status, answer): (u16, String), what: &str| {
        assert_eq!(status, 403, "{what}: {answer}");
        if refusals == Refusals::PassedOn {
            assert!(
                answer.contains(r#"error="insufficient_scope", scope="admin""#),
                "{what}: {answer}"
            );
        }
    };
    // A proxy may pick its route by the normalised path; the upstream gets
    // the target as sent and may normalise it the same way.
    for target in [
        "/api//admin/u",
        "//api/admin/u",
        "/api/%61dmin/u",
        "/api/x/../admin/u",
    ] {
        refused_for_admin(raw_get(proxy, target, &[auth]).await, target);
    }
    // The client's own URI headers do not count: the proxy sets its own,
    // in place of the client's (two copies would be refused as no path).
    for header in ["X-Original-URI", "X-Forwarded-Uri"] {
        let answer = raw_get(proxy, "/api/admin/u", &[auth, (header, "/api/things")]).await;
        refused_for_admin(answer, header);
    }
    // An encoded slash: gatehouse answers 400.
    let (status, answer) = raw_get(proxy, "/api/admin%2Fu", &[auth]).await;
    match refusals {
        Refusals::AnsweredByTheProxy => assert_eq!(status, 500, "{answer}"),
        Refusals::PassedOn => {
            assert_eq!(status, 400, "{answer}");
            assert!(answer.contains("invalid_request"), "{answer}");
        }
    }
    let seen = behind.upstream.received();
    assert_eq!(
        seen.len(),
        1,
        "refused requests never reach the upstream: {:?}",
        seen.iter().map(|r| &r.uri).collect::<Vec<_>>()
    );
}
