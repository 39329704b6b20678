//! `acr` and `amr` as the sign-in was really proved, remembered sessions
//! included, and `acr_values` step-up: a client asking for a
//! phishing-resistant sign-in (`phr`) gets only the passkey; codes posted
//! anyway do not sign in; a remembered SMS session does not satisfy it; a
//! person without a passkey is refused with a page and the client gets
//! `access_denied`. (The passkey sign-in itself, in a real browser, is in
//! `browser_passkeys`.) Passkeys need a domain name: the public URL is
//! `localhost` and every request goes there.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::http_browser::{form, Hop, HttpBrowser};
use crate::helpers::oauth::{verify_jwt, Authorization, Client};
use crate::helpers::world::{trusted, World};
use crate::signin::methods::{app_code, now};
use gatehouse::config::LoginMethod;
use gatehouse::store::passkeys::{self, StoredPasskey};
use gatehouse::store::users::Profile;

async fn world() -> World {
    World::with(|config| {
        config.login.methods = vec![LoginMethod::Sms, LoginMethod::Totp, LoginMethod::Passkey];
        let port = config.server.listen.port();
        config.server.public_url = format!("http://localhost:{port}").parse().unwrap();
        config.otp.resend_cooldown = Duration::ZERO;
    })
    .await
}

/// `path` on the public origin.
fn local(world: &World, path: &str) -> String {
    let mut url = url::Url::parse(&world.app.url(path)).unwrap();
    url.set_host(Some("localhost")).unwrap();
    url.to_string()
}

fn authorize(world: &World, client: &Client, acr_values: Option<&str>) -> Authorization {
    let extra: Vec<(&str, &str)> = acr_values.map(|v| ("acr_values", v)).into_iter().collect();
    let mut auth = client.authorize_with(&world.app, "openid", &extra);
    let mut url = url::Url::parse(&auth.url).unwrap();
    url.set_host(Some("localhost")).unwrap();
    auth.url = url.to_string();
    auth
}

/// Posts the login page's form with `fields`.
async fn post_login(
    world: &World,
    browser: &HttpBrowser,
    page: &Hop,
    fields: &[(&str, &str)],
) -> Hop {
    let fields = form(page, fields);
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    browser.post(&local(world, "/login"), &fields).await
}

/// Follows `hop`'s redirect (declining an offer of another method on the
/// way) to the client's callback.
async fn to_callback(world: &World, browser: &HttpBrowser, hop: &Hop) -> Hop {
    let location = hop
        .location
        .clone()
        .unwrap_or_else(|| panic!("{}: {}", hop.status, hop.body));
    if location == "/enrol" {
        let offer = browser.get(&local(world, "/enrol")).await;
        let fields = form(&offer, &[("action", "skip")]);
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let declined = browser.post(&local(world, "/enrol"), &fields).await;
        return world.follow_to_callback(browser, &declined).await;
    }
    world.follow_to_callback(browser, hop).await
}

/// The id_token's claims after `callback`.
async fn id_token(world: &World, client: &Client, auth: &Authorization, callback: &Hop) -> Value {
    let tokens = world.redeem(client, auth, callback).await;
    verify_jwt(
        &world.app,
        tokens["id_token"].as_str().unwrap(),
        Some(&client.id),
    )
    .await
}

/// An SMS sign-in of `phone` on a new login page; the hop after the code.
async fn sms(world: &World, browser: &HttpBrowser, page: &Hop, phone: &str, remember: bool) -> Hop {
    let sent = post_login(
        world,
        browser,
        page,
        &[("action", "send"), ("phone", phone)],
    )
    .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let code = world.sms.code_for(phone).await;
    let mut fields = vec![("action", "verify"), ("code", code.as_str())];
    if remember {
        fields.push(("remember", "1"));
    }
    post_login(world, browser, &sent, &fields).await
}

/// A person with a confirmed authenticator app; their id and its key.
async fn with_app(world: &World, phone: &str) -> (String, String) {
    let user = world.app.add_user(phone, Profile::default()).await;
    let totp = &world.app.state.methods.totp;
    let new = totp.start(&user.id).await.unwrap();
    // Confirmed with the previous step's code: the current one stays free.
    let code = app_code(&new.secret_base32, now() - 30);
    totp.confirm(&user.id, &new.id, &code).await.unwrap();
    (user.id, new.secret_base32)
}

