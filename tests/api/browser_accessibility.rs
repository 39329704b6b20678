//! Accessibility in a real Chromium: axe-core finds nothing on every page
//! (each language, light and dark), a person signs in and consents with
//! the keyboard alone, and the form's errors are announced. Screenshots
//! per language and colour scheme land in test-artifacts/ (language-*.png).

use std::time::Duration;

use fantoccini::key::Key;

use crate::helpers::axe::{assert_accessible, color_scheme};
use crate::helpers::chromium::Chromium;
use crate::helpers::world::{trusted, World};
use serde_json::json;

const LANGUAGES: &[&str] = &["en", "de", "fr", "es", "pt", "ar"];
const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn every_page_in_every_language_and_scheme_passes_axe() {
    let world = World::new().await;
    let client = world.client(trusted()).await;
    let browser = Chromium::start().await;
    for dark in [false, true] {
        color_scheme(&browser, dark).await.unwrap();
        let scheme = if dark { "dark" } else { "light" };
        for lang in LANGUAGES {
            let auth = client.authorize_with(&world.app, "openid", &[("ui_locales", lang)]);
            browser.goto(&auth.url).await.unwrap();
            browser.wait_for("#phone", WAIT).await.unwrap();
            let html_lang = browser
                .client()
                .execute(
                    "return document.documentElement.lang + ' ' + document.dir;",
                    vec![],
                )
                .await
                .unwrap();
            let dir = if *lang == "ar" { "rtl" } else { "ltr" };
            assert_eq!(html_lang, json!(format!("{lang} {dir}")));
            browser
                .screenshot(&format!("language-login-{lang}-{scheme}"))
                .await
                .unwrap();
            assert_accessible(&browser, &format!("the login page ({lang}, {scheme})")).await;
        }
        // Pages without a form: an error, Hydra's error explained, signed out.
        for path in ["/login", "/error?error=access_denied", "/logged-out"] {
            browser.goto(&world.app.url(path)).await.unwrap();
            browser.wait_for("h1", WAIT).await.unwrap();
            assert_accessible(&browser, &format!("{path} ({scheme})")).await;
        }
    }
    browser.close().await.unwrap();
}

/// Tab, type and Enter only: the number, a wrong code (announced), the
/// right code, and "Allow" on the consent page; axe on each page on the
/// way.
#[tokio::test]
async fn a_person_signs_in_and_consents_with_the_keyboard_alone() {
    let world = World::new().await;
    let client = world.client(json!({"client_name": "Acme Notes"})).await;
    let auth = client.authorize(&world.app, "openid profile");
    let phone = "+12015550171";
    let browser = Chromium::start().await;
    browser.goto(&auth.url).await.unwrap();
    browser.wait_for("#phone", WAIT).await.unwrap();

    // The number field has the focus when the page opens.
    type_into_focused(&browser, "+1 201 555 0171\u{E007}").await;
    browser.wait_for("#code", WAIT).await.unwrap();
    assert_accessible(&browser, "the code page").await;

    type_into_focused(&browser, "000000\u{E007}").await;
    let error = browser.wait_for("p.error", WAIT).await.unwrap();
    assert_eq!(error.attr("role").await.unwrap().as_deref(), Some("alert"));
    assert_eq!(
        error.attr("aria-live").await.unwrap().as_deref(),
        Some("assertive")
    );
    let code_field = browser.wait_for("#code", WAIT).await.unwrap();
    assert_eq!(
        code_field.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    assert_eq!(
        code_field
            .attr("aria-describedby")
            .await
            .unwrap()
            .as_deref(),
        Some("form-error")
    );
    browser
        .screenshot("language-keyboard-wrong-code")
        .await
        .unwrap();
    assert_accessible(&browser, "the code page with an error").await;

    let code = world.sms.code_for(phone).await;
    // The field keeps the focus after an error.
    type_into_focused(&browser, &format!("{code}\u{E007}")).await;
    browser.wait_for("button[value=allow]", WAIT).await.unwrap();
    assert_accessible(&browser, "the consent page").await;

    // Tab to "Allow" and press Enter.
    let mut reached = false;
    for _ in 0..20 {
        type_into_focused(&browser, &Key::Tab.to_string()).await;
        let focused = browser.client().active_element().await.unwrap();
        if focused.attr("value").await.unwrap().as_deref() == Some("allow") {
            type_into_focused(&browser, "\u{E007}").await;
            reached = true;
            break;
        }
    }
    assert!(reached, "Allow cannot be reached with Tab");
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let url = browser.current_url().await.unwrap();
        if url.as_str().starts_with(&world.callback.url) {
            assert!(url.query().unwrap_or_default().contains("code="), "{url}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still on {url}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.close().await.unwrap();
}

async fn type_into_focused(browser: &Chromium, keys: &str) {
    let focused = browser.client().active_element().await.unwrap();
    focused.send_keys(keys).await.unwrap();
}

/// The check can fail: a page with an image without alt text and a field
/// without a label has violations.
#[tokio::test]
async fn axe_finds_what_is_wrong() {
    let browser = Chromium::start().await;
    let page = "data:text/html,<html lang=en><title>t</title><main><h1>x</h1>\
        <img src=data:,><input type=text></main></html>";
    browser.goto(page).await.unwrap();
    let found = crate::helpers::axe::violations(&browser).await.unwrap();
    assert!(
        found.iter().any(|v| v.starts_with("image-alt")),
        "{found:#?}"
    );
    assert!(found.iter().any(|v| v.starts_with("label")), "{found:#?}");
    browser.close().await.unwrap();
}

/// The logout question (a remembered sign-in, then Hydra's logout) and the
/// page after it pass axe too.
#[tokio::test]
async fn the_logout_question_passes_axe() {
    let world = World::new().await;
    let client = world.client(json!({"client_name": "Acme Notes"})).await;
    let auth = client.authorize(&world.app, "openid");
    let phone = "+12015550172";
    let browser = Chromium::start().await;
    browser.goto(&auth.url).await.unwrap();
    browser.fill("#phone", phone).await.unwrap();
    browser.click("button[value=send]").await.unwrap();
    browser.wait_for("#code", WAIT).await.unwrap();
    let code = world.sms.code_for(phone).await;
    browser.fill("#code", &code).await.unwrap();
    browser.click("input[name=remember]").await.unwrap();
    browser.click("button[value=verify]").await.unwrap();
    browser.wait_for("button[value=allow]", WAIT).await.unwrap();
    browser.click("button[value=allow]").await.unwrap();
    crate::helpers::eventually(WAIT, "back at the client", || {
        world
            .callback
            .received()
            .iter()
            .any(|r| r.uri.contains("code="))
    })
    .await;

    browser
        .goto(&world.app.url("/oauth2/sessions/logout"))
        .await
        .unwrap();
    browser.wait_for("button[value=yes]", WAIT).await.unwrap();
    browser
        .screenshot("language-logout-question")
        .await
        .unwrap();
    assert_accessible(&browser, "the logout question").await;
    browser.click("button[value=yes]").await.unwrap();
    browser.wait_for("h1", WAIT).await.unwrap();
    assert_accessible(&browser, "the page after logging out").await;
    browser.close().await.unwrap();
}
