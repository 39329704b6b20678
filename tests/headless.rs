//! The headless sign-in API (native apps), against a real Hydra and a
//! webhook sink that captures the text messages.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::api::Answer;
use common::{TestApp, WebhookSink};
use gatehouse::config::{Config, HeadlessClient, Secret, SmsSenderKind};
use gatehouse::domain::PhoneNumber;
use gatehouse::store::users::{self, Profile};
use gatehouse::store::Store;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// Registered in Hydra with client_secret_basic (Hydra's default).
const APP: &str = "native-app";
/// Registered with client_secret_post.
const POST_APP: &str = "native-app-post";
/// Registered in Hydra, but not listed in [headless].
const BROWSER_APP: &str = "browser-only";
const SECRET: &str = "native-app-secret-0123456789";
/// Never visited: Hydra only puts the code in it.
const REDIRECT_URI: &str = "http://127.0.0.1:9/native-callback";
const ALLOWED_SCOPE: &str = "openid offline_access profile email phone";

struct Fixture {
    app: TestApp,
    sink: WebhookSink,
}

fn headless_client(client_id: &str) -> HeadlessClient {
    HeadlessClient {
        client_id: client_id.into(),
        client_secret: Secret::new(SECRET),
        redirect_uri: REDIRECT_URI.into(),
        scope: ALLOWED_SCOPE.into(),
        token_exchange: false,
    }
}

impl Fixture {
    async fn spawn() -> Fixture {
        Self::spawn_with(WebhookSink::start(200).await, |_| {}).await
    }

    /// Gatehouse with two headless clients registered in Hydra, one more
    /// client registered but not allowed, and SMS going to `sink`.
    async fn spawn_with(sink: WebhookSink, customize: impl FnOnce(&mut Config)) -> Fixture {
        let sms_url = sink.url.parse().unwrap();
        let app = TestApp::spawn_with(|config| {
            config.sms.sender = SmsSenderKind::Webhook { url: sms_url };
            config.headless.clients = vec![headless_client(APP), headless_client(POST_APP)];
            customize(config);
        })
        .await;
        for (client_id, auth_method) in [
            (APP, "client_secret_basic"),
            (POST_APP, "client_secret_post"),
            (BROWSER_APP, "client_secret_basic"),
        ] {
            app.create_client(json!({
                "client_id": client_id,
                "client_secret": SECRET,
                "redirect_uris": [REDIRECT_URI],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "scope": ALLOWED_SCOPE,
                "token_endpoint_auth_method": auth_method,
            }))
            .await;
        }
        Fixture { app, sink }
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        let response = self
            .app
            .http
            .post(self.app.url(path))
            .json(&body)
            .send()
            .await
            .expect("gatehouse answers");
        Answer::read(response).await
    }

    async fn request_otp(&self, phone: &str, client_id: &str, scope: Option<&str>) -> Answer {
        let mut body = json!({"phone": phone, "client_id": client_id});
        if let Some(scope) = scope {
            body["scope"] = json!(scope);
        }
        self.post("/api/headless/request-otp", body).await
    }

    async fn verify_otp(&self, session_id: &str, otp: &str) -> Answer {
        self.post(
            "/api/headless/verify-otp",
            json!({"session_id": session_id, "otp": otp}),
        )
        .await
    }

    /// request-otp that must succeed; returns the session id and the code sent.
    async fn start(&self, phone: &str, scope: Option<&str>) -> (String, String) {
        self.start_for(phone, APP, scope).await
    }

    async fn start_for(
        &self,
        phone: &str,
        client_id: &str,
        scope: Option<&str>,
    ) -> (String, String) {
        let answer = self.request_otp(phone, client_id, scope).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let session_id = answer.body["session_id"].as_str().expect("session_id");
        let code = self.sink.last_code_for(phone).expect("a code was sent");
        (session_id.to_string(), code)
    }

    fn store(&self) -> Store {
        Store::open(&self.app.config.data_dir.join("gatehouse.sqlite")).expect("open the store")
    }