/// Gives `subject` a passkey row (never used to sign in here: enough for
/// "has a passkey").
async fn with_passkey(world: &World, subject: &str) {
    let stored = StoredPasskey {
        credential_id: format!("cred-{subject}").into_bytes(),
        subject: subject.to_string(),
        user_handle: vec![7; 16],
        name: "Passkey".into(),
        passkey: "{}".into(),
        counter: 0,
        transports: "[]".into(),
        created_at: now() as i64,
        last_used_at: None,
    };
    let store = world.app.store();
    let added = store.run(move |db| passkeys::add(db, &stored)).await;
    assert!(added.unwrap());
}

#[tokio::test]
async fn a_remembered_sign_in_reports_the_method_the_session_was_proved_with() {
    let world = world().await;
    let client = world.client(trusted()).await;
    let phone = "+12015550501";
    let (_, key) = with_app(&world, phone).await;

    // By authenticator app, remembered.
    let browser = HttpBrowser::new();
    let auth = authorize(&world, &client, None);
    let page = world.open(&browser, &auth).await;
    let stage = post_login(
        &world,
        &browser,
        &page,
        &[("action", "app"), ("phone", phone)],
    )
    .await;
    let code = app_code(&key, now());
    let fields = [
        ("action", "verify_app"),
        ("code", code.as_str()),
        ("remember", "1"),
    ];
    let accepted = post_login(&world, &browser, &stage, &fields).await;
    let callback = to_callback(&world, &browser, &accepted).await;
    let first = id_token(&world, &client, &auth, &callback).await;
    assert_eq!(first["amr"], json!(["otp"]), "{first}");
    assert_eq!(first["acr"], "otp", "{first}");

    // The same browser again: remembered, and still an app code, not `sms`.
    let auth = authorize(&world, &client, None);
    let callback = browser.follow(&auth.url, &world.callback.url).await;
    let again = id_token(&world, &client, &auth, &callback).await;
    assert_eq!(again["amr"], json!(["otp"]), "{again}");
    assert_eq!(again["acr"], "otp", "{again}");
    assert_eq!(again["sid"], first["sid"], "the same login session");

    // By text message, remembered: `sms` then and later.
    let other = HttpBrowser::new();
    let auth = authorize(&world, &client, None);
    let page = world.open(&other, &auth).await;
    let accepted = sms(&world, &other, &page, phone, true).await;
    let callback = to_callback(&world, &other, &accepted).await;
    let by_text = id_token(&world, &client, &auth, &callback).await;
    assert_eq!(by_text["amr"], json!(["sms"]), "{by_text}");
    let auth = authorize(&world, &client, None);
    let callback = other.follow(&auth.url, &world.callback.url).await;
    let remembered = id_token(&world, &client, &auth, &callback).await;
    assert_eq!(remembered["amr"], json!(["sms"]), "{remembered}");
    assert_eq!(remembered["acr"], "otp", "{remembered}");
}

