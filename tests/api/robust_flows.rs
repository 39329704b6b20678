//! The failures people hit with Hydra login providers, made impossible or
//! obvious: double submits, expired pages, CSRF mysteries, prompt/max_age,
//! parallel refreshes, and signing someone out everywhere.

use std::time::Duration;

use crate::helpers::http_browser::HttpBrowser;
use crate::helpers::oauth::verify_jwt;
use crate::helpers::world::{trusted, World};
use serde_json::json;

#[tokio::test]
async fn a_double_submitted_code_form_lands_where_the_first_did() {
    let world = World::new().await;
    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();
    let phone = "+12015550170";
    let auth = client.authorize(&world.app, "openid");
    let login = world.open(&browser, &auth).await;
    let code_page = world.send_code(&browser, &login, phone).await;
    let code = world.sms.code_for(phone).await;
    let first = world.submit_code(&browser, &code_page, &code, false).await;
    let second = world.submit_code(&browser, &code_page, &code, false).await;
    assert_eq!(first.status, 303, "{}", first.body);
    assert_eq!(
        second.status, 303,
        "the second submit is not an error: {}",
        second.body
    );
    assert_eq!(first.location, second.location);
    // The browser follows the response it got last.
    let callback = world.follow_to_callback(&browser, &second).await;
    world.redeem(&client, &auth, &callback).await;
}

#[tokio::test]
async fn a_double_submitted_consent_lands_where_the_first_did() {
    let world = World::new().await;
    let client = world.client(json!({})).await;
    let browser = HttpBrowser::new();
    let auth = client.authorize(&world.app, "openid");
    let login = world.open(&browser, &auth).await;
    let accepted = world
        .enter_phone_and_code(&browser, &login, "+12015550171", false)
        .await;
    let consent = browser
        .follow(accepted.location.as_deref().unwrap(), &world.callback.url)
        .await;
    assert!(consent.body.contains("value=\"allow\""), "{}", consent.body);
    let first = browser
        .submit(&world.app, &consent, "/consent", &[("action", "allow")])
        .await;
    let second = browser
        .submit(&world.app, &consent, "/consent", &[("action", "allow")])
        .await;
    assert_eq!(first.status, 303);
    assert_eq!(second.status, 303, "{}", second.body);
    assert_eq!(first.location, second.location);
    let callback = world.follow_to_callback(&browser, &second).await;
    world.redeem(&client, &auth, &callback).await;
}

#[tokio::test]
async fn the_code_page_says_how_long_is_left_and_codes_do_not_outlive_it() {
    let world = World::with(|c| c.hydra.login_consent_request_ttl = Duration::from_secs(120)).await;
    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();
    let login = world
        .open(&browser, &client.authorize(&world.app, "openid"))
        .await;
    let code_page = world.send_code(&browser, &login, "+12015550172").await;
    assert!(
        code_page.body.contains("Please finish within 2 minutes"),
        "{}",
        code_page.body
    );
    // The stored code expires with the challenge (2 min), not after otp.ttl (5 min).
    let rows = crate::helpers::white_box::rows(
        &world.app.config,
        "SELECT created_at, expires_at FROM otp_challenges",
    )
    .await;
    assert_eq!(rows.len(), 1);
    let (created, expires) = (
        rows[0]["created_at"].as_i64().unwrap(),
        rows[0]["expires_at"].as_i64().unwrap(),
    );
    assert!(
        expires - created <= 120,
        "code lives {}s",
        expires - created
    );
}

#[tokio::test]
async fn cookies_lost_on_the_way_back_to_hydra_get_an_explaining_page() {
    let world = World::new().await;
    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();
    let login = world
        .open(&browser, &client.authorize(&world.app, "openid"))
        .await;
    let accepted = world
        .enter_phone_and_code(&browser, &login, "+12015550173", false)
        .await;
    // Another browser (no Hydra CSRF cookie) follows the verifier.
    let stranger = HttpBrowser::new();
    let page = stranger
        .follow(accepted.location.as_deref().unwrap(), &world.callback.url)
        .await;
    assert_eq!(page.status, 400, "{:?} {}", page.location, page.body);
    for cause in ["another tab", "blocks cookies", "Start again"] {
        assert!(page.body.contains(cause), "{}", page.body);
    }
    // "Start again" in the stranger's browser begins a fresh sign-in.
    let again = crate::helpers::http_browser::hidden_href(&page.body).expect("start-again link");
    assert!(!again.contains("login_verifier"), "{again}");
    let fresh = stranger.follow(&again, &world.callback.url).await;
    assert!(fresh.body.contains("name=\"phone\""), "{}", fresh.body);
}

#[tokio::test]
async fn prompt_and_max_age_are_honoured() {
    let world = World::new().await;
    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();

    // prompt=none without a session: the client hears login_required.
    let auth = client.authorize_with(&world.app, "openid", &[("prompt", "none")]);
    let callback = browser.follow(&auth.url, &world.callback.url).await;
    assert_eq!(
        callback.location_param("error").as_deref(),
        Some("login_required")
    );

    world
        .sign_in(&browser, &client, "+12015550174", "openid", true)
        .await;
    // Remembered: no code needed...
    let auth = client.authorize(&world.app, "openid");
    let callback = browser.follow(&auth.url, &world.callback.url).await;
    assert!(callback.location_param("code").is_some());
    // ...but prompt=login asks again.
    let auth = client.authorize_with(&world.app, "openid", &[("prompt", "login")]);
    let page = browser.follow(&auth.url, &world.callback.url).await;
    assert!(
        page.body.contains("name=\"phone\""),
        "prompt=login: {}",
        page.body
    );
    // And so does a max_age the session is older than.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let auth = client.authorize_with(&world.app, "openid", &[("max_age", "1")]);
    let page = browser.follow(&auth.url, &world.callback.url).await;
    assert!(
        page.body.contains("name=\"phone\""),
        "max_age=1: {}",
        page.body
    );
    // prompt=none with a session goes straight through.
    let auth = client.authorize_with(&world.app, "openid", &[("prompt", "none")]);
    let callback = browser.follow(&auth.url, &world.callback.url).await;
    assert!(
        callback.location_param("code").is_some(),
        "{:?}",
        callback.location
    );
}

