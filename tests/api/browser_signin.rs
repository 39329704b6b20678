//! A real browser signs in: headless Chromium types into gatehouse's pages,
//! Hydra issues the tokens. Screenshots land in test-artifacts/.

use std::time::Duration;

use crate::helpers::chromium::{artifacts_dir, Chromium};
use crate::helpers::eventually;
use crate::helpers::http_browser::query_param;
use crate::helpers::oauth::verify_jwt;
use crate::helpers::world::World;
use serde_json::json;

#[tokio::test]
async fn chromium_signs_in_with_a_phone_code_and_consents() {
    let world = World::new().await;
    let (app, sms, callback) = (&world.app, &world.sms, &world.callback);
    let client = world.client(json!({"client_name": "Acme Notes"})).await;
    let auth = client.authorize(app, "openid profile phone offline_access");
    let phone = "+12015550160";

    let browser = Chromium::start().await;
    browser.goto(&auth.url).await.unwrap();
    browser
        .wait_for("#phone", Duration::from_secs(10))
        .await
        .unwrap();
    assert!(browser
        .text("h1")
        .await
        .unwrap()
        .contains("Sign in to Acme Notes"));
    browser.screenshot("signin-1-phone").await.unwrap();
    browser.assert_no_console_errors("the phone page").await;

    browser.fill("#phone", "+1 201 555 0160").await.unwrap();
    browser.click("button[value=send]").await.unwrap();
    browser
        .wait_for("#code", Duration::from_secs(10))
        .await
        .unwrap();
    let notice = browser.text(".notice").await.unwrap();
    assert!(notice.contains("We sent a code to"), "{notice}");
    browser.screenshot("signin-2-code").await.unwrap();

    let code = sms.code_for(phone).await;
    // People type codes with spaces; the page accepts that.
    let typed = format!("{} {}", &code[..3], &code[3..]);
    browser.fill("#code", &typed).await.unwrap();
    // Typing makes the browser check the field's `pattern`.
    browser.assert_no_console_errors("the code page").await;
    browser.click("input[name=remember]").await.unwrap();
    browser.click("button[value=verify]").await.unwrap();

    browser
        .wait_for("button[value=allow]", Duration::from_secs(10))
        .await
        .unwrap();
    let page = browser.text("main").await.unwrap();
    for expected in [
        "Acme Notes",
        "See your name",
        "See your phone number",
        phone,
    ] {
        assert!(
            page.contains(expected),
            "consent page lacks {expected:?}: {page}"
        );
    }
    // Hold back the name, with the keyboard alone: space unticks the box,
    // Enter on "Allow" answers. The screenshot shows the unticked box.
    let profile = "input[name=scope][value=profile]";
    assert!(
        browser.is_checked(profile).await.unwrap(),
        "ticked by default"
    );
    browser.press(profile, " ").await.unwrap();
    assert!(
        !browser.is_checked(profile).await.unwrap(),
        "space unticks it"
    );
    browser.screenshot("signin-3-consent").await.unwrap();
    browser.assert_no_console_errors("the consent page").await;
    browser
        .press("button[value=allow]", "\u{e007}")
        .await
        .unwrap();

    // The browser lands on the client's callback with a code and our state.
    eventually(
        Duration::from_secs(10),
        "the callback received the browser",
        || !callback.received().is_empty(),
    )
    .await;
    let landed = format!("http://x{}", callback.received()[0].uri);
    let param = |name: &str| query_param(&landed, name);
    assert_eq!(param("state").as_deref(), Some(auth.state.as_str()));
    let code = param("code").expect("authorization code");
    let (status, tokens) = client.exchange(app, &code, &auth.verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = verify_jwt(app, tokens["id_token"].as_str().unwrap(), Some(&client.id)).await;
    assert_eq!(claims["phone_number"], phone);
    assert!(tokens["refresh_token"].is_string());
    assert_eq!(
        tokens["scope"], "openid phone offline_access",
        "the unticked profile is not granted"
    );

    for shot in ["signin-1-phone", "signin-2-code", "signin-3-consent"] {
        let png = std::fs::read(artifacts_dir().join(format!("{shot}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{shot} is a PNG");
    }
    browser.close().await.unwrap();
}
