//! Turnstile and hCaptcha against a local HTTPS stand-in of their
//! siteverify endpoints, which answers as both document: a form POST of
//! `secret`, `response` and `remoteip` (hCaptcha also `sitekey`), answered
//! with `{"success": bool, "error-codes": [...]}`. An always-fail token is
//! refused, an always-pass token is accepted, and a provider that is down or
//! answers otherwise refuses every code (fail closed).

use std::collections::HashMap;

use super::*;
use crate::helpers::answer::Answer;
use crate::helpers::app::free_port;
use crate::helpers::headless::NativeApp;
use crate::helpers::test_ca::TestCa;
use crate::helpers::{ReceivedRequest, WebhookSink};
use axum::response::IntoResponse;
use gatehouse::config::{CaFile, CaptchaConfig, CaptchaProvider, Secret};
use reqwest::StatusCode;
use serde_json::{json, Value};

const APP: NativeApp = NativeApp {
    id: "captcha-app",
    secret: "captcha-app-secret-0123456789",
    scope: "openid",
};
const SITE_KEY: &str = "stand-in-site-key";
const SECRET_KEY: &str = "stand-in-secret-key";
/// Tokens the stand-in passes and fails, like the providers' test keys do.
const PASS: &str = "always-pass-token";
const FAIL: &str = "always-fail-token";

/// The form fields a siteverify request carried.
fn fields(request: &ReceivedRequest) -> HashMap<String, String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

/// The provider's documented answer to `request`.
fn siteverify(request: &ReceivedRequest) -> Value {
    let form = fields(request);
    let field = |name: &str| form.get(name).map(String::as_str);
    if field("secret") != Some(SECRET_KEY) {
        json!({"success": false, "error-codes": ["invalid-input-secret"]})
    } else if field("response") == Some(PASS) {
        json!({
            "success": true,
            "challenge_ts": "2026-01-01T00:00:00.000Z",
            "hostname": "127.0.0.1",
            "error-codes": [],
        })
    } else {
        json!({"success": false, "error-codes": ["invalid-input-response"]})
    }
}

/// A stand-in at an HTTPS URL signed by `ca`, answering with `answer`.
async fn stand_in<F>(ca: &TestCa, answer: F) -> WebhookSink
where
    F: Fn(usize, &ReceivedRequest) -> axum::response::Response + Clone + Send + Sync + 'static,
{
    let (cert, key) = ca.server_certificate();
    WebhookSink::answering_tls("/siteverify", &cert, &key, move |n, request| {
        std::future::ready(answer(n, request))
    })
    .await
}

/// A world asking `provider`'s token for every code, checked at `verify_url`.
async fn world(provider: CaptchaProvider, verify_url: &str, ca: &TestCa) -> World {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = CaFile::load("bot_challenge.ca_file", ca.file(&dir)).unwrap();
    let verify_url = verify_url.parse().unwrap();
    let world = World::with(|config| {
        config.bot_challenge.kind = BotChallengeKind::Captcha(CaptchaConfig {
            provider,
            site_key: SITE_KEY.into(),
            secret_key: Secret::new(SECRET_KEY),
            verify_url,
            ca_file: Some(ca_file),
            timeout: Duration::from_secs(5),
        });
        config.bot_challenge.apply = ChallengeApply::Always;
        config.headless.clients = vec![APP.listed(false)];
    })
    .await;
    APP.register(&world.app, "client_secret_basic").await;
    world
}

async fn request_otp(world: &World, phone: &str, token: Option<&str>) -> Answer {
    let mut body = json!({"phone": phone, "client_id": APP.id});
    if let Some(token) = token {
        body["captcha_token"] = json!(token);
    }
    world.post_json("/api/headless/request-otp", &body).await
}

