//! A real browser sets up and uses the sign-in methods next to the SMS
//! code, at phone width; screenshots of each new page land in
//! test-artifacts/, and axe-core finds nothing wrong on any of them.

use std::time::Duration;

use crate::browser_signin::phone_page;
use crate::helpers::axe::assert_accessible;
use crate::helpers::chromium::{artifacts_dir, Chromium};
use crate::helpers::eventually;
use crate::helpers::world::{trusted, World};
use crate::signin::methods::{app_code, now};
use gatehouse::config::LoginMethod;

/// Browsers the client's callback received with an authorization code
/// (Chromium also asks it for a favicon).
fn arrivals(world: &World) -> usize {
    let received = world.callback.received();
    received.iter().filter(|r| r.uri.contains("code=")).count()
}

async fn wait(browser: &Chromium, css: &str) {
    browser
        .wait_for(css, Duration::from_secs(10))
        .await
        .unwrap();
}

#[tokio::test]
async fn chromium_sets_up_an_authenticator_app_and_signs_in_with_it() {
    let world = World::with(|config| {
        config.login.methods = vec![LoginMethod::Sms, LoginMethod::Totp, LoginMethod::Passkey];
    })
    .await;
    let client = world.client(trusted()).await;
    let phone = "+12015550360";

    // By SMS first, then the offer.
    let browser = phone_page(&client.authorize(&world.app, "openid").url).await;
    browser.fill("#phone", phone).await.unwrap();
    browser.click("button[value=send]").await.unwrap();
    wait(&browser, "#code").await;
    let code = world.sms.code_for(phone).await;
    browser.fill("#code", &code).await.unwrap();
    browser.click("button[value=verify]").await.unwrap();
    wait(&browser, "button[value=app]").await;
    browser.screenshot("methods-1-offer").await.unwrap();
    browser.assert_no_console_errors("the offer").await;
    assert_accessible(&browser, "the offer").await;

    browser.click("button[value=app]").await.unwrap();
    wait(&browser, "img.qr").await;
    browser.screenshot("methods-2-app-set-up").await.unwrap();
    browser.assert_no_console_errors("the app set-up").await;
    assert_accessible(&browser, "the app set-up").await;
    let key = browser.text("#secret").await.unwrap();
    browser.fill("#code", &app_code(&key, now())).await.unwrap();
    browser.click("button[value=confirm_app]").await.unwrap();
    wait(&browser, "a.button").await;
    browser.screenshot("methods-3-app-added").await.unwrap();
    assert_accessible(&browser, "the app added").await;
    browser.click("a.button").await.unwrap();
    eventually(Duration::from_secs(10), "back at the client", || {
        arrivals(&world) == 1
    })
    .await;
    browser.close().await.unwrap();

    // A new browser: the app's code instead of a text.
    world.app.outbox_drained().await;
    let texts = world.sms.received().len();
    let browser = phone_page(&client.authorize(&world.app, "openid").url).await;
    browser.screenshot("methods-4-phone-page").await.unwrap();
    browser.fill("#phone", phone).await.unwrap();
    browser.click("button[value=app]").await.unwrap();
    wait(&browser, "button[value=verify_app]").await;
    browser.screenshot("methods-5-app-code").await.unwrap();
    browser.assert_no_console_errors("the app code page").await;
    assert_accessible(&browser, "the app code page").await;
    browser
        .fill("#code", &app_code(&key, now() + 30))
        .await
        .unwrap();
    browser.click("button[value=verify_app]").await.unwrap();
    eventually(Duration::from_secs(10), "back at the client again", || {
        arrivals(&world) == 2
    })
    .await;
    world.app.outbox_drained().await;
    assert_eq!(
        world.sms.received().len(),
        texts,
        "no text for the app sign-in"
    );
    // A client that asks for a phishing-resistant sign-in: this gatehouse
    // offers no passkeys (its public URL is an IP address), so the page
    // says a passkey is needed, and its button returns access_denied.
    let auth = client.authorize_with(&world.app, "openid", &[("acr_values", "phr")]);
    browser.goto(&auth.url).await.unwrap();
    wait(&browser, "a.button").await;
    // (Served as 403, which Chromium's console reports as a failed load.)
    browser
        .screenshot("methods-6-passkey-needed")
        .await
        .unwrap();
    assert_accessible(&browser, "the passkey-needed page").await;
    browser.click("a.button").await.unwrap();
    eventually(
        Duration::from_secs(10),
        "access_denied at the client",
        || {
            world
                .callback
                .received()
                .iter()
                .any(|r| r.uri.contains("error=access_denied"))
        },
    )
    .await;
    for shot in [
        "methods-1-offer",
        "methods-2-app-set-up",
        "methods-3-app-added",
        "methods-5-app-code",
        "methods-6-passkey-needed",
    ] {
        let png = std::fs::read(artifacts_dir().join(format!("{shot}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{shot} is a PNG");
    }
    browser.close().await.unwrap();
}
