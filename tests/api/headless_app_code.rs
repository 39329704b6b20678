//! The headless API with a code from an authenticator app instead of a
//! text: no SMS, the browser's limits (wrong codes per session, then the
//! session is dead; a code once), `amr` `otp` in the id_token.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::headless::NativeApp;
use crate::helpers::oauth::jwt_payload;
use crate::helpers::world::World;
use crate::signin::manage::with_app;
use crate::signin::methods::{app_code, now};
use gatehouse::config::LoginMethod;

const APP: NativeApp = NativeApp {
    id: "native-app",
    secret: "native-app-secret-0123456789",
    scope: "openid",
};

async fn world(methods: Vec<LoginMethod>) -> World {
    let world = World::with(|config| {
        config.headless.clients = vec![APP.listed(false)];
        config.login.methods = methods;
    })
    .await;
    APP.register(&world.app, "client_secret_basic").await;
    world
}

async fn start(world: &World, phone: &str) -> String {
    let body = json!({"phone": phone, "client_id": APP.id});
    let started = world
        .post_json("/api/headless/request-app-code", &body)
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    started.body["session_id"].as_str().unwrap().to_string()
}

async fn verify(world: &World, session: &str, code: &str) -> (StatusCode, Value) {
    let body = json!({"session_id": session, "otp": code});
    let answer = world
        .post_json("/api/headless/verify-app-code", &body)
        .await;
    (answer.status, answer.body)
}

#[tokio::test]
async fn an_app_code_signs_in_without_a_text_within_the_same_limits() {
    let world = world(vec![LoginMethod::Sms, LoginMethod::Totp]).await;
    let phone = "+12015550801";
    let (_, _, key) = with_app(&world, phone).await;

    // Wrong codes: otp.max_attempts per session, then it is dead, even
    // for the right code.
    let session = start(&world, phone).await;
    let max = world.app.config.otp.max_attempts;
    for n in 1..=max {
        let (status, body) = verify(&world, &session, "000000").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "try {n}: {body}");
        assert_eq!(body["attempts_left"], max - n, "{body}");
    }
    let right = app_code(&key, now());
    let (status, body) = verify(&world, &session, &right).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_session");

    // A new session: the right code signs in, once.
    let session = start(&world, phone).await;
    let (status, tokens) = verify(&world, &session, &right).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let claims = jwt_payload(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["amr"], json!(["otp"]), "{claims}");
    assert_eq!(claims["acr"], "otp", "{claims}");
    let (status, _) = verify(&world, &session, &right).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the session is used up");
    let replay = start(&world, phone).await;
    let (status, body) = verify(&world, &replay, &right).await;
    assert_ne!(status, StatusCode::OK, "the code's step is taken: {body}");

    world.app.outbox_drained().await;
    assert!(world.sms.received().is_empty(), "no text was sent");
}

#[tokio::test]
async fn without_apps_in_login_methods_the_endpoints_say_so() {
    let world = world(vec![LoginMethod::Sms]).await;
    let body = json!({"phone": "+12015550802", "client_id": APP.id});
    let answer = world
        .post_json("/api/headless/request-app-code", &body)
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.body);
    assert_eq!(answer.body["error"], "unsupported_method");
}
