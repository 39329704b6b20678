//! The sign-in pages themselves: cancel, bad input, an expired challenge,
//! security headers and cookies, the login hint.

use std::time::Duration;

use crate::helpers::http_browser::HttpBrowser;
use crate::helpers::world::{trusted, World};
use serde_json::json;

#[tokio::test]
async fn cancel_on_the_login_page_returns_access_denied() {
    let world = World::new().await;
    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();
    let login = world
        .open(&browser, &client.authorize(&world.app, "openid"))
        .await;
    let cancelled = browser
        .submit(&world.app, &login, "/login", &[("action", "cancel")])
        .await;
    assert_eq!(cancelled.status, 303);
    let callback = browser
        .follow(cancelled.location.as_deref().unwrap(), &world.callback.url)
        .await;
    assert_eq!(
        callback.location_param("error").as_deref(),
        Some("access_denied")
    );
}

#[tokio::test]
async fn bad_input_gets_a_friendly_page_and_the_right_status() {
    let world = World::new().await;
    let client = world.client(trusted()).await;
    let app = &world.app;
    let browser = HttpBrowser::new();

    for (path, status, text) in [
        ("/login", 400, "must be opened from an app"),
        ("/login?login_challenge=", 400, "must be opened from an app"),
        (
            "/login?login_challenge=garbage",
            404,
            "expired or was already used",
        ),
        (
            "/consent?consent_challenge=garbage",
            404,
            "expired or was already used",
        ),
        (
            "/logout?logout_challenge=garbage",
            404,
            "expired or was already used",
        ),
        ("/consent", 400, "must be opened from an app"),
        (
            "/error?error=request_forbidden&error_description=csrf",
            400,
            "another tab",
        ),
    ] {
        let hop = browser.get(&app.url(path)).await;
        assert_eq!(hop.status, status, "{path}: {}", hop.body);
        assert!(hop.body.contains(text), "{path}: {}", hop.body);
        assert!(hop.body.starts_with("<!DOCTYPE html>"), "{path}");
    }

    let login = world.open(&browser, &client.authorize(app, "openid")).await;
    // A forged form: right challenge, wrong or missing token.
    let challenge =
        crate::helpers::http_browser::hidden_inputs(&login.body)["login_challenge"].clone();
    for token in ["", "00", &"ab".repeat(32)] {
        let hop = browser
            .post(
                &app.url("/login"),
                &[
                    ("login_challenge", &challenge),
                    ("csrf", token),
                    ("action", "send"),
                    ("phone", "+12015550148"),
                ],
            )
            .await;
        assert_eq!(hop.status, 403, "{}", hop.body);
        assert!(hop.body.contains("This form has expired"));
    }
    // A form posted from another browser (no cookie) fails too.
    let stranger = HttpBrowser::new();
    let hop = world.send_code(&stranger, &login, "+12015550148").await;
    assert_eq!(hop.status, 403);
    world.app.outbox_drained().await;
    assert!(world.sms.received().is_empty(), "no code for forged forms");

    // Malformed phone, then a wrong code.
    let hop = world.send_code(&browser, &login, "hello").await;
    assert_eq!(hop.status, 400);
    assert!(
        hop.body.contains("does not look like a phone number"),
        "{}",
        hop.body
    );
    let code_page = world.send_code(&browser, &login, "+12015550148").await;
    assert_eq!(code_page.status, 200);
    let code = world.sms.code_for("+12015550148").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let hop = world.submit_code(&browser, &code_page, wrong, false).await;
    assert_eq!(hop.status, 400);
    assert!(hop.body.contains("You have 4 tries left"), "{}", hop.body);
    let hop = world.submit_code(&browser, &code_page, "12ab", false).await;
    assert_eq!(hop.status, 400);
    assert!(hop.body.contains("digits only"), "{}", hop.body);
    // Resend within the cooldown: told to wait, not an error.
    let hop = browser
        .submit(app, &code_page, "/login", &[("action", "resend")])
        .await;
    assert_eq!(hop.status, 200);
    assert!(
        hop.body.contains("You can ask for a new code in"),
        "{}",
        hop.body
    );
    // A body that is not a form, and an unknown action.
    let status = browser
        .http
        .post(app.url("/login"))
        .json(&json!({"a": 1}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 400);
    let hop = browser
        .submit(app, &code_page, "/login", &[("action", "launch")])
        .await;
    assert_eq!(hop.status, 400);
}

#[tokio::test]
async fn an_expired_challenge_gets_the_start_again_page() {
    // Long enough that the fresh challenge "start again" leads to is still
    // alive when a busy machine gets there; short enough to wait out.
    let world = World::with(|c| c.hydra.login_consent_request_ttl = Duration::from_secs(3)).await;
    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();
    let login = world
        .open(&browser, &client.authorize(&world.app, "openid"))
        .await;
    assert_eq!(login.status, 200);
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let hop = world.send_code(&browser, &login, "+12015550149").await;
    assert_eq!(hop.status, 410, "{}", hop.body);
    assert!(hop.body.contains("start again"), "{}", hop.body);
    world.app.outbox_drained().await;
    assert!(
        world.sms.received().is_empty(),
        "no code for a dead challenge"
    );
    // "Start again" goes back to the client's authorization URL: a fresh login.
    let again = crate::helpers::http_browser::hidden_href(&hop.body).expect("a start-again link");
    let fresh = browser.follow(&again, &world.callback.url).await;
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    assert!(fresh.body.contains("name=\"phone\""), "{}", fresh.body);
}

#[tokio::test]
async fn pages_carry_security_headers_and_safe_cookies() {
    let world = World::new().await;
    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();
    let auth = client.authorize(&world.app, "openid");
    let hop = browser.get(&auth.url).await;
    let login = browser.get(hop.location.as_deref().unwrap()).await;
    let headers = &login.headers;
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(
        headers["x-request-id"].len(),
        36,
        "every response names its request id"
    );
    let traced = world
        .app
        .http
        .get(world.app.url("/healthz"))
        .header("x-request-id", "from-the-proxy-1")
        .send()
        .await
        .unwrap();
    assert_eq!(traced.headers()["x-request-id"], "from-the-proxy-1");
    let cookie = headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("gatehouse_csrf="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain-http test origin: {cookie}"
    );
    assert!(
        !headers.contains_key("strict-transport-security"),
        "no HSTS on a plain-http origin"
    );
    assert!(!login.body.contains("<script"), "no JavaScript");
    for needed in [
        "autocomplete=\"tel\"",
        "<label for=\"phone\"",
        "name=\"viewport\"",
        "/assets/style.css",
    ] {
        assert!(login.body.contains(needed), "{needed}");
    }
    let css = browser.get(&world.app.url("/assets/style.css")).await;
    assert_eq!(css.status, 200);
    assert!(css.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
}

#[tokio::test]
async fn login_hint_prefills_the_phone() {
    let world = World::new().await;
    let client = world.client(trusted()).await;
    let auth = client.authorize_with(&world.app, "openid", &[("login_hint", "+12015550152")]);
    let login = world.open(&HttpBrowser::new(), &auth).await;
    assert_eq!(login.status, 200);
    assert!(
        login.body.contains("name=\"phone\" value=\"+12015550152\""),
        "{}",
        login.body
    );
}

#[tokio::test]
async fn the_error_page_shows_no_text_from_its_url() {
    let world = World::new().await;
    let browser = HttpBrowser::new();
    let lure = "Call+%2B1+555+0100+to+unlock+your+account";
    for (query, shown_code) in [
        (
            format!("error=access_denied&error_description={lure}&error_hint={lure}"),
            Some("access_denied"),
        ),
        (format!("error={lure}"), None),
        (format!("error=%3Cb%3E{lure}%3C%2Fb%3E"), None),
    ] {
        let hop = browser
            .get(&world.app.url(&format!("/error?{query}")))
            .await;
        assert_eq!(hop.status, 400, "{query}");
        assert!(!hop.body.contains("Call +1 555"), "{query}: {}", hop.body);
        assert!(!hop.body.contains("unlock"), "{query}: {}", hop.body);
        match shown_code {
            Some(code) => assert!(hop.body.contains(code), "{query}: {}", hop.body),
            None => assert!(!hop.body.contains("Error code"), "{query}: {}", hop.body),
        }
    }
}