#[tokio::test]
async fn a_phr_request_offers_only_the_passkey_and_codes_posted_anyway_do_not_sign_in() {
    let world = world().await;
    let client = world.client(trusted()).await;
    let phone = "+12015550502";
    let (_, key) = with_app(&world, phone).await;
    let browser = HttpBrowser::new();
    let auth = authorize(&world, &client, Some("phr"));
    let page = world.open(&browser, &auth).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("passkey-sign-in"), "{}", page.body);
    assert!(
        !page.body.contains("name=\"phone\""),
        "no number field: {}",
        page.body
    );
    assert!(!page.body.contains("value=\"send\""), "{}", page.body);

    world.app.outbox_drained().await;
    let texts = world.sms.received().len();
    let code = app_code(&key, now());
    for fields in [
        vec![("action", "send"), ("phone", phone)],
        vec![("action", "resend"), ("phone", phone)],
        vec![("action", "verify"), ("phone", phone), ("code", "123456")],
        vec![("action", "app"), ("phone", phone)],
        vec![
            ("action", "verify_app"),
            ("phone", phone),
            ("code", code.as_str()),
        ],
    ] {
        let answer = post_login(&world, &browser, &page, &fields).await;
        assert_eq!(answer.status, 403, "{fields:?}: {}", answer.body);
        assert!(answer.location.is_none(), "{fields:?}: not signed in");
        assert!(
            answer.body.contains("sign in with a passkey"),
            "{}",
            answer.body
        );
    }
    world.app.outbox_drained().await;
    assert_eq!(world.sms.received().len(), texts, "no text was sent");
    // The service itself refuses too, whatever the page does.
    let login = match world.app.state.browser.resume(&challenge_of(&page)).await {
        Ok(gatehouse::signin::browser::Resumed::Open(login)) => login,
        _ => panic!("the challenge is still open"),
    };
    let number = gatehouse::domain::PhoneNumber::parse(phone, None).unwrap();
    let digits = gatehouse::domain::OtpCode::parse(&code, 6).unwrap();
    let refused = world
        .app
        .state
        .browser
        .verify_app_code(&login, &number, &digits, false);
    assert!(matches!(
        refused.await,
        Err(gatehouse::signin::error::SignInError::PasskeyRequired)
    ));
    // The app code was not used up by any of it: it still signs in where
    // a code is enough.
    let other = HttpBrowser::new();
    let plain = world.open(&other, &authorize(&world, &client, None)).await;
    let fields = [("action", "app"), ("phone", phone)];
    let stage = post_login(&world, &other, &plain, &fields).await;
    let fields = [("action", "verify_app"), ("code", code.as_str())];
    let signed_in = post_login(&world, &other, &stage, &fields).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);

    // Cancel: the client hears access_denied.
    let cancelled = post_login(&world, &browser, &page, &[("action", "cancel")]).await;
    let callback = browser
        .follow(cancelled.location.as_deref().unwrap(), &world.callback.url)
        .await;
    assert_eq!(
        callback.location_param("error").as_deref(),
        Some("access_denied")
    );
}

fn challenge_of(page: &Hop) -> String {
    crate::helpers::http_browser::hidden_inputs(&page.body)["login_challenge"].clone()
}

#[tokio::test]
async fn a_remembered_sms_session_must_step_up_and_without_a_passkey_is_refused() {
    let world = world().await;
    let client = world.client(trusted()).await;

    // No passkey: a page that says so, and access_denied for the client.
    let browser = HttpBrowser::new();
    let auth = authorize(&world, &client, None);
    let page = world.open(&browser, &auth).await;
    let accepted = sms(&world, &browser, &page, "+12015550503", true).await;
    to_callback(&world, &browser, &accepted).await;
    let auth = authorize(&world, &client, Some("phr"));
    let refused = browser.follow(&auth.url, &world.callback.url).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("A passkey is needed"),
        "{}",
        refused.body
    );
    let back = button_href(&refused.body).expect("a way back to the app");
    let callback = browser.follow(&back, &world.callback.url).await;
    assert_eq!(
        callback.location_param("error").as_deref(),
        Some("access_denied")
    );
    // The session itself still serves a client that asks for no level.
    let auth = authorize(&world, &client, None);
    let callback = browser.follow(&auth.url, &world.callback.url).await;
    let claims = id_token(&world, &client, &auth, &callback).await;
    assert_eq!(claims["amr"], json!(["sms"]));

    // With a passkey: the remembered SMS session is not enough; the page
    // asks for the passkey (and only it).
    let browser = HttpBrowser::new();
    let auth = authorize(&world, &client, None);
    let page = world.open(&browser, &auth).await;
    let accepted = sms(&world, &browser, &page, "+12015550504", true).await;
    let callback = to_callback(&world, &browser, &accepted).await;
    let subject = id_token(&world, &client, &auth, &callback).await["sub"]
        .as_str()
        .unwrap()
        .to_string();
    with_passkey(&world, &subject).await;
    let auth = authorize(&world, &client, Some("phr"));
    let step_up = browser.follow(&auth.url, &world.callback.url).await;
    assert_eq!(step_up.status, 200, "{}", step_up.body);
    assert!(step_up.body.contains("passkey-sign-in"), "{}", step_up.body);
    assert!(!step_up.body.contains("name=\"phone\""), "{}", step_up.body);
    let code = post_login(
        &world,
        &browser,
        &step_up,
        &[("action", "send"), ("phone", "+12015550504")],
    )
    .await;
    assert_eq!(code.status, 403, "{}", code.body);
}

/// The target of the page's button link.
fn button_href(html: &str) -> Option<String> {
    let marker = "class=\"button\" href=\"";
    let start = html.find(marker)? + marker.len();
    let end = start + html[start..].find('"')?;
    Some(html[start..end].replace("&amp;", "&"))
}