#[tokio::test]
async fn prompt_consent_shows_the_page_even_for_a_trusted_client() {
    let world = World::new().await;
    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();
    world
        .sign_in(&browser, &client, "+12015550175", "openid", true)
        .await;
    let auth = client.authorize_with(&world.app, "openid profile", &[("prompt", "consent")]);
    let page = browser.follow(&auth.url, &world.callback.url).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("value=\"allow\""), "{}", page.body);
}

#[tokio::test]
async fn parallel_refreshes_within_the_grace_period_keep_the_chain_alive() {
    let world = World::new().await;
    let client = world.client(trusted()).await;
    let tokens = world
        .sign_in(
            &HttpBrowser::new(),
            &client,
            "+12015550176",
            "openid offline_access",
            false,
        )
        .await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let (a, b) = tokio::join!(
        client.refresh(&world.app, &refresh),
        client.refresh(&world.app, &refresh)
    );
    let winners: Vec<_> = [a, b]
        .into_iter()
        .filter(|(status, _)| *status == 200)
        .collect();
    assert!(
        !winners.is_empty(),
        "at least one parallel refresh succeeds"
    );
    for (_, body) in &winners {
        let newest = body["refresh_token"].as_str().unwrap();
        let (status, next) = client.refresh(&world.app, newest).await;
        assert_eq!(status, 200, "the chain is alive: {next}");
    }
}

#[tokio::test]
async fn sessions_revoke_all_signs_out_everywhere() {
    let world = World::new().await;
    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();
    let tokens = world
        .sign_in(
            &browser,
            &client,
            "+12015550177",
            "openid offline_access",
            true,
        )
        .await;
    let access = tokens["access_token"].as_str().unwrap();
    let subject = verify_jwt(
        &world.app,
        tokens["id_token"].as_str().unwrap(),
        Some(&client.id),
    )
    .await["sub"]
        .as_str()
        .unwrap()
        .to_string();
    let hydra = world.app.hydra_client();
    assert!(hydra.introspect(access, None).await.unwrap().active);

    let out = world
        .app
        .cli(&["sessions", "revoke", "--subject", &subject, "--all"])
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("signed out everywhere"));
    assert!(!hydra.introspect(access, None).await.unwrap().active);
    let (status, _) = client
        .refresh(&world.app, tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, 400, "refresh tokens are revoked too");
    let page = world
        .open(&browser, &client.authorize(&world.app, "openid"))
        .await;
    assert!(
        page.body.contains("name=\"phone\""),
        "a code is needed again: {}",
        page.body
    );
}

#[tokio::test]
async fn disabling_a_user_kills_their_sessions_and_tokens() {
    let world = World::new().await;
    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();
    let phone = "+12015550178";
    let tokens = world
        .sign_in(&browser, &client, phone, "openid", true)
        .await;
    let access = tokens["access_token"].as_str().unwrap();
    let out = world.app.cli(&["users", "disable", phone]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !world
            .app
            .hydra_client()
            .introspect(access, None)
            .await
            .unwrap()
            .active
    );
    // The remembered browser session is gone, and a new code is refused.
    let page = world
        .open(&browser, &client.authorize(&world.app, "openid"))
        .await;
    assert!(page.body.contains("name=\"phone\""), "{}", page.body);
    let code_page = world.send_code(&browser, &page, phone).await;
    assert_eq!(code_page.status, 200);
    world.app.outbox_drained().await;
    assert_eq!(
        world.sms.received().len(),
        1,
        "no code is sent to a disabled user"
    );
}

#[tokio::test]
async fn browsers_on_another_host_name_are_sent_to_the_public_origin() {
    // Direct exposure (no trusted proxy): the Host header counts.
    let world = World::with(|c| c.server.trusted_proxies = vec![]).await;
    let port = world.app.config.server.listen.port();
    let http = &world.app.http;
    let other = http
        .get(world.app.url("/login?login_challenge=abc"))
        .header("host", format!("localhost:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 308);
    assert_eq!(
        other.headers()["location"],
        world.app.url("/login?login_challenge=abc").as_str()
    );
    // APIs and health checks answer under any name.
    let health = http
        .get(world.app.url("/healthz"))
        .header("host", format!("localhost:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    // The public name itself is served.
    let page = http
        .get(world.app.url("/login?login_challenge=abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.status(),
        404,
        "served (an unknown challenge), not redirected"
    );
}

#[tokio::test]
async fn behind_a_proxy_the_forwarded_host_counts() {
    let world = World::new().await;
    let http = &world.app.http;
    let wrong = http
        .get(world.app.url("/oauth2/auth?client_id=x"))
        .header("x-forwarded-host", "old-alias.example")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 308);
    assert!(wrong.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with(&world.app.address));
    let right_host = world.app.address.trim_start_matches("http://").to_string();
    let right = http
        .get(world.app.url("/error?error=access_denied"))
        .header("x-forwarded-host", right_host)
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 400, "served: the error page");
}
