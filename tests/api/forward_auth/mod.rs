//! `/auth/verify` against the real Hydra: the answers reverse proxies get
//! (paths a rule must not be dodged by in `dodges`, answers asked about again
//! ahead of their expiry in `refreshes`, the refusal cache in `refusals`).

mod dodges;
mod refreshes;
mod refusals;

use std::time::Duration;

use crate::helpers::http_browser::HttpBrowser;
use crate::helpers::world::World;
use crate::helpers::TestApp;
use futures_util::StreamExt;
use gatehouse::config::ForwardAuthRule;
use serde_json::{json, Value};

async fn verify(world: &World, token: Option<&str>, uri: &str, query: &str) -> reqwest::Response {
    let mut request = world
        .app
        .http
        .get(world.app.url(&format!("/auth/verify{query}")))
        .header("x-original-uri", uri);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// `/auth/verify` with `token` and exactly `headers` (names may repeat).
async fn verify_with(app: &TestApp, token: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app.http.get(app.url("/auth/verify")).bearer_auth(token);
    for (name, value) in headers {
        // reqwest appends: a name given twice is sent twice.
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// Sends `token` `times` times, 32 at once; every answer must be `expected`.
async fn flood(app: &TestApp, token: &str, times: usize, expected: u16) {
    let statuses: Vec<u16> = futures_util::stream::iter(0..times)
        .map(|_| async { verify_with(app, token, &[]).await.status().as_u16() })
        .buffer_unordered(32)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == expected), "{statuses:?}");
}

/// A machine client's (client_credentials) access token with `scope`.
struct MachineToken {
    client_id: String,
    secret: String,
    access: String,
}

impl MachineToken {
    /// Revokes the access token at Hydra, as its client would.
    async fn revoke(&self, app: &TestApp) {
        let answer = app
            .http
            .post(app.url("/oauth2/revoke"))
            .basic_auth(&self.client_id, Some(&self.secret))
            .form(&[("token", self.access.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }
}

async fn machine_token(app: &TestApp, scope: &str) -> MachineToken {
    let client = app
        .create_client(json!({
            "grant_types": ["client_credentials"],
            "scope": "read admin",
            "token_endpoint_auth_method": "client_secret_basic",
        }))
        .await;
    let client_id = client["client_id"].as_str().unwrap().to_string();
    let secret = client["client_secret"].as_str().unwrap().to_string();
    let response = app.client_credentials(&client_id, &secret, scope).await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    MachineToken {
        client_id,
        secret,
        access: answer["access_token"].as_str().unwrap().to_string(),
    }
}

async fn world_with_token(cache_ttl: Duration, scope: &str) -> (World, serde_json::Value) {
    let world = World::with(|c| {
        c.forward_auth.cache_ttl = cache_ttl;
        c.forward_auth
            .claim_headers
            .insert("iss".into(), "X-Auth-Issuer".parse().unwrap());
        c.forward_auth.rules = vec![ForwardAuthRule {
            prefix: "/api/admin".into(),
            scopes: vec!["admin".into()],
        }];
    })
    .await;
    let client = world
        .client(json!({"skip_consent": true, "scope": "openid offline_access read admin"}))
        .await;
    let tokens = world
        .sign_in(&HttpBrowser::new(), &client, "+12015550180", scope, false)
        .await;
    (world, tokens)
}

#[tokio::test]
async fn good_tokens_pass_with_identity_headers_and_bad_ones_do_not() {
    let (world, tokens) =
        world_with_token(Duration::from_secs(10), "openid offline_access read").await;
    let access = tokens["access_token"].as_str().unwrap();

    let ok = verify(&world, Some(access), "/api/things?page=2", "").await;
    assert_eq!(ok.status(), 200);
    let subject = ok.headers()["x-auth-subject"].to_str().unwrap().to_string();
    assert_eq!(subject.len(), 32, "the user's id");
    assert!(!ok.headers()["x-auth-client-id"].is_empty());
    assert_eq!(ok.headers()["x-auth-scope"], "openid offline_access read");
    let issuer = crate::helpers::oauth::issuer(&world.app).await;
    assert_eq!(
        ok.headers()["x-auth-issuer"],
        issuer.as_str(),
        "a configured claim header"
    );

    for (token, what) in [
        (None, "no token"),
        (Some("garbage"), "garbage"),
        (
            Some(tokens["refresh_token"].as_str().unwrap()),
            "a refresh token",
        ),
    ] {
        let denied = verify(&world, token, "/api/things", "").await;
        assert_eq!(denied.status(), 401, "{what}");
        assert_eq!(
            denied.headers()["www-authenticate"],
            r#"Bearer error="invalid_token""#,
            "{what}"
        );
    }

    // Scopes: from a rule for the path, or from the proxy's ?scope=.
    let admin = verify(&world, Some(access), "/api/admin/users", "").await;
    assert_eq!(admin.status(), 403);
    assert!(admin.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains(r#"error="insufficient_scope""#));
    assert_eq!(
        verify(&world, Some(access), "/api", "?scope=read")
            .await
            .status(),
        200
    );
    assert_eq!(
        verify(&world, Some(access), "/api", "?scope=read,write")
            .await
            .status(),
        403
    );
}

#[tokio::test]
async fn a_token_with_the_rule_scope_reaches_the_admin_prefix() {
    let (world, tokens) = world_with_token(Duration::from_secs(10), "openid admin").await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        verify(&world, Some(access), "/api/admin/users", "")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_revoked_token_stops_passing_within_the_cache_ttl() {
    let (world, tokens) = world_with_token(Duration::from_secs(1), "openid").await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(verify(&world, Some(access), "/", "").await.status(), 200);
    let hydra = world.app.hydra_client();
    let subject = hydra.introspect(access, None).await.unwrap().sub.unwrap();
    hydra.revoke_consent_sessions(&subject, None).await.unwrap();
    // At most cache_ttl (1 s) later it is refused; poll to not depend on timing.
    let started = std::time::Instant::now();
    loop {
        let status = verify(&world, Some(access), "/", "").await.status();
        if status == 401 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still {status} after revocation"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_cache_spares_hydra() {
    let (world, tokens) = world_with_token(Duration::from_secs(60), "openid").await;
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let forward_auth = world.app.state.forward_auth.clone();
    let before = forward_auth.introspection_calls();
    let statuses: Vec<u16> = futures_util::stream::iter(0..10_000)
        .map(|_| {
            let world = &world;
            let access = access.clone();
            async move {
                verify(world, Some(&access), "/", "")
                    .await
                    .status()
                    .as_u16()
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 200));
    let calls = forward_auth.introspection_calls() - before;
    assert!(
        calls <= 5,
        "10,000 requests made {calls} introspection calls"
    );
}

#[tokio::test]
async fn jwt_access_tokens_are_verified_locally() {
    let world = World::with(|c| {
        c.hydra.access_token_strategy = gatehouse::config::AccessTokenStrategy::Jwt;
        c.hydra.access_token_ttl = Duration::from_secs(2);
        c.forward_auth
            .claim_headers
            .insert("iss".into(), "X-Auth-Issuer".parse().unwrap());
    })
    .await;
    let client = world
        .client(json!({"skip_consent": true, "scope": "openid offline_access read"}))
        .await;
    let tokens = world
        .sign_in(
            &HttpBrowser::new(),
            &client,
            "+12015550181",
            "openid read",
            false,
        )
        .await;
    let access = tokens["access_token"].as_str().unwrap();
    let forward_auth = world.app.state.forward_auth.clone();

    let ok = verify(&world, Some(access), "/api", "?scope=read").await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["x-auth-client-id"], client.id.as_str());
    assert_eq!(ok.headers()["x-auth-scope"], "openid read");
    let issuer = crate::helpers::oauth::issuer(&world.app).await;
    assert_eq!(ok.headers()["x-auth-issuer"], issuer.as_str());
    assert_eq!(
        verify(&world, Some(access), "/api", "?scope=admin")
            .await
            .status(),
        403
    );

    // A changed signature, an id_token and garbage are refused.
    let mut tampered = access.to_string();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for (token, what) in [
        (tampered.as_str(), "tampered"),
        (tokens["id_token"].as_str().unwrap(), "an id_token"),
        ("a.b.c", "garbage"),
    ] {
        assert_eq!(
            verify(&world, Some(token), "/", "").await.status(),
            401,
            "{what}"
        );
    }
    assert_eq!(
        forward_auth.introspection_calls(),
        0,
        "no introspection with JWTs"
    );
    // The good token's answer is kept until its expiry at the latest, and
    // checked once; refusals are not kept (a key fetched a moment later
    // must not leave a good token refused).
    assert_eq!(forward_auth.cached_entries(), 1);
    assert_eq!(forward_auth.refused_entries(), 0);

    // Expired (the access token lives 2 s; 2 s leeway for clock skew).
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(verify(&world, Some(access), "/", "").await.status(), 401);
}
