//! The legacy-session exchange (`POST /api/headless/token-exchange`), against
//! a real Hydra and an in-test "existing system" that verifies its tokens.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::helpers::answer::Answer;
use crate::helpers::headless::{NativeApp, EXCHANGE};
use crate::helpers::oauth::id_token_claims;
use crate::helpers::world::World;
use crate::helpers::{capture_logs, free_port, ReceivedRequest, WebhookSink};
use axum::http::StatusCode as AxumStatus;
use axum::response::IntoResponse;
use gatehouse::config::{Config, Secret};
use gatehouse::infra::random::random_hex;
use gatehouse::store::users::{self, Profile, User};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Listed under [headless] with token_exchange = true.
const APP: &str = "legacy-app";
/// Listed under [headless] for codes only.
const OTP_APP: &str = "otp-only-app";
/// Registered in Hydra, not listed in [headless].
const BROWSER_APP: &str = "browser-only";
const SECRET: &str = "legacy-app-secret-0123456789";
const ALLOWED_SCOPE: &str = "openid offline_access profile email phone";
/// What gatehouse sends the verifier as `Authorization: Bearer`.
const VERIFIER_BEARER: &str = "verifier-bearer-0123456789";

/// How the existing system answers one token.
#[derive(Clone)]
enum Reply {
    /// 200 `{"subject": ...}`.
    Subject(String),
    /// This status, no body.
    Status(u16),
    /// 200 with this body.
    Body(&'static str),
    /// Never answers.
    Hang,
}

/// The existing system's verification endpoint: answers the tokens it was
/// told about, 401 for any other, and records every request.
struct LegacySystem {
    endpoint: WebhookSink,
    replies: Arc<Mutex<HashMap<String, Reply>>>,
}

impl LegacySystem {
    async fn start() -> LegacySystem {
        let replies: Arc<Mutex<HashMap<String, Reply>>> = Arc::default();
        let known = replies.clone();
        let endpoint = WebhookSink::answering("/api/session/verify", move |_, request| {
            let token = serde_json::from_slice::<Value>(&request.body).unwrap_or_default()["token"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_default();
            let reply = known.lock().unwrap().get(&token).cloned();
            async move {
                match reply.unwrap_or(Reply::Status(401)) {
                    Reply::Subject(subject) => {
                        axum::Json(json!({ "subject": subject })).into_response()
                    }
                    Reply::Status(status) => AxumStatus::from_u16(status).unwrap().into_response(),
                    Reply::Body(body) => body.into_response(),
                    Reply::Hang => std::future::pending().await,
                }
            }
        })
        .await;
        LegacySystem { endpoint, replies }
    }

    /// A new token of this system, answered with `reply`.
    fn token(&self, reply: Reply) -> String {
        let token = format!("lgcy.{}.{}", random_hex(12), random_hex(12));
        self.replies.lock().unwrap().insert(token.clone(), reply);
        token
    }

    fn received(&self) -> Vec<ReceivedRequest> {
        self.endpoint.received()
    }
}

fn native_app(id: &'static str) -> NativeApp {
    NativeApp {
        id,
        secret: SECRET,
        scope: ALLOWED_SCOPE,
    }
}

async fn spawn() -> (World, LegacySystem) {
    spawn_with(|_| {}).await
}

/// Gatehouse with token exchange pointed at a fresh legacy system, APP
/// allowed to exchange, OTP_APP not, and BROWSER_APP only in Hydra.
async fn spawn_with(customize: impl FnOnce(&mut Config)) -> (World, LegacySystem) {
    let legacy = LegacySystem::start().await;
    let world = World::with(|config| {
        config.headless.clients = vec![
            native_app(APP).listed(true),
            native_app(OTP_APP).listed(false),
        ];
        let exchange = &mut config.headless.token_exchange;
        exchange.url = Some(legacy.endpoint.url.parse().unwrap());
        exchange.bearer_token = Some(Secret::new(VERIFIER_BEARER));
        customize(config);
    })
    .await;
    for client_id in [APP, OTP_APP, BROWSER_APP] {
        native_app(client_id)
            .register(&world.app, "client_secret_basic")
            .await;
    }
    (world, legacy)
}

/// A user in gatehouse's store with a full profile.
async fn user(world: &World, n: u32, disabled: bool) -> User {
    let profile = Profile {
        given_name: Some("Grace".into()),
        family_name: Some("Hopper".into()),
        email: Some("grace@example.com".into()),
        email_verified: true,
        ..Profile::default()
    };
    let phone = format!("+1201555{:04}", 300 + n);
    let user = world.app.add_user(&phone, profile).await;
    if disabled {
        let id = user.id.clone();
        world
            .app
            .store()
            .run(move |conn| users::set_disabled(conn, &id, true, 2))
            .await
            .unwrap();
    }
    user
}

/// POSTs `body` to the exchange endpoint as `content_type`.
async fn post(world: &World, body: Vec<u8>, content_type: &str) -> Answer {
    world.post_body(EXCHANGE, content_type, body).await
}

/// Asserts the count of token-exchange sign-ins with `result`.
fn assert_sign_ins(world: &World, result: &str, count: u32) {
    let metrics = world.app.state.metrics.render();
    let line =
        format!(r#"gatehouse_sign_ins_total{{flow="token_exchange",result="{result}"}} {count}"#);
    assert!(metrics.contains(&line), "{metrics}");
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test]
async fn a_verified_legacy_token_is_exchanged_for_tokens_of_its_subject() {
    let (fx, legacy) = spawn().await;
    let user = user(&fx, 1, false).await;
    let token = legacy.token(Reply::Subject(user.id.clone()));

    let answer = fx
        .exchange(&token, APP, Some("openid offline_access profile"))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.headers["cache-control"], "no-store");
    let tokens = &answer.body;
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(tokens["scope"], "openid offline_access profile");
    assert_eq!(
        keys(tokens),
        [
            "access_token",
            "expires_in",
            "id_token",
            "refresh_token",
            "scope",
            "token_type"
        ]
        .map(String::from)
        .into(),
        "the same answer as verify-otp"
    );

    let claims = id_token_claims(&fx.app, tokens, APP).await;
    assert_eq!(claims["sub"], user.id.as_str());
    assert_eq!(claims["amr"], json!(["legacy_session"]));
    assert_eq!(claims["name"], "Grace Hopper");
    assert_eq!(claims["given_name"], "Grace");
    for not_granted in ["email", "phone_number"] {
        assert!(claims.get(not_granted).is_none(), "{claims}");
    }

    // The existing system was asked once, as documented.
    let received = legacy.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].json(), json!({ "token": token }));
    assert_eq!(
        received[0].headers["authorization"],
        format!("Bearer {VERIFIER_BEARER}").as_str()
    );
    assert_eq!(received[0].headers["content-type"], "application/json");

