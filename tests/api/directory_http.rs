//! `[directory] kind = "http"`: people who live in an existing user service,
//! signed in through gatehouse with a real Hydra. The user service here is
//! an in-test HTTP server with its own JSON shape.

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::helpers::answer::Answer;
use crate::helpers::headless::NativeApp;
use crate::helpers::http_browser::HttpBrowser;
use crate::helpers::oauth::{id_token_claims, verify_jwt};
use crate::helpers::world::{trusted, World};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use gatehouse::config::{
    ClaimTarget, Config, CustomClaim, DirectoryKind, HttpAuth, HttpService, Signup,
};
use serde_json::{json, Value};

const API_KEY: &str = "directory-api-key-123";
const GRACE: &str = "+12015550170";
const BLOCKED: &str = "+12015550171";
const NOBODY: &str = "+12015550179";
const LEGACY_SESSION: &str = "legacy-session-of-grace";
/// What the login page says while the directory is down.
fn outage_text() -> String {
    crate::helpers::english("directory-down")
}

/// How the user service behaves right now.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Normal,
    Failing,
    Hanging,
}

#[derive(Clone)]
struct UserService {
    url: String,
    state: Arc<ServiceState>,
}

struct ServiceState {
    mode: Mutex<Mode>,
    /// Every request's path and whether it carried the API key.
    requests: Mutex<Vec<(String, bool)>>,
    users: Vec<Value>,
}