/// The page and the API take `provider`'s tokens as its stand-in says.
async fn tokens_are_checked_at_the_provider(provider: CaptchaProvider, form_field: &str) {
    let ca = TestCa::new("captcha stand-in CA");
    let provider_site = stand_in(&ca, |_, request| {
        axum::Json(siteverify(request)).into_response()
    })
    .await;
    let world = world(provider, &provider_site.url, &ca).await;
    let browser = HttpBrowser::new();
    let page = login_page(&world, &browser).await;
    let widget = format!("data-sitekey=\"{SITE_KEY}\"");
    assert!(page.body.contains(&widget), "{}", page.body);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-src https://"), "{csp}");

    let phone = "+12015550190";
    let missing = send(&world, &browser, &page, phone, &[]).await;
    assert_refused(&missing);
    assert!(provider_site.received().is_empty(), "no token, no call");
    let failed = send(&world, &browser, &missing, phone, &[(form_field, FAIL)]).await;
    assert_refused(&failed);
    let passed = send(&world, &browser, &failed, phone, &[(form_field, PASS)]).await;
    assert_code_page(&passed);
    assert_eq!(texts_to(&world, phone).await, 1);

    let calls = provider_site.received();
    assert_eq!(calls.len(), 2);
    let call = fields(&calls[1]);
    assert_eq!(
        calls[1].headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(call["secret"], SECRET_KEY);
    assert_eq!(call["response"], PASS);
    assert_eq!(call["remoteip"], "127.0.0.1");
    let sitekey = call.get("sitekey").map(String::as_str);
    match provider {
        CaptchaProvider::Hcaptcha => assert_eq!(sitekey, Some(SITE_KEY)),
        CaptchaProvider::Turnstile => assert_eq!(sitekey, None),
    }

    // The headless API, the same rules.
    let phone = "+12015550191";
    let missing = request_otp(&world, phone, None).await;
    missing.assert_error(StatusCode::FORBIDDEN, "bot_challenge_required");
    missing.assert_names("`captcha_token`");
    let failed = request_otp(&world, phone, Some(FAIL)).await;
    assert_eq!(
        failed.body, missing.body,
        "one answer whichever check failed"
    );
    let passed = request_otp(&world, phone, Some(PASS)).await;
    assert_eq!(passed.status, StatusCode::OK, "{}", passed.body);
    assert_eq!(texts_to(&world, phone).await, 1);
    let challenge: Value = world.app.get_json("/api/headless/challenge").await;
    assert_eq!(challenge["kind"], provider.name());
    assert_eq!(challenge["site_key"], SITE_KEY);
    assert_eq!(refused(&world, "bot_challenge_rejected"), 2);
}

#[tokio::test]
async fn turnstile_tokens_are_checked_at_the_provider() {
    tokens_are_checked_at_the_provider(CaptchaProvider::Turnstile, "cf-turnstile-response").await;
}

#[tokio::test]
async fn hcaptcha_tokens_are_checked_at_the_provider() {
    tokens_are_checked_at_the_provider(CaptchaProvider::Hcaptcha, "h-captcha-response").await;
}

#[tokio::test]
async fn a_provider_that_is_down_or_answers_otherwise_refuses_every_code() {
    let ca = TestCa::new("captcha stand-in CA");
    let down = format!("https://127.0.0.1:{}/siteverify", free_port());
    let world = world(CaptchaProvider::Turnstile, &down, &ca).await;
    let browser = HttpBrowser::new();
    let page = login_page(&world, &browser).await;
    let phone = "+12015550192";
    let refused_page = send(
        &world,
        &browser,
        &page,
        phone,
        &[("cf-turnstile-response", PASS)],
    )
    .await;
    assert_refused(&refused_page);
    let answer = request_otp(&world, phone, Some(PASS)).await;
    answer.assert_error(StatusCode::FORBIDDEN, "bot_challenge_required");
    assert_eq!(texts_to(&world, phone).await, 0);
    assert_eq!(refused(&world, "bot_challenge_unavailable"), 2);

    // Up, but not saying "success": true in its JSON: refused all the same.
    let odd = stand_in(&ca, |n, request| match n {
        0 => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        1 => "<html>Just a moment...</html>".into_response(),
        2 => axum::Json(json!({"success": "true"})).into_response(),
        _ => axum::Json(siteverify(request)).into_response(),
    })
    .await;
    let world = self::world(CaptchaProvider::Turnstile, &odd.url, &ca).await;
    let phone = "+12015550193";
    for _ in 0..3 {
        let answer = request_otp(&world, phone, Some(PASS)).await;
        answer.assert_error(StatusCode::FORBIDDEN, "bot_challenge_required");
    }
    assert_eq!(texts_to(&world, phone).await, 0);
    let answer = request_otp(&world, phone, Some(PASS)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}
