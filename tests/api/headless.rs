//! The headless sign-in API (native apps), against a real Hydra and a
//! webhook sink that captures the text messages.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::helpers::answer::Answer;
use crate::helpers::headless::NativeApp;
use crate::helpers::oauth::{jwt_payload, verify_jwt_with};
use crate::helpers::world::World;
use crate::helpers::{TestApp, WebhookSink};
use gatehouse::config::Config;
use gatehouse::store::users::Profile;
use jsonwebtoken::jwk::JwkSet;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const SECRET: &str = "native-app-secret-0123456789";
const ALLOWED_SCOPE: &str = "openid offline_access profile email phone";
/// Registered in Hydra with client_secret_basic (Hydra's default).
const APP: &str = "native-app";
/// Registered with client_secret_post.
const POST_APP: &str = "native-app-post";
/// Registered in Hydra, but not listed in [headless].
const BROWSER_APP: &str = "browser-only";

fn native_app(id: &'static str) -> NativeApp {
    NativeApp {
        id,
        secret: SECRET,
        scope: ALLOWED_SCOPE,
    }
}

async fn spawn() -> World {
    spawn_with(WebhookSink::start(200).await, |_| {}).await
}

/// Gatehouse with two headless clients registered in Hydra, one more
/// client registered but not allowed, and SMS going to `sms`.
async fn spawn_with(sms: WebhookSink, customize: impl FnOnce(&mut Config)) -> World {
    let world = World::with_sms(sms, |config| {
        config.headless.clients = vec![
            native_app(APP).listed(false),
            native_app(POST_APP).listed(false),
        ];
        customize(config);
    })
    .await;
    for (client_id, auth_method) in [
        (APP, "client_secret_basic"),
        (POST_APP, "client_secret_post"),
        (BROWSER_APP, "client_secret_basic"),
    ] {
        native_app(client_id)
            .register(&world.app, auth_method)
            .await;
    }
    world
}

/// request-otp for APP that must succeed; returns the session id and the code sent.
async fn start(world: &World, phone: &str, scope: Option<&str>) -> (String, String) {
    world.start_headless(phone, APP, scope).await
}

/// A number of the US 555-01xx fictional range; `n` < 100.
fn phone(n: u32) -> String {
    format!("+1201555{:04}", 100 + n)
}

/// A code of the right length that is not `code`.
fn wrong(code: &str) -> String {
    if code == "000000" { "111111" } else { "000000" }.to_string()
}

/// Hydra's published signing keys. Fetched once per test: Hydra creates
/// missing key sets on the first fetch, and twenty concurrent first fetches
/// each generating RSA keys outlast its 10 s write timeout on a small machine.
async fn jwks(app: &TestApp) -> JwkSet {
    app.get_json("/.well-known/jwks.json").await
}

/// Verifies the id_token (RS256, issuer, audience APP, expiry) with `jwks`;
/// returns its claims.
fn verified_id_token(app: &TestApp, jwks: &JwkSet, id_token: &str) -> Value {
    verify_jwt_with(jwks, id_token, &app.config.public_origin(), Some(APP))
}

