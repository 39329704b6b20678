//! The person's language, through the real server and a real Hydra: the
//! app's `ui_locales` first, then `Accept-Language`, then
//! `ui.default_locale`; `<html lang dir>`; the text message in the same
//! language; the operator's overrides; and the configuration errors of a
//! bad translation file, through the real binary.

mod branding;
mod config_errors;

use crate::helpers::http_browser::{Hop, HttpBrowser};
use crate::helpers::world::{trusted, World};

/// The `<html ...>` start tag of a page.
fn html_tag(page: &Hop) -> &str {
    let start = page.body.find("<html").expect("an html element");
    let end = start + page.body[start..].find('>').expect("the tag ends");
    &page.body[start..=end]
}

fn assert_language(page: &Hop, lang: &str, dir: &str) {
    let tag = html_tag(page);
    assert!(tag.contains(&format!("lang=\"{lang}\"")), "{tag}");
    assert!(tag.contains(&format!("dir=\"{dir}\"")), "{tag}");
}

/// The login page of a new client, for `browser`, with `extra` on the
/// authorization URL.
async fn login_page(world: &World, browser: &HttpBrowser, extra: &[(&str, &str)]) -> Hop {
    let client = world.client(trusted()).await;
    let auth = client.authorize_with(&world.app, "openid", extra);
    let page = world.open(browser, &auth).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page
}

#[tokio::test]
async fn the_browser_language_chooses_the_page_language() {
    let world = World::new().await;

    let german = HttpBrowser::speaking(&["de-DE,de;q=0.9,en;q=0.5"]);
    let page = login_page(&world, &german, &[]).await;
    assert_language(&page, "de", "ltr");
    assert!(page.body.contains("Telefonnummer"), "{}", page.body);
    assert!(page.body.contains("Code senden"), "{}", page.body);
    assert!(!page.body.contains("Phone number"), "{}", page.body);
    // An error page speaks it too (rendered outside any handler's view).
    let error = german.get(&world.app.url("/login")).await;
    assert_eq!(error.status, 400);
    assert_language(&error, "de", "ltr");
    assert!(
        error.body.contains("Etwas ist schiefgegangen"),
        "{}",
        error.body
    );

    // The edge's own fault page (before any route) speaks it too.
    let long = world.app.url(&format!("/login?{}", "a".repeat(9000)));
    let response = crate::helpers::app::client_builder()
        .build()
        .unwrap()
        .get(long)
        .header("accept", "text/html")
        .header("accept-language", "de")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 414);
    let body = response.text().await.unwrap();
    assert!(body.contains("lang=\"de\""), "{body}");
    assert!(body.contains("zu lang für einen Anmeldelink"), "{body}");

    // Right to left.
    let arabic = HttpBrowser::speaking(&["ar"]);
    let page = login_page(&world, &arabic, &[]).await;
    assert_language(&page, "ar", "rtl");
    assert!(page.body.contains("رقم الهاتف"), "{}", page.body);

    // No language gatehouse speaks, a wildcard, a refused one (q=0), or no
    // header at all: English, the default.
    for header in [
        vec!["tlh, x-klingon;q=0.9, *;q=0.1"],
        vec!["de;q=0"],
        vec![],
    ] {
        let browser = HttpBrowser::speaking(&header);
        let page = login_page(&world, &browser, &[]).await;
        assert_language(&page, "en", "ltr");
        assert!(
            page.body.contains("Phone number"),
            "{header:?}: {}",
            page.body
        );
    }
}

/// OIDC `ui_locales` on the authorization URL beat the browser's header,
/// on every step of the sign-in, and the text message speaks it too.
#[tokio::test]
async fn the_apps_ui_locales_beat_the_header_and_the_text_follows() {
    let world = World::new().await;
    let browser = HttpBrowser::speaking(&["de"]);
    let page = login_page(&world, &browser, &[("ui_locales", "tlh fr-CA en")]).await;
    assert_language(&page, "fr", "ltr");
    assert!(page.body.contains("Numéro de téléphone"), "{}", page.body);

    let phone = "+41790000101";
    let code_page = world.send_code(&browser, &page, phone).await;
    assert_eq!(code_page.status, 200, "{}", code_page.body);
    assert_language(&code_page, "fr", "ltr");
    assert!(
        code_page.body.contains("Nous avons envoyé un code"),
        "{}",
        code_page.body
    );
    let code = world.sms.code_for(phone).await;
    let text = last_text_to(&world, phone);
    assert_eq!(
        text,
        format!("Votre code de connexion Gatehouse est {code}")
    );

    // A wrong code is told in French too, with the count in words.
    let wrong = world
        .submit_code(&browser, &code_page, "000000", false)
        .await;
    assert_language(&wrong, "fr", "ltr");
    assert!(
        wrong.body.contains("Ce code n’est pas le bon"),
        "{}",
        wrong.body
    );

    // Another sign-in of the same browser without ui_locales: German again.
    let page = login_page(&world, &browser, &[]).await;
    assert_language(&page, "de", "ltr");
}