impl UserService {
    /// A service with two people in its own shape: `uid`, `mobile`, nested names.
    async fn start() -> UserService {
        let users = vec![
            json!({
                "uid": "cust-42",
                "mobile": GRACE,
                "name": {"first": "Grace", "last": "Hopper"},
                "contact": {"email": "grace@example.com", "confirmed": "yes"},
                "roles": ["admin", "ops"],
                "tier": "gold",
                "status": {"blocked": false}
            }),
            json!({
                "uid": 77,
                "mobile": BLOCKED,
                "name": {"first": "Mallory"},
                "status": {"blocked": true}
            }),
        ];
        let state = Arc::new(ServiceState {
            mode: Mutex::new(Mode::Normal),
            requests: Mutex::default(),
            users,
        });
        let app = Router::new()
            .route("/api/users/by-phone/{phone}", get(by_phone))
            .route("/api/users/{id}", get(by_id))
            .route("/api/sessions/verify", axum::routing::post(verify_session))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let url = format!("http://{}/api", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        UserService { url, state }
    }

    fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    fn requests(&self) -> Vec<(String, bool)> {
        self.state.requests.lock().unwrap().clone()
    }
}

async fn answer(
    state: &ServiceState,
    path: String,
    headers: &HeaderMap,
    find: impl Fn(&Value) -> bool,
) -> Response {
    let authorized = headers.get("x-api-key").is_some_and(|v| v == API_KEY);
    state.requests.lock().unwrap().push((path, authorized));
    let mode = *state.mode.lock().unwrap();
    match mode {
        Mode::Failing => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Mode::Hanging => return std::future::pending().await,
        Mode::Normal => {}
    }
    if !authorized {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match state.users.iter().find(|u| find(u)) {
        Some(user) => Json(user.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn by_phone(
    State(state): State<Arc<ServiceState>>,
    Path(phone): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("by-phone/{phone}");
    answer(&state, path, &headers, |u| u["mobile"] == phone.as_str()).await
}

async fn by_id(
    State(state): State<Arc<ServiceState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("id/{id}");
    answer(&state, path, &headers, |u| match &u["uid"] {
        Value::String(s) => *s == id,
        Value::Number(n) => n.as_i64().is_some_and(|n| id.parse() == Ok(n)),
        _ => false,
    })
    .await
}

/// The existing system's session check, for the legacy-session exchange:
/// its one valid session belongs to cust-42.
async fn verify_session(Json(body): Json<Value>) -> Response {
    if body["token"] == LEGACY_SESSION {
        Json(json!({"subject": "cust-42"})).into_response()
    } else {
        StatusCode::UNAUTHORIZED.into_response()
    }
}

/// Gatehouse reading people from `service`, with its field names mapped and
/// two custom claims.
fn use_service(config: &mut Config, service: &UserService) {
    config.users.signup = Signup::Closed;
    let directory = &mut config.directory;
    directory.kind = DirectoryKind::Http(HttpService {
        base_url: service.url.parse().unwrap(),
        auth: Some(HttpAuth::new("X-Api-Key", API_KEY).unwrap()),
    });
    directory.http.timeout = Duration::from_secs(1);
    let fields = &mut directory.fields;
    fields.subject = "uid".into();
    fields.phone = "mobile".into();
    fields.given_name = "name.first".into();
    fields.family_name = "name.last".into();
    fields.email = "contact.email".into();
    fields.email_verified = "contact.confirmed".into();
    fields.disabled = "status.blocked".into();
    config.claims.custom = vec![
        CustomClaim {
            scope: "roles".into(),
            claim: "roles".into(),
            field: "roles".into(),
            into: ClaimTarget::AccessToken,
        },
        CustomClaim {
            scope: "roles".into(),
            claim: "tier".into(),
            field: "tier".into(),
            into: ClaimTarget::IdToken,
        },
    ];
}

async fn world_with(service: &UserService, customize: impl FnOnce(&mut Config)) -> World {
    World::with(|config| {
        use_service(config, service);
        customize(config);
    })
    .await
}

fn with_roles_scope() -> Value {
    let mut extra = trusted();
    extra["scope"] = json!("openid offline_access profile email phone roles");
    extra
}

/// The native app of the headless tests, allowed `scope`.
fn native_app(scope: &'static str) -> NativeApp {
    NativeApp {
        id: APP,
        secret: "native-app-secret-0123456789",
        scope,
    }
}
const APP: &str = "native-app";

#[tokio::test]
async fn people_in_a_user_service_sign_in_with_claims_from_its_fields() {
    let service = UserService::start().await;
    // Two sign-ins in a row with the same phone.
    let world = world_with(&service, |config| {
        config.otp.resend_cooldown = Duration::ZERO
    })
    .await;
    let client = world.client(with_roles_scope()).await;
    let browser = HttpBrowser::new();

    let tokens = world
        .sign_in(
            &browser,
            &client,
            GRACE,
            "openid profile email phone roles",
            false,
        )
        .await;

    let claims = id_token_claims(&world.app, &tokens, &client.id).await;
    assert_eq!(claims["sub"], "cust-42", "the mapped subject: {claims}");
    assert_eq!(claims["given_name"], "Grace");
    assert_eq!(claims["family_name"], "Hopper");
    assert_eq!(claims["name"], "Grace Hopper");
    assert_eq!(claims["email"], "grace@example.com");
    assert_eq!(claims["email_verified"], true, "\"yes\" reads as true");
    assert_eq!(claims["phone_number"], GRACE);
    assert_eq!(claims["phone_number_verified"], true);
    assert_eq!(claims["tier"], "gold", "custom id_token claim: {claims}");
    assert!(
        claims.get("roles").is_none(),
        "roles go into the access token only: {claims}"
    );

    let introspection = world
        .app
        .hydra_client()
        .introspect(tokens["access_token"].as_str().unwrap(), None)
        .await
        .unwrap();
    assert!(introspection.active);
    assert_eq!(introspection.sub.as_deref(), Some("cust-42"));
    assert_eq!(
        introspection.ext.get("roles"),
        Some(&json!(["admin", "ops"])),
        "custom access token claim: {:?}",
        introspection.ext
    );

    let requests = service.requests();
    assert!(
        requests.iter().all(|(_, authorized)| *authorized),
        "every lookup carries the configured header: {requests:?}"
    );
    let by_phone = requests
        .iter()
        .filter(|(path, _)| path == &format!("by-phone/{GRACE}"))
        .count();
    assert_eq!(
        by_phone, 1,
        "sending and checking the code share one cached lookup: {requests:?}"
    );
    assert!(
        requests.iter().any(|(path, _)| path == "id/cust-42"),
        "consent looks the subject up by id: {requests:?}"
    );

    // Without the custom scope, neither custom claim appears.
    let tokens = world
        .sign_in(&browser, &client, GRACE, "openid profile", false)
        .await;
    let claims = id_token_claims(&world.app, &tokens, &client.id).await;
    assert_eq!(claims["sub"], "cust-42");
    assert!(claims.get("tier").is_none(), "{claims}");
}

#[tokio::test]
async fn a_phone_the_service_does_not_know_is_answered_like_closed_signup() {
    let service = UserService::start().await;
    let world = world_with(&service, |_| {}).await;
    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();

    let mut pages = Vec::new();
    for phone in [GRACE, NOBODY, BLOCKED] {
        let auth = client.authorize(&world.app, "openid");
        let login = world.open(&browser, &auth).await;
        let page = world.send_code(&browser, &login, phone).await;
        pages.push((phone, page));
    }
    for (phone, page) in &pages {
        assert_eq!(page.status, 200, "{phone}: {}", page.body);
        assert!(
            page.body.contains("one-time-code"),
            "{phone} gets the code form like anyone: {}",
            page.body
        );
    }
    world.sms.code_for(GRACE).await;
    world.app.outbox_drained().await;
    assert!(
        world.sms.last_code_for(NOBODY).is_none(),
        "nobody there: no SMS"
    );
    assert!(
        world.sms.last_code_for(BLOCKED).is_none(),
        "blocked: no SMS"
    );

    // A guessed code for the unknown phone goes nowhere.
    let (_, nobody_page) = &pages[1];
    let verified = world
        .submit_code(&browser, nobody_page, "123456", false)
        .await;
    assert_eq!(verified.status, 400, "{}", verified.body);
    assert!(verified.location.is_none());
}

#[tokio::test]
async fn a_failing_or_slow_service_gets_a_polite_page_and_locks_nobody_out() {
    let service = UserService::start().await;
    let world = world_with(&service, |config| {
        // Every step asks the service, so each outage below is seen.
        config.directory.cache_ttl = Duration::ZERO;
        // One code per hour: an outage that counted a code would lock the phone.
        config.otp.max_per_phone_per_hour = 1;
    })
    .await;
    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();
    let auth = client.authorize(&world.app, "openid phone");
    let login = world.open(&browser, &auth).await;

    service.set_mode(Mode::Failing);
    let page = world.send_code(&browser, &login, GRACE).await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(page.body.contains(&outage_text()), "{}", page.body);
    assert!(
        page.body.contains("name=\"phone\""),
        "the form is still there"
    );

    service.set_mode(Mode::Hanging);
    let started = Instant::now();
    let page = world.send_code(&browser, &page, GRACE).await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(page.body.contains(&outage_text()), "{}", page.body);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "directory.http.timeout (1s) bounds the wait: {:?}",
        started.elapsed()
    );
    world.app.outbox_drained().await;
    assert!(world.sms.received().is_empty(), "no code was sent");

    // Back up: the phone's one code for the hour is still there.
    service.set_mode(Mode::Normal);
    let code_page = world.send_code(&browser, &page, GRACE).await;
    assert_eq!(code_page.status, 200, "{}", code_page.body);
    let code = world.sms.code_for(GRACE).await;

    // Down while the code is checked: the code is not used up, nor a try.
    service.set_mode(Mode::Failing);
    let page = world.submit_code(&browser, &code_page, &code, false).await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(page.body.contains(&outage_text()), "{}", page.body);
    assert!(
        page.body.contains("one-time-code"),
        "the code form stays: {}",
        page.body
    );

    service.set_mode(Mode::Normal);
    let accepted = world.submit_code(&browser, &page, &code, false).await;
    assert_eq!(accepted.status, 303, "{}", accepted.body);
    let callback = world.follow_to_callback(&browser, &accepted).await;
    let tokens = world.redeem(&client, &auth, &callback).await;
    let claims = id_token_claims(&world.app, &tokens, &client.id).await;
    assert_eq!(claims["sub"], "cust-42");
    assert_eq!(claims["phone_number"], GRACE);
}

#[tokio::test]
async fn the_headless_api_answers_a_directory_outage_with_503_and_keeps_the_code() {
    let service = UserService::start().await;
    let world = world_with(&service, |config| {
        config.directory.cache_ttl = Duration::ZERO;
        config.headless.clients = vec![native_app("openid phone").listed(false)];
    })
    .await;
    native_app("openid phone")
        .register(&world.app, "client_secret_basic")
        .await;

    service.set_mode(Mode::Failing);
    let Answer { status, body, .. } = world.request_otp(GRACE, APP, None).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable");

    service.set_mode(Mode::Normal);
    let Answer { status, body, .. } = world.request_otp(GRACE, APP, None).await;
    assert_eq!(status, 200, "{body}");
    let session_id = body["session_id"].as_str().unwrap().to_string();
    let code = world.sms.code_for(GRACE).await;

    service.set_mode(Mode::Failing);
    let Answer { status, body, .. } = world.verify_otp(&session_id, &code).await;
    assert_eq!(status, 503, "{body}");

    service.set_mode(Mode::Normal);
    let Answer { status, body, .. } = world.verify_otp(&session_id, &code).await;
    assert_eq!(
        status, 200,
        "the session and code survived the outage: {body}"
    );
    let claims = id_token_claims(&world.app, &body, APP).await;
    assert_eq!(claims["sub"], "cust-42");
}

#[tokio::test]
async fn custom_claims_sit_at_the_top_of_jwt_access_tokens() {
    let service = UserService::start().await;
    let world = world_with(&service, |config| {
        config.hydra.access_token_strategy = gatehouse::config::AccessTokenStrategy::Jwt;
    })
    .await;
    let client = world.client(with_roles_scope()).await;
    let tokens = world
        .sign_in(&HttpBrowser::new(), &client, GRACE, "openid roles", false)
        .await;
    let access = verify_jwt(&world.app, tokens["access_token"].as_str().unwrap(), None).await;
    assert_eq!(access["sub"], "cust-42");
    assert_eq!(access["roles"], json!(["admin", "ops"]), "{access}");
    assert!(
        access.get("tier").is_none(),
        "tier is an id_token claim: {access}"
    );
}

#[tokio::test]
async fn a_legacy_session_is_exchanged_for_tokens_with_the_directory_claims() {
    let service = UserService::start().await;
    let world = world_with(&service, |config| {
        config.headless.token_exchange.url =
            Some(format!("{}/sessions/verify", service.url).parse().unwrap());
        config.headless.clients = vec![native_app("openid profile roles").listed(true)];
    })
    .await;
    native_app("openid profile roles")
        .register(&world.app, "client_secret_basic")
        .await;

    let Answer { status, body, .. } = world.exchange(LEGACY_SESSION, APP, None).await;
    assert_eq!(status, 200, "{body}");
    let claims = id_token_claims(&world.app, &body, APP).await;
    assert_eq!(claims["sub"], "cust-42");
    assert_eq!(claims["name"], "Grace Hopper", "{claims}");
    assert_eq!(claims["tier"], "gold", "{claims}");
    let introspection = world
        .app
        .hydra_client()
        .introspect(body["access_token"].as_str().unwrap(), None)
        .await
        .unwrap();
    assert_eq!(
        introspection.ext.get("roles"),
        Some(&json!(["admin", "ops"]))
    );

    let Answer { status, body, .. } = world.exchange("someone-elses-guess", APP, None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_token");
}