/// The claims about the user, without the protocol's own.
fn user_claims(claims: &Value) -> BTreeSet<String> {
    const PROTOCOL: &[&str] = &[
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "nbf",
        "jti",
        "auth_time",
        "rat",
        "nonce",
        "at_hash",
        "c_hash",
        "acr",
        "amr",
        "sid",
    ];
    claims
        .as_object()
        .expect("a JSON object")
        .keys()
        .filter(|k| !PROTOCOL.contains(&k.as_str()))
        .cloned()
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn two_calls_return_tokens_that_verify_and_refresh() {
    let fx = spawn().await;
    let phone = phone(1);
    let profile = Profile {
        given_name: Some("Ada".into()),
        family_name: Some("Lovelace".into()),
        email: Some("ada@example.com".into()),
        email_verified: true,
        locality: Some("London".into()),
        ..Profile::default()
    };
    let user = fx.app.add_user(&phone, profile).await;

    let started = fx
        .request_otp(&phone, APP, Some("openid offline_access profile email"))
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    assert_eq!(started.body["expires_in"], 300);
    assert_eq!(started.headers["cache-control"], "no-store");
    let session_id = started.body["session_id"].as_str().unwrap().to_string();
    assert!(session_id.len() >= 32, "at least 128 bits: {session_id}");
    let code = fx.sms.code_for(&phone).await;

    // Only the hash of the session id is stored.
    let stored: Vec<String> =
        crate::helpers::white_box::rows(&fx.app.config, "SELECT id_hash FROM headless_sessions")
            .await
            .iter()
            .map(|row| row["id_hash"].as_str().unwrap().to_string())
            .collect();
    let expected_hash = hex::encode(Sha256::digest(session_id.as_bytes()));
    assert_eq!(stored, vec![expected_hash]);

    let tokens = fx.verify_otp(&session_id, &code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    assert_eq!(tokens.headers["cache-control"], "no-store");
    let body = &tokens.body;
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["scope"], "openid offline_access profile email");
    assert!(
        body["expires_in"].as_u64().is_some_and(|s| s > 3000),
        "{body}"
    );
    let keys: BTreeSet<String> = body.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        set(&[
            "access_token",
            "id_token",
            "refresh_token",
            "expires_in",
            "token_type",
            "scope"
        ])
    );

    let jwks = jwks(&fx.app).await;
    let claims = verified_id_token(&fx.app, &jwks, body["id_token"].as_str().unwrap());
    assert_eq!(claims["sub"], user.id.as_str());
    assert_eq!(claims["amr"], json!(["sms"]));
    assert!(claims["nonce"].as_str().is_some_and(|n| !n.is_empty()));
    assert_eq!(
        user_claims(&claims),
        set(&[
            "name",
            "given_name",
            "family_name",
            "email",
            "email_verified"
        ]),
        "profile and email, nothing of phone or address: {claims:?}"
    );
    assert_eq!(claims["name"], "Ada Lovelace");
    assert_eq!(claims["email"], "ada@example.com");
    assert_eq!(claims["email_verified"], true);

    // The access token is live and the app's.
    let introspected = fx
        .app
        .introspect(body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(introspected["active"], true, "{introspected}");
    assert_eq!(introspected["client_id"], APP);
    assert_eq!(introspected["sub"], user.id.as_str());

    // The refresh token works at the public token endpoint.
    let refreshed = fx
        .app
        .http
        .post(fx.app.url("/oauth2/token"))
        .basic_auth(APP, Some(SECRET))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::OK);
    let refreshed: Value = refreshed.json().await.unwrap();
    assert!(refreshed["access_token"].is_string(), "{refreshed}");
    assert_ne!(refreshed["access_token"], body["access_token"]);

    // A session is used once.
    fx.verify_otp(&session_id, &code)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_session");
}