    /// A connection of the test's own to the database, for white-box reads.
    fn database(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.app.config.data_dir.join("gatehouse.sqlite"))
            .expect("open the database")
    }
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

/// Verifies the id_token (RS256, issuer, audience, expiry) with `jwks`;
/// returns its claims.
fn verified_id_token(app: &TestApp, jwks: &JwkSet, id_token: &str) -> Map<String, Value> {
    let header = jsonwebtoken::decode_header(id_token).expect("a JWT header");
    assert_eq!(header.alg, Algorithm::RS256);
    let jwk = jwks
        .find(header.kid.as_deref().expect("kid"))
        .expect("the signing key is published");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[APP]);
    validation.set_issuer(&[app.config.public_origin()]);
    jsonwebtoken::decode::<Map<String, Value>>(
        id_token,
        &DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .expect("the id_token verifies")
    .claims
}

/// The claims about the user, without the protocol's own.
fn user_claims(claims: &Map<String, Value>) -> BTreeSet<String> {
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
    let fx = Fixture::spawn().await;
    let phone = phone(1);
    let parsed = PhoneNumber::parse(&phone, None).unwrap();
    let user = fx
        .store()
        .run(move |conn| {
            let profile = Profile {
                given_name: Some("Ada".into()),
                family_name: Some("Lovelace".into()),
                email: Some("ada@example.com".into()),
                email_verified: true,
                locality: Some("London".into()),
                ..Profile::default()
            };
            users::insert(conn, &parsed, &profile, true, 1)
        })
        .await
        .unwrap();

    let started = fx
        .request_otp(&phone, APP, Some("openid offline_access profile email"))
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    assert_eq!(started.body["expires_in"], 300);
    assert_eq!(started.headers["cache-control"], "no-store");
    let session_id = started.body["session_id"].as_str().unwrap().to_string();
    assert!(session_id.len() >= 32, "at least 128 bits: {session_id}");
    let code = fx.sink.last_code_for(&phone).expect("code sent");

    // Only the hash of the session id is stored.
    let stored: Vec<String> = {
        let conn = fx.database();
        let mut statement = conn
            .prepare("SELECT hex(id_hash) FROM headless_sessions")
            .unwrap();
        let rows = statement.query_map([], |row| row.get(0)).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    };
    let expected_hash = hex::encode_upper(Sha256::digest(session_id.as_bytes()));
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
    let fx = Fixture::spawn().await;
    let phone = phone(2);
    let (session_id, code) = fx.start_for(&phone, POST_APP, None).await;
    let tokens = fx.verify_otp(&session_id, &code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    assert_eq!(tokens.body["scope"], ALLOWED_SCOPE);
    // A user created at sign-in has a phone and nothing else.
    let payload = tokens.body["id_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    let claims: Map<String, Value> = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        user_claims(&claims),
        set(&["phone_number", "phone_number_verified"])
    );
    assert_eq!(claims["phone_number"], phone.as_str());
}

#[tokio::test]
async fn an_expired_session_is_refused_and_purged() {
    let fx = Fixture::spawn_with(WebhookSink::start(200).await, |config| {
        config.headless.session_ttl = Duration::from_secs(1);
    })
    .await;
    let (session_id, code) = fx.start(&phone(3), None).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    fx.verify_otp(&session_id, &code)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_session");

    let purged =
        gatehouse::jobs::purge_expired(&fx.store(), &gatehouse::infra::clock::Clock::system())
            .await
            .unwrap();
    assert_eq!(purged.headless_sessions, 1);
}

#[tokio::test]
async fn wrong_codes_count_down_and_a_dead_code_ends_the_session() {
    let fx = Fixture::spawn().await;
    let (session_id, code) = fx.start(&phone(4), None).await;
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
    let fx = Fixture::spawn().await;
    let (session_id, code) = fx.start(&phone(5), None).await;
    let Fixture { app, sink } = fx;
    let fx = Fixture {
        app: app.restart().await,
        sink,
    };
    let tokens = fx.verify_otp(&session_id, &code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    assert!(tokens.body["access_token"].is_string());
}

#[tokio::test]
async fn only_clients_listed_in_headless_may_start() {
    let fx = Fixture::spawn().await;
    for client_id in [BROWSER_APP, "no-such-client", ""] {
        fx.request_otp(&phone(6), client_id, None)
            .await
            .assert_error(StatusCode::FORBIDDEN, "unauthorized_client");
    }
    fx.request_otp(&phone(6), APP, Some("openid admin"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_scope");
    assert!(fx.sink.received().is_empty(), "no code was sent");
}

#[tokio::test]
async fn malformed_requests_get_json_errors() {
    let fx = Fixture::spawn().await;
    let http = &fx.app.http;
    let send = |path: &str, content_type: &str, body: Vec<u8>| {
        http.post(fx.app.url(path))
            .header("content-type", content_type.to_string())
            .body(body)
            .send()
    };
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
            let answer =
                Answer::read(send(path, "application/json", body.to_vec()).await.unwrap()).await;
            answer.assert_error(status, "invalid_request");
        }
        let answer = Answer::read(send(path, "text/plain", b"{}".to_vec()).await.unwrap()).await;
        answer.assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_request");

        let oversized = json!({"phone": "1".repeat(32 * 1024), "session_id": "x"});
        let answer = Answer::read(
            send(path, "application/json", oversized.to_string().into_bytes())
                .await
                .unwrap(),
        )
        .await;
        answer.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");

        let answer = Answer::read(http.get(fx.app.url(path)).send().await.unwrap()).await;
        answer.assert_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
    }
    let missing = Answer::read(
        send(
            "/api/headless/request-otp",
            "application/json",
            br#"{"phone": "+12015550107"}"#.to_vec(),
        )
        .await
        .unwrap(),
    )
    .await;
    missing.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        missing.body["error_description"]
            .as_str()
            .unwrap()
            .contains("client_id"),
        "names the missing field: {}",
        missing.body
    );

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
    let (session_id, code) = fx.start(&phone(7), None).await;
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
    let fx = Fixture::spawn().await;
    fx.start(&phone(8), None).await;
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
async fn an_sms_failure_is_reported_and_costs_no_session() {
    let fx = Fixture::spawn_with(WebhookSink::start(500).await, |config| {
        config.sms.webhook.max_attempts = 1;
    })
    .await;
    fx.request_otp(&phone(9), APP, None)
        .await
        .assert_error(StatusCode::BAD_GATEWAY, "sms_failed");
    let sessions: i64 = fx
        .database()
        .query_row("SELECT COUNT(*) FROM headless_sessions", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(sessions, 0);
}

#[tokio::test]
async fn of_concurrent_verifications_of_one_session_exactly_one_wins() {
    let fx = Fixture::spawn().await;
    let (session_id, code) = fx.start(&phone(10), None).await;
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
    let fx = Fixture::spawn_with(WebhookSink::start(200).await, |config| {
        config.otp.max_per_ip_per_hour = 100;
    })
    .await;
    let sign_in = |n: u32| {
        let fx = &fx;
        async move {
            let phone = phone(20 + n);
            let (session_id, code) = fx.start(&phone, Some("openid phone")).await;
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
    let fx = Fixture::spawn_with(WebhookSink::start(200).await, |config| {
        let port = config.server.listen.port();
        config.server.public_url = format!("https://localhost:{port}").parse().unwrap();
    })
    .await;
    let (session_id, code) = fx.start(&phone(11), None).await;
    let tokens = fx.verify_otp(&session_id, &code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    let jwks = jwks(&fx.app).await;
    let claims = verified_id_token(&fx.app, &jwks, tokens.body["id_token"].as_str().unwrap());
    assert_eq!(claims["iss"], fx.app.config.public_origin());
}
