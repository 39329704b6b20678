//! Issue 18's table: with `prefix = "/admin"` requiring `admin` and a token
//! holding only `read`, every way of naming `/admin/u` (or of naming no
//! path at all) is refused, never answered 200.

use super::{machine_token, verify_with};
use crate::helpers::TestApp;
use gatehouse::config::{Config, ForwardAuthRule};
use serde_json::Value;

/// A gatehouse whose one rule is the issue's, and a `read` token that
/// passes where no rule applies (so a refusal below is the rule's doing).
async fn admin_rule(customize: impl FnOnce(&mut Config)) -> (TestApp, String) {
    let app = TestApp::spawn_with(|c| {
        c.forward_auth.rules = vec![ForwardAuthRule {
            prefix: "/admin".into(),
            scopes: vec!["admin".into()],
        }];
        customize(c);
    })
    .await;
    let token = machine_token(&app, "read").await.access;
    (app, token)
}

async fn status(app: &TestApp, token: &str, headers: &[(&str, &str)]) -> u16 {
    verify_with(app, token, headers).await.status().as_u16()
}

/// The default setup (nginx's X-Original-URI), checked to pass on `/pub`
/// and stop on `/admin/u` before the dodge is tried.
async fn nginx_setup() -> (TestApp, String) {
    let (app, token) = admin_rule(|_| {}).await;
    assert_eq!(
        status(&app, &token, &[("x-original-uri", "/pub")]).await,
        200
    );
    assert_eq!(
        status(&app, &token, &[("x-original-uri", "/admin/u")]).await,
        403
    );
    (app, token)
}

/// Each of `uris` (as X-Original-URI) is refused with 403.
async fn refused_on(app: &TestApp, token: &str, uris: &[&str]) {
    for uri in uris {
        let answer = status(app, token, &[("x-original-uri", uri)]).await;
        assert_eq!(answer, 403, "{uri}");
    }
}

#[tokio::test]
async fn a_doubled_slash_does_not_dodge_a_rule() {
    let (app, token) = nginx_setup().await;
    refused_on(&app, &token, &["//admin/u", "/admin//u", "///admin///u"]).await;
}

#[tokio::test]
async fn a_percent_encoded_letter_does_not_dodge_a_rule() {
    let (app, token) = nginx_setup().await;
    refused_on(
        &app,
        &token,
        &["/%61dmin/u", "/%61%64%6D%69%6E/u", "/adm%69n"],
    )
    .await;
}

#[tokio::test]
async fn a_dot_dot_segment_does_not_dodge_a_rule() {
    let (app, token) = nginx_setup().await;
    refused_on(
        &app,
        &token,
        &["/x/../admin/u", "/pub/./../admin/u", "/x/%2e%2e/admin/u"],
    )
    .await;
    // The query is not part of the path, either way round.
    let query = [("/pub?next=/admin/u", 200), ("/admin/u?from=/pub", 403)];
    for (uri, expected) in query {
        assert_eq!(
            status(&app, &token, &[("x-original-uri", uri)]).await,
            expected,
            "{uri}"
        );
    }
}

#[tokio::test]
async fn only_the_configured_uri_header_counts() {
    // Caddy and Traefik: X-Forwarded-Uri is the proxy's; a client's own
    // X-Original-URI, which they pass on, is ignored.
    let (app, token) =
        admin_rule(|c| c.forward_auth.uri_header = "X-Forwarded-Uri".parse().unwrap()).await;
    assert_eq!(
        status(&app, &token, &[("x-forwarded-uri", "/pub")]).await,
        200
    );
    let dodge = [("x-forwarded-uri", "/admin/u"), ("x-original-uri", "/pub")];
    assert_eq!(status(&app, &token, &dodge).await, 403);

    // nginx (the default): the other way round.
    let (app, token) = nginx_setup().await;
    let dodge = [("x-original-uri", "/admin/u"), ("x-forwarded-uri", "/pub")];
    assert_eq!(status(&app, &token, &dodge).await, 403);
    assert_eq!(
        status(&app, &token, &[("x-forwarded-uri", "/pub")]).await,
        403,
        "only X-Forwarded-Uri: no usable path"
    );
}

#[tokio::test]
async fn no_uri_header_fails_closed() {
    let (app, token) = nginx_setup().await;
    let before = app.state.forward_auth.introspection_calls();
    let answer = verify_with(&app, &token, &[]).await;
    assert_eq!(answer.status(), 403);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["error"], "access_denied");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("x-original-uri"),
        "{body}"
    );
    // Two copies: one of them may be the client's.
    let twice = [("x-original-uri", "/pub"), ("x-original-uri", "/pub")];
    assert_eq!(status(&app, &token, &twice).await, 403);
    assert_eq!(
        app.state.forward_auth.introspection_calls(),
        before,
        "refused before asking Hydra"
    );
}

#[tokio::test]
async fn the_uri_header_is_believed_only_from_a_trusted_proxy() {
    // The test client (127.0.0.1) is not the proxy.
    let (app, token) =
        admin_rule(|c| c.server.trusted_proxies = vec!["192.0.2.1".parse().unwrap()]).await;
    assert_eq!(app.introspect(&token).await["active"], true);
    assert_eq!(
        status(&app, &token, &[("x-original-uri", "/pub")]).await,
        403
    );
}

#[tokio::test]
async fn paths_an_upstream_could_read_otherwise_are_refused_with_400() {
    let (app, token) = nginx_setup().await;
    let before = app.state.forward_auth.introspection_calls();
    for uri in [
        "/admin%2Fu",
        "/pub/..%2F..%2Fadmin/u",
        "/admin%5Cu",
        "/pub\\..\\admin/u",
        "/admin%00/u",
        "/../admin/u",
        "/pub/..;/admin/u",
        "/pub#/../admin/u",
        "/pub/%zz",
        "admin/u",
    ] {
        let answer = verify_with(&app, &token, &[("x-original-uri", uri)]).await;
        assert_eq!(answer.status(), 400, "{uri}");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{uri}: {body}");
    }
    assert_eq!(
        app.state.forward_auth.introspection_calls(),
        before,
        "refused before asking Hydra"
    );
}