/// The text of the newest message the gateway got for `phone`.
fn last_text_to(world: &World, phone: &str) -> String {
    let message = world
        .sms
        .received()
        .iter()
        .map(|request| request.json())
        .rfind(|message| message["phone"] == phone)
        .expect("a message to the phone");
    message["message"].as_str().expect("a text").to_string()
}

/// `ui.default_locale` for browsers that name nothing gatehouse speaks;
/// two `Accept-Language` lines are read as one list; the operator's
/// override of one German text shows, the rest stays German; and the text
/// message gets the autofill line.
#[tokio::test]
async fn default_locale_overrides_and_the_autofill_line() {
    let translations = tempfile::tempdir().unwrap();
    std::fs::write(
        translations.path().join("de.ftl"),
        "send-code = Code anfordern\nsms-code = { $code } ist Ihr Code für { $app }\n",
    )
    .unwrap();
    let dir = translations.path().to_path_buf();
    let world = World::with(move |config| {
        config.ui.default_locale = "es".into();
        config.ui.translations_dir = Some(dir);
        config.sms.autofill_host = Some("id.example.com".into());
    })
    .await;

    let unknown = HttpBrowser::speaking(&["xx"]);
    let page = login_page(&world, &unknown, &[]).await;
    assert_language(&page, "es", "ltr");
    assert!(page.body.contains("Número de teléfono"), "{}", page.body);

    let two_lines = HttpBrowser::speaking(&["xx", "pt;q=0.5"]);
    let page = login_page(&world, &two_lines, &[]).await;
    assert_language(&page, "pt", "ltr");

    let german = HttpBrowser::speaking(&["de"]);
    let page = login_page(&world, &german, &[]).await;
    assert!(page.body.contains("Code anfordern"), "{}", page.body);
    assert!(!page.body.contains("Code senden"), "{}", page.body);
    assert!(page.body.contains("Telefonnummer"), "{}", page.body);

    let phone = "+41790000102";
    world.send_code(&german, &page, phone).await;
    let code = world.sms.code_for(phone).await;
    let text = last_text_to(&world, phone);
    assert_eq!(
        text,
        format!("{code} ist Ihr Code für Gatehouse\n\n@id.example.com #{code}")
    );
}

/// A native app names the person's languages in `ui_locales` (as OIDC's
/// parameter: space-separated, best first); they beat the app's
/// `Accept-Language` for the text message, a language gatehouse does not
/// speak is passed over, and without them the header counts.
#[tokio::test]
async fn a_native_apps_ui_locales_choose_the_text_messages_language() {
    use crate::helpers::headless::NativeApp;

    let app = NativeApp {
        id: "polyglot-app",
        secret: "polyglot-app-secret-0123456789",
        scope: "openid",
    };
    let world = World::with(|config| config.headless.clients = vec![app.listed(false)]).await;
    app.register(&world.app, "client_secret_basic").await;
    let request = |phone: &str, ui_locales: Option<&str>| {
        let mut body = serde_json::json!({"phone": phone, "client_id": app.id});
        if let Some(ui_locales) = ui_locales {
            body["ui_locales"] = ui_locales.into();
        }
        world
            .app
            .http
            .post(world.app.url("/api/headless/request-otp"))
            .header("accept-language", "de")
            .json(&body)
            .send()
    };

    for (phone, ui_locales, expected) in [
        ("+41790000111", Some("tlh fr-CA"), "Votre code de connexion"),
        ("+41790000112", None, "-Anmeldecode lautet"),
        ("+41790000113", Some("tlh"), "-Anmeldecode lautet"),
    ] {
        let answer = request(phone, ui_locales).await.unwrap();
        assert_eq!(answer.status(), 200, "{:?}", answer.text().await);
        world.sms.code_for(phone).await;
        let text = last_text_to(&world, phone);
        assert!(text.contains(expected), "{ui_locales:?}: {text}");
    }
}