    let introspected = fx
        .app
        .introspect(tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(introspected["active"], true, "{introspected}");
    assert_eq!(introspected["sub"], user.id.as_str());
    assert_eq!(introspected["client_id"], APP);

    // Without a scope the client's scopes are granted, with their claims.
    let answer = fx.exchange(&token, APP, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["scope"], ALLOWED_SCOPE);
    let claims = id_token_claims(&fx.app, &answer.body, APP).await;
    assert_eq!(claims["sub"], user.id.as_str());
    assert_eq!(claims["email"], "grace@example.com");
    assert_eq!(claims["phone_number"], user.phone.as_str());

    assert_sign_ins(&fx, "success", 2);
}

#[tokio::test]
async fn a_rejected_token_or_a_subject_unknown_here_is_invalid_token() {
    let (fx, legacy) = spawn().await;
    let disabled = user(&fx, 2, true).await;
    let cases = [
        (
            "never issued",
            "not-a-token-of-the-legacy-system".to_string(),
        ),
        ("answered 401", legacy.token(Reply::Status(401))),
        ("answered 403", legacy.token(Reply::Status(403))),
        (
            "not a user here",
            legacy.token(Reply::Subject("legacy-user-42".into())),
        ),
    ];
    for (case, token) in &cases {
        let answer = fx.exchange(token, APP, None).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{case}");
        answer.assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
        assert!(
            !answer.text.contains(token.as_str()),
            "{case}: {}",
            answer.text
        );
    }
    assert_eq!(legacy.received().len(), cases.len());

    // An empty token is not worth asking about.
    fx.exchange("", APP, None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    assert_eq!(legacy.received().len(), cases.len());

    // A disabled account hears what verify-otp answers it.
    let token = legacy.token(Reply::Subject(disabled.id.clone()));
    fx.exchange(&token, APP, None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "access_denied");

    assert_sign_ins(&fx, "failure", 6);
}

#[tokio::test]
async fn a_failing_or_hanging_verifier_is_502_within_the_timeout() {
    let (fx, legacy) = spawn_with(|config| {
        config.headless.token_exchange.timeout = Duration::from_secs(1);
    })
    .await;
    let user = user(&fx, 3, false).await;
    for (case, reply) in [
        ("500", Reply::Status(500)),
        ("503", Reply::Status(503)),
        ("404: wrong url", Reply::Status(404)),
        ("400", Reply::Status(400)),
        ("a redirect", Reply::Status(302)),
        ("200 with HTML", Reply::Body("<html>signed in</html>")),
        ("200 without subject", Reply::Body(r#"{"user": "x"}"#)),
        ("200 with a number", Reply::Body(r#"{"subject": 5}"#)),
        ("200 with an empty subject", Reply::Subject(String::new())),
    ] {
        let token = legacy.token(reply);
        let answer = fx.exchange(&token, APP, None).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_GATEWAY,
            "{case}: {}",
            answer.body
        );
        answer.assert_error(StatusCode::BAD_GATEWAY, "verifier_unavailable");
    }

    let token = legacy.token(Reply::Hang);
    let started = Instant::now();
    let answer = fx.exchange(&token, APP, None).await;
    let elapsed = started.elapsed();
    answer.assert_error(StatusCode::BAD_GATEWAY, "verifier_unavailable");
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(3),
        "a 1 s timeout took {elapsed:?}"
    );

    // The verifier is fine again: nothing was locked.
    let token = legacy.token(Reply::Subject(user.id.clone()));
    let answer = fx.exchange(&token, APP, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn a_verifier_that_is_down_is_502() {
    let (fx, _legacy) = spawn_with(|config| {
        // Nothing listens there.
        let closed = format!("http://127.0.0.1:{}/verify", free_port());
        config.headless.token_exchange.url = Some(closed.parse().unwrap());
    })
    .await;
    let started = Instant::now();
    fx.exchange("lgcy.some-token", APP, None)
        .await
        .assert_error(StatusCode::BAD_GATEWAY, "verifier_unavailable");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn only_clients_that_opted_in_may_exchange() {
    let (fx, legacy) = spawn().await;
    let user = user(&fx, 4, false).await;
    let token = legacy.token(Reply::Subject(user.id.clone()));
    for client_id in [OTP_APP, BROWSER_APP, "no-such-client", ""] {
        fx.exchange(&token, client_id, None)
            .await
            .assert_error(StatusCode::FORBIDDEN, "unauthorized_client");
    }
    fx.exchange(&token, APP, Some("openid admin"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_scope");
    assert!(
        legacy.received().is_empty(),
        "the token went nowhere for a client that may not exchange it"
    );
}

#[tokio::test]
async fn without_a_verifier_url_the_endpoint_is_not_enabled() {
    let (fx, legacy) = spawn_with(|config| {
        config.headless.token_exchange.url = None;
        config.headless.clients = vec![native_app(OTP_APP).listed(false)];
    })
    .await;
    let token = legacy.token(Reply::Subject("anyone".into()));
    fx.exchange(&token, OTP_APP, None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_enabled");
    assert!(legacy.received().is_empty());
}

#[tokio::test]
async fn malformed_requests_get_json_errors_that_never_quote_the_token() {
    let (fx, legacy) = spawn().await;
    for body in [
        "{not json".to_string(),
        String::new(),
        "[]".into(),
        "{}".into(),
        json!({"client_id": APP}).to_string(),
        json!({"legacy_token": 987654321, "client_id": APP}).to_string(),
        json!({"legacy_token": true, "client_id": APP}).to_string(),
        json!({"legacy_token": "lgcy.quoted-SECRET", "client_id": 5}).to_string(),
        json!({"legacy_token": "lgcy.quoted-SECRET", "client_id": APP, "scope": ["openid"]})
            .to_string(),
    ] {
        let answer = post(&fx, body.clone().into_bytes(), "application/json").await;
        answer.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
        for secret in ["987654321", "true", "SECRET"] {
            assert!(!answer.text.contains(secret), "{body}: {}", answer.text);
        }
    }
    let missing = post(
        &fx,
        json!({"legacy_token": "x"}).to_string().into_bytes(),
        "application/json",
    )
    .await;
    missing.assert_names("client_id");
    let token = json!({"legacy_token": "lgcy.x", "client_id": APP}).to_string();
    post(&fx, token.clone().into_bytes(), "text/plain")
        .await
        .assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_request");
    let oversized = json!({"legacy_token": "x".repeat(32 * 1024), "client_id": APP});
    post(&fx, oversized.to_string().into_bytes(), "application/json")
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");
    let get = fx.app.get(EXCHANGE).await;
    Answer::read(get)
        .await
        .assert_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");

    // Odd but well-formed tokens are the verifier's business.
    for odd in ["\u{0}\n\r\"", "é🙂", &"t".repeat(15 * 1024)] {
        fx.exchange(odd, APP, None)
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    }
    assert_eq!(legacy.received().len(), 3);
    assert_eq!(legacy.received()[0].json()["token"], "\u{0}\n\r\"");
}

#[tokio::test]
async fn the_legacy_token_appears_in_no_log() {
    let (logs, _guard) = capture_logs();
    let (fx, legacy) = spawn_with(|config| {
        config.headless.token_exchange.timeout = Duration::from_secs(1);
    })
    .await;
    let user = user(&fx, 5, false).await;
    let mut tokens = Vec::new();
    for (reply, status) in [
        (Reply::Subject(user.id.clone()), StatusCode::OK),
        (Reply::Status(401), StatusCode::UNAUTHORIZED),
        (
            Reply::Subject("legacy-user-7".into()),
            StatusCode::UNAUTHORIZED,
        ),
        (Reply::Status(500), StatusCode::BAD_GATEWAY),
        (Reply::Hang, StatusCode::BAD_GATEWAY),
    ] {
        let token = legacy.token(reply);
        let answer = fx.exchange(&token, APP, None).await;
        assert_eq!(answer.status, status, "{}", answer.body);
        assert!(!answer.text.contains(&token));
        tokens.push(token);
    }

    let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    for expected in [
        "legacy session exchanged for tokens",
        "the verified subject is not a user here",
        "legacy-session verifier failed",
        "answered HTTP 500",
        "no answer within 1s",
    ] {
        assert!(
            logs.contains(expected),
            "{expected:?} is not logged:\n{logs}"
        );
    }
    for token in &tokens {
        // The random parts too: a token cut or re-encoded is still a leak.
        for part in token.split('.') {
            assert!(
                !logs.contains(part) || part == "lgcy",
                "{part} of a legacy token appears in the logs:\n{logs}"
            );
        }
    }
}