#[tokio::test]
async fn the_default_scopes_and_client_secret_post_work_too() {
    let fx = spawn().await;
    let phone = phone(2);
    let (session_id, code) = fx.start_headless(&phone, POST_APP, None).await;
    let tokens = fx.verify_otp(&session_id, &code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    assert_eq!(tokens.body["scope"], ALLOWED_SCOPE);
    // A user created at sign-in has a phone and nothing else.
    let claims = jwt_payload(tokens.body["id_token"].as_str().unwrap());
    assert_eq!(
        user_claims(&claims),
        set(&["phone_number", "phone_number_verified"])
    );
    assert_eq!(claims["phone_number"], phone.as_str());
}

#[tokio::test]
async fn an_expired_session_is_refused_and_purged() {
    let fx = spawn_with(WebhookSink::start(200).await, |config| {
        config.headless.session_ttl = Duration::from_secs(1);
    })
    .await;
    let (session_id, code) = start(&fx, &phone(3), None).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    fx.verify_otp(&session_id, &code)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_session");

    let clock = gatehouse::infra::clock::Clock::system();
    let purged = gatehouse::jobs::purge_expired(&fx.app.store(), &clock, &Default::default())
        .await
        .unwrap();
    assert_eq!(purged.headless_sessions, 1);
}

#[tokio::test]
async fn wrong_codes_count_down_and_a_dead_code_ends_the_session() {
    let fx = spawn().await;
    let (session_id, code) = start(&fx, &phone(4), None).await;
    for left in [4, 3, 2, 1, 0] {
        let answer = fx.verify_otp(&session_id, &wrong(&code)).await;
        answer.assert_error(StatusCode::UNAUTHORIZED, "invalid_otp");
        assert_eq!(answer.body["attempts_left"], left, "{}", answer.body);
    }
    // The sixth try, with the right code, is too late: the session died with its code.
    fx.verify_otp(&session_id, &code)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_session");
}

#[tokio::test]
async fn a_restart_between_the_calls_loses_nothing() {
    let fx = spawn().await;
    let (session_id, code) = start(&fx, &phone(5), None).await;
    let fx = fx.restart().await;
    let tokens = fx.verify_otp(&session_id, &code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    assert!(tokens.body["access_token"].is_string());
}

#[tokio::test]
async fn only_clients_listed_in_headless_may_start() {
    let fx = spawn().await;
    for client_id in [BROWSER_APP, "no-such-client", ""] {
        fx.request_otp(&phone(6), client_id, None)
            .await
            .assert_error(StatusCode::FORBIDDEN, "unauthorized_client");
    }
    fx.request_otp(&phone(6), APP, Some("openid admin"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_scope");
    fx.app.outbox_drained().await;
    assert!(fx.sms.received().is_empty(), "no code was sent");
}

#[tokio::test]
async fn malformed_requests_get_json_errors() {
    let fx = spawn().await;
    let send = |path, content_type, body| fx.post_body(path, content_type, body);
    for path in ["/api/headless/request-otp", "/api/headless/verify-otp"] {
        for (body, status) in [
            (&b"{not json"[..], StatusCode::BAD_REQUEST),
            (b"", StatusCode::BAD_REQUEST),
            (b"[]", StatusCode::BAD_REQUEST),
            (b"{}", StatusCode::BAD_REQUEST),
            (
                br#"{"phone": 5, "client_id": [], "session_id": null}"#,
                StatusCode::BAD_REQUEST,
            ),
        ] {
            let answer = send(path, "application/json", body.to_vec()).await;
            answer.assert_error(status, "invalid_request");
        }
        let answer = send(path, "text/plain", b"{}".to_vec()).await;
        answer.assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_request");

        let oversized = json!({"phone": "1".repeat(32 * 1024), "session_id": "x"});
        let answer = send(path, "application/json", oversized.to_string().into_bytes()).await;
        answer.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");

        let answer = Answer::read(fx.app.get(path).await).await;
        answer.assert_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
    }
    let missing = send(
        "/api/headless/request-otp",
        "application/json",
        br#"{"phone": "+12015550107"}"#.to_vec(),
    )
    .await;
    missing.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    missing.assert_names("client_id");

    for bad_phone in ["", "not a phone", "+1 555", "2015550123"] {
        fx.request_otp(bad_phone, APP, None)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_phone");
    }
    for session_id in ["", "unknown", &"f".repeat(64), &"x".repeat(1000)] {
        fx.verify_otp(session_id, "123456")
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_session");
    }
    let (session_id, code) = start(&fx, &phone(7), None).await;
    for malformed in ["", "12345", "1234567", "12a456"] {
        fx.verify_otp(&session_id, malformed)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    // Malformed codes are not counted as tries: the right one still works.
    let tokens = fx.verify_otp(&session_id, &code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
}

#[tokio::test]
async fn too_many_codes_answer_429_with_retry_after() {
    let fx = spawn().await;
    start(&fx, &phone(8), None).await;
    let again = fx.request_otp(&phone(8), APP, None).await;
    again.assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    let retry_after: u64 = again.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");
}

#[tokio::test]
async fn an_undelivered_code_is_withdrawn_and_may_be_asked_for_again_at_once() {
    let fx = spawn_with(WebhookSink::start(500).await, |config| {
        config.sms.webhook.max_attempts = 1;
    })
    .await;
    // The answer does not wait for (or tell about) the gateway.
    let (session_id, code) = start(&fx, &phone(9), None).await;
    fx.app.outbox_drained().await;
    // The gateway failed: the code it was given no longer works...
    fx.verify_otp(&session_id, &code)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_session");
    // ...and its send was refunded: no cooldown for a new one.
    let again = fx.request_otp(&phone(9), APP, None).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
}

#[tokio::test]
async fn of_concurrent_verifications_of_one_session_exactly_one_wins() {
    let fx = spawn().await;
    let (session_id, code) = start(&fx, &phone(10), None).await;
    let answers =
        futures_util::future::join_all((0..5).map(|_| fx.verify_otp(&session_id, &code))).await;
    let winners = answers
        .iter()
        .filter(|a| a.status == StatusCode::OK)
        .count();
    assert_eq!(winners, 1);
    for loser in answers.iter().filter(|a| a.status != StatusCode::OK) {
        loser.assert_error(StatusCode::BAD_REQUEST, "invalid_session");
    }
}

#[tokio::test]
async fn twenty_concurrent_sign_ins_all_succeed() {
    let fx = spawn_with(WebhookSink::start(200).await, |config| {
        config.otp.max_per_ip_per_hour = 100;
    })
    .await;
    let sign_in = |n: u32| {
        let fx = &fx;
        async move {
            let phone = phone(20 + n);
            let (session_id, code) = start(fx, &phone, Some("openid phone")).await;
            let tokens = fx.verify_otp(&session_id, &code).await;
            assert_eq!(tokens.status, StatusCode::OK, "{phone}: {}", tokens.body);
            (phone, tokens.body["id_token"].as_str().unwrap().to_string())
        }
    };
    let signed_in = futures_util::future::join_all((0..20).map(sign_in)).await;
    let jwks = jwks(&fx.app).await;
    for (phone, id_token) in signed_in {
        let claims = verified_id_token(&fx.app, &jwks, &id_token);
        assert_eq!(claims["phone_number"], phone.as_str());
    }
}

#[tokio::test]
async fn works_behind_a_tls_terminating_proxy() {
    // public_url https: Hydra runs without --dev, sets Secure cookies and
    // wants X-Forwarded-Proto: https on every plain-http request.
    let fx = spawn_with(WebhookSink::start(200).await, |config| {
        let port = config.server.listen.port();
        config.server.public_url = format!("https://localhost:{port}").parse().unwrap();
    })
    .await;
    let (session_id, code) = start(&fx, &phone(11), None).await;
    let tokens = fx.verify_otp(&session_id, &code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    let jwks = jwks(&fx.app).await;
    let claims = verified_id_token(&fx.app, &jwks, tokens.body["id_token"].as_str().unwrap());
    assert_eq!(claims["iss"], fx.app.config.public_origin());
}

#[tokio::test]
async fn another_session_for_the_same_number_cannot_burn_or_replace_its_code() {
    let fx = spawn_with(WebhookSink::start(200).await, |config| {
        config.otp.resend_cooldown = Duration::ZERO;
    })
    .await;
    let number = phone(30);
    let (victim_session, victim_code) = start(&fx, &number, None).await;
    // Another app session for the same number: its own code, then its
    // code burnt with wrong tries.
    let (other_session, other_code) = start(&fx, &number, None).await;
    let wrong = ["000000", "111111", "222222"]
        .into_iter()
        .find(|guess| *guess != victim_code && *guess != other_code)
        .unwrap();
    for _ in 0..5 {
        let answer = fx.verify_otp(&other_session, wrong).await;
        assert_ne!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    // The victim's own code is no answer in the other session either.
    let answer = fx.verify_otp(&other_session, &victim_code).await;
    assert_ne!(answer.status, StatusCode::OK, "{}", answer.body);

    let tokens = fx.verify_otp(&victim_session, &victim_code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
}
