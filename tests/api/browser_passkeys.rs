//! Passkeys in a real Chromium with WebDriver's virtual authenticator
//! (chromedriver's WebAuthn extension commands): registered on the offer
//! after an SMS sign-in, then a sign-in without a number or a text; a
//! cloned authenticator and another person's credential are refused.
//! WebAuthn needs a domain name, so gatehouse's public URL is `localhost`.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::chromium::Chromium;
use crate::helpers::eventually;
use crate::helpers::oauth::{verify_jwt, Authorization, Client};
use crate::helpers::world::{trusted, World};
use gatehouse::config::LoginMethod;
use gatehouse::domain::PhoneNumber;
use gatehouse::store::{passkeys, users};

async fn world() -> World {
    World::with(|config| {
        config.login.methods = vec![LoginMethod::Sms, LoginMethod::Totp, LoginMethod::Passkey];
        let port = config.server.listen.port();
        config.server.public_url = format!("http://localhost:{port}").parse().unwrap();
        config.otp.resend_cooldown = Duration::ZERO;
    })
    .await
}

/// `auth`'s URL on the public origin (`localhost`), where Hydra's cookies
/// belong.
fn on_public_origin(auth: &Authorization) -> String {
    let mut url = url::Url::parse(&auth.url).unwrap();
    url.set_host(Some("localhost")).unwrap();
    url.to_string()
}

/// Browsers the client's callback received with an authorization code.
fn arrivals(world: &World) -> Vec<String> {
    let received = world.callback.received();
    received
        .iter()
        .filter(|r| r.uri.contains("code="))
        .map(|r| format!("http://x{}", r.uri))
        .collect()
}

/// A virtual platform authenticator with user verification; its id.
async fn authenticator(browser: &Chromium) -> String {
    let options = json!({
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": true,
        "hasUserVerification": true, "isUserVerified": true,
        "automaticPresenceSimulation": true
    });
    let id = browser
        .webdriver("POST", "webauthn/authenticator", options)
        .await;
    id.unwrap().as_str().unwrap().to_string()
}

async fn remove(browser: &Chromium, authenticator: &str) {
    let path = format!("webauthn/authenticator/{authenticator}");
    browser
        .webdriver("DELETE", &path, Value::Null)
        .await
        .unwrap();
}

async fn add_credential(browser: &Chromium, authenticator: &str, credential: Value) {
    let path = format!("webauthn/authenticator/{authenticator}/credential");
    browser.webdriver("POST", &path, credential).await.unwrap();
}

async fn credentials(browser: &Chromium, authenticator: &str) -> Vec<Value> {
    let path = format!("webauthn/authenticator/{authenticator}/credentials");
    let all = browser.webdriver("GET", &path, Value::Null).await.unwrap();
    all.as_array().unwrap().clone()
}

/// Waits until the page's script has shown the element `id`; false when
/// the page moved on first (autofill may sign in by itself).
async fn shown(browser: &Chromium, id: &str) -> bool {
    let script = format!("var e = document.getElementById('{id}'); return e ? !e.hidden : null");
    for _ in 0..100 {
        match browser.client().execute(&script, vec![]).await {
            Ok(Value::Bool(true)) => return true,
            Ok(Value::Null)
                if browser
                    .current_url()
                    .await
                    .is_ok_and(|u| u.path() != "/login" && u.path() != "/enrol") =>
            {
                return false
            }
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("#{id} was never shown");
}

/// An SMS sign-in for `phone` (remembered when `remember`), then "Sign in
/// faster next time with a passkey" on the offer; back at the client.
async fn register(
    world: &World,
    browser: &Chromium,
    client: &Client,
    phone: &str,
    (shot, remember): (bool, bool),
) {
    let before = arrivals(world).len();
    let auth = client.authorize(&world.app, "openid");
    browser.goto(&on_public_origin(&auth)).await.unwrap();
    browser
        .wait_for("#phone", Duration::from_secs(10))
        .await
        .unwrap();
    browser.fill("#phone", phone).await.unwrap();
    browser.click("button[value=send]").await.unwrap();
    browser
        .wait_for("#code", Duration::from_secs(10))
        .await
        .unwrap();
    let code = world.sms.code_for(phone).await;
    browser.fill("#code", &code).await.unwrap();
    if remember {
        browser.click("input[name=remember]").await.unwrap();
    }
    browser.click("button[value=verify]").await.unwrap();
    assert!(shown(browser, "passkey-register").await, "the offer");
    if shot {
        browser.screenshot("passkeys-1-offer").await.unwrap();
        browser.assert_no_console_errors("the offer").await;
    }
    browser.click("#passkey-register").await.unwrap();
    eventually(
        Duration::from_secs(10),
        "registered and back at the client",
        || arrivals(world).len() == before + 1,
    )
    .await;
}

/// A passkey sign-in on a new login page; the page's error text when it
/// was refused.
async fn passkey_sign_in(
    world: &World,
    browser: &Chromium,
    auth: &Authorization,
) -> Option<String> {
    passkey_sign_in_on(world, browser, auth, "passkeys-2-login").await
}

/// [`passkey_sign_in`], the page's screenshot named `shot`.
async fn passkey_sign_in_on(
    world: &World,
    browser: &Chromium,
    auth: &Authorization,
    shot: &str,
) -> Option<String> {
    let before = arrivals(world).len();
    browser.goto(&on_public_origin(auth)).await.unwrap();
    if shown(browser, "passkey-sign-in").await {
        browser.screenshot(shot).await.unwrap();
    }
    // Autofill may have answered already; then the button is gone.
    let _ = browser.click("#passkey-sign-in").await;
    for _ in 0..100 {
        if arrivals(world).len() > before {
            return None;
        }
        let error = browser.client().execute(
            "var e = document.getElementById('passkey-error'); return e && !e.hidden ? e.textContent : ''",
            vec![],
        );
        if let Some(text) = error
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
        {
            if !text.is_empty() {
                return Some(text);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("neither signed in nor refused");
}

async fn subject_of(world: &World, phone: &str) -> String {
    let phone = PhoneNumber::parse(phone, None).unwrap();
    let store = world.app.store();
    let user = store
        .run(move |db| users::find_by_phone(db, &phone))
        .await
        .unwrap();
    user.expect("signed up").id
}

async fn stored(world: &World, subject: &str) -> Vec<passkeys::StoredPasskey> {
    let subject = subject.to_string();
    world
        .app
        .store()
        .run(move |db| passkeys::of(db, &subject))
        .await
        .unwrap()
}

#[tokio::test]
async fn chromium_registers_a_passkey_and_signs_in_with_it_without_a_text() {
    let world = world().await;
    let client = world.client(trusted()).await;
    let phone = "+12015550370";
    let browser = Chromium::start().await;
    let device = authenticator(&browser).await;
    register(&world, &browser, &client, phone, (true, false)).await;
    let subject = subject_of(&world, phone).await;
    assert_eq!(stored(&world, &subject).await.len(), 1);

    world.app.outbox_drained().await;
    let texts = world.sms.received().len();
    let auth = client.authorize(&world.app, "openid");
    let refused = passkey_sign_in(&world, &browser, &auth).await;
    assert_eq!(refused, None, "the passkey signs in");
    let landed = arrivals(&world).pop().unwrap();
    let code = crate::helpers::http_browser::query_param(&landed, "code").unwrap();
    let (status, tokens) = client.exchange(&world.app, &code, &auth.verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = verify_jwt(
        &world.app,
        tokens["id_token"].as_str().unwrap(),
        Some(&client.id),
    )
    .await;
    assert_eq!(claims["sub"], subject.as_str());
    assert_eq!(
        claims["amr"],
        json!(["hwk", "user"]),
        "RFC 8176: a hardware key, verified user"
    );
    world.app.outbox_drained().await;
    assert_eq!(
        world.sms.received().len(),
        texts,
        "no text for a passkey sign-in"
    );

    // The signature counter the authenticator used is stored.
    let on_device = credentials(&browser, &device).await;
    let count = on_device[0]["signCount"].as_u64().unwrap();
    let row = &stored(&world, &subject).await[0];
    assert!(
        count >= 1 && u64::from(row.counter) == count,
        "{count} vs {}",
        row.counter
    );
    assert!(row.last_used_at.is_some());

    // The account page (a sign-in through Hydra, by passkey again) lists
    // it, and the person names it there.
    let account = format!("{}/account", world.app.config.public_origin());
    browser.goto(&account).await.unwrap();
    if shown(&browser, "passkey-sign-in").await {
        let _ = browser.click("#passkey-sign-in").await;
    }
    browser
        .wait_for("section.method", Duration::from_secs(20))
        .await
        .unwrap();
    browser.screenshot("passkeys-4-account").await.unwrap();
    browser.assert_no_console_errors("the account page").await;
    crate::helpers::axe::assert_accessible(&browser, "the account page").await;
    browser
        .fill("input[name=name]", "Work laptop")
        .await
        .unwrap();
    browser.click("button[value=rename]").await.unwrap();
    let mut renamed = false;
    for _ in 0..100 {
        if stored(&world, &subject).await[0].name == "Work laptop" {
            renamed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(renamed, "the new name is stored");
    assert_eq!(
        browser.text("section.method h2").await.unwrap(),
        "Work laptop"
    );
    browser
        .screenshot("passkeys-5-account-renamed")
        .await
        .unwrap();
    browser.close().await.unwrap();
}

#[tokio::test]
async fn a_cloned_authenticator_and_another_persons_credential_are_refused() {
    let world = world().await;
    let client = world.client(trusted()).await;
    let (alice, bob) = ("+12015550371", "+12015550372");
    let browser = Chromium::start().await;
    let device = authenticator(&browser).await;
    register(&world, &browser, &client, alice, (false, false)).await;
    let auth = client.authorize(&world.app, "openid");
    assert_eq!(passkey_sign_in(&world, &browser, &auth).await, None);
    let alices = credentials(&browser, &device).await[0].clone();
    remove(&browser, &device).await;

    // A copy of Alice's key whose counter starts over: a clone.
    let clone = authenticator(&browser).await;
    let mut copied = alices.clone();
    copied["signCount"] = json!(0);
    add_credential(&browser, &clone, copied).await;
    let subject = subject_of(&world, alice).await;
    let counter = stored(&world, &subject).await[0].counter;
    let auth = client.authorize(&world.app, "openid");
    let refused = passkey_sign_in(&world, &browser, &auth).await;
    assert!(refused.is_some_and(|text| text.contains("not accepted")));
    assert_eq!(
        stored(&world, &subject).await[0].counter,
        counter,
        "unchanged"
    );
    remove(&browser, &clone).await;

    // Bob's credential presented with Alice's user handle.
    let device = authenticator(&browser).await;
    register(&world, &browser, &client, bob, (false, false)).await;
    let mut bobs = credentials(&browser, &device).await[0].clone();
    remove(&browser, &device).await;
    bobs["userHandle"] = alices["userHandle"].clone();
    let forged = authenticator(&browser).await;
    add_credential(&browser, &forged, bobs).await;
    let auth = client.authorize(&world.app, "openid");
    let refused = passkey_sign_in(&world, &browser, &auth).await;
    assert!(refused.is_some_and(|text| text.contains("not accepted")));
    browser.close().await.unwrap();
}

/// The id_token's claims for the sign-in that last reached the client.
async fn last_id_token(world: &World, client: &Client, auth: &Authorization) -> Value {
    let landed = arrivals(world).pop().unwrap();
    let code = crate::helpers::http_browser::query_param(&landed, "code").unwrap();
    let (status, tokens) = client.exchange(&world.app, &code, &auth.verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = tokens["id_token"].as_str().unwrap();
    verify_jwt(&world.app, id_token, Some(&client.id)).await
}

#[tokio::test]
async fn a_phr_client_steps_a_remembered_sms_session_up_to_the_passkey() {
    let world = world().await;
    let client = world.client(trusted()).await;
    let phone = "+12015550373";
    let browser = Chromium::start().await;
    let device = authenticator(&browser).await;
    // Signed in by text, remembered; a passkey added on the offer.
    register(&world, &browser, &client, phone, (false, true)).await;
    let subject = subject_of(&world, phone).await;

    // The client asks for phishing-resistant: the SMS session is not
    // enough; the page offers the passkey only. With the authenticator
    // unplugged the page waits (autofill cannot sign in by itself), so
    // axe sees it as a person does; then it is plugged in again.
    let auth = client.authorize_with(&world.app, "openid", &[("acr_values", "phr")]);
    let saved = credentials(&browser, &device).await;
    remove(&browser, &device).await;
    browser.goto(&on_public_origin(&auth)).await.unwrap();
    assert!(shown(&browser, "passkey-sign-in").await, "the step-up page");
    let page = browser.client().source().await.unwrap();
    assert!(!page.contains("id=\"phone\""), "passkey only: {page}");
    crate::helpers::axe::assert_accessible(&browser, "the passkey step-up page").await;
    let device = authenticator(&browser).await;
    for credential in saved {
        add_credential(&browser, &device, credential).await;
    }
    let refused = passkey_sign_in_on(&world, &browser, &auth, "passkeys-3-step-up").await;
    assert_eq!(refused, None, "the passkey steps up");
    let claims = last_id_token(&world, &client, &auth).await;
    assert_eq!(claims["sub"], subject.as_str(), "the same person");
    assert_eq!(claims["amr"], json!(["hwk", "user"]), "{claims}");
    assert_eq!(claims["acr"], "phrh", "a hardware-bound passkey: {claims}");

    // The session now remembers the passkey: a later remembered sign-in
    // says so, and satisfies phr without a prompt.
    let before = arrivals(&world).len();
    let auth = client.authorize_with(&world.app, "openid", &[("acr_values", "phr")]);
    browser.goto(&on_public_origin(&auth)).await.unwrap();
    eventually(Duration::from_secs(10), "remembered", || {
        arrivals(&world).len() == before + 1
    })
    .await;
    let claims = last_id_token(&world, &client, &auth).await;
    assert_eq!(claims["amr"], json!(["hwk", "user"]), "{claims}");
    assert_eq!(claims["acr"], "phrh", "{claims}");
    browser.close().await.unwrap();
}
