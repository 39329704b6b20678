//! Authenticator apps (TOTP): set up on the offer after a sign-in by SMS,
//! then a code from the app instead of a text. Codes are computed here with
//! totp-rs from the key the page shows, as an app would.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::helpers::binary::run_with_config_file;
use crate::helpers::http_browser::{Hop, HttpBrowser};
use crate::helpers::oauth::{verify_jwt, Client};
use crate::helpers::world::{trusted, World};
use gatehouse::config::LoginMethod;
use gatehouse::domain::{FlowId, PhoneNumber};
use serde_json::json;
use totp_rs::{Algorithm, Secret, TOTP};

async fn world() -> World {
    World::with(|config| {
        config.login.methods = vec![LoginMethod::Sms, LoginMethod::Totp, LoginMethod::Passkey];
        // Some tests sign the same person in twice by SMS.
        config.otp.resend_cooldown = std::time::Duration::ZERO;
    })
    .await
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// What an authenticator app shows for `key` (the page's base32 text) at
/// `time`.
pub(crate) fn app_code(key: &str, time: u64) -> String {
    let secret = Secret::Encoded(key.replace(' ', "")).to_bytes().unwrap();
    TOTP::new_unchecked(Algorithm::SHA1, 6, 0, 30, secret).generate(time)
}

/// The key in the set-up page's `<code id="secret">`.
fn shown_key(page: &Hop) -> String {
    let start = page.body.find("id=\"secret\">").expect("the key in text") + 12;
    let end = start + page.body[start..].find('<').unwrap();
    page.body[start..end].to_string()
}

/// Signs in by SMS; returns the hop after the code (the offer, or Hydra).
async fn sms_sign_in(world: &World, browser: &HttpBrowser, client: &Client, phone: &str) -> Hop {
    let auth = client.authorize(&world.app, "openid");
    let login = world.open(browser, &auth).await;
    world
        .enter_phone_and_code(browser, &login, phone, false)
        .await
}

/// After an SMS sign-in for a new person: the offer, then the set-up page.
async fn to_app_set_up(world: &World, browser: &HttpBrowser, phone: &str) -> Hop {
    let client = world.client(trusted()).await;
    let accepted = sms_sign_in(world, browser, &client, phone).await;
    assert_eq!(
        accepted.location.as_deref(),
        Some("/enrol"),
        "{}",
        accepted.body
    );
    let offer = browser.get(&world.app.url("/enrol")).await;
    assert_eq!(offer.status, 200, "{}", offer.body);
    assert!(
        offer.body.contains("cannot be phished"),
        "the risk notice: {}",
        offer.body
    );
    let set_up = browser
        .submit(&world.app, &offer, "/enrol", &[("action", "app")])
        .await;
    assert_eq!(set_up.status, 200, "{}", set_up.body);
    assert!(
        set_up.body.contains("src=\"data:image/svg+xml;base64,"),
        "{}",
        set_up.body
    );
    set_up
}

/// Sets up an app for `phone` (new person); returns its key and the code
/// that confirmed it.
async fn enrolled(world: &World, phone: &str) -> (String, String) {
    let browser = HttpBrowser::new();
    let set_up = to_app_set_up(world, &browser, phone).await;
    let key = shown_key(&set_up);
    let code = app_code(&key, now());
    let added = browser
        .submit(
            &world.app,
            &set_up,
            "/enrol",
            &[("action", "confirm_app"), ("code", &code)],
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert!(
        added.body.contains("Authenticator app added"),
        "{}",
        added.body
    );
    (key, code)
}

/// The app-code form of a new sign-in for `phone`, and the authorization.
async fn app_stage(
    world: &World,
    browser: &HttpBrowser,
    client: &Client,
    phone: &str,
) -> (Hop, crate::helpers::oauth::Authorization) {
    let auth = client.authorize(&world.app, "openid");
    let login = world.open(browser, &auth).await;
    assert!(login.body.contains("value=\"app\""), "{}", login.body);
    let stage = browser
        .submit(
            &world.app,
            &login,
            "/login",
            &[("action", "app"), ("phone", phone)],
        )
        .await;
    assert_eq!(stage.status, 200, "{}", stage.body);
    assert!(
        stage.body.contains("value=\"verify_app\""),
        "{}",
        stage.body
    );
    (stage, auth)
}

async fn submit_app_code(world: &World, browser: &HttpBrowser, page: &Hop, code: &str) -> Hop {
    let fields = [("action", "verify_app"), ("code", code)];
    browser.submit(&world.app, page, "/login", &fields).await
}

#[tokio::test]
async fn an_app_set_up_after_sms_signs_in_once_per_code_without_a_text() {
    let world = world().await;
    let phone = "+12015550301";
    let (key, confirming) = enrolled(&world, phone).await;
    // The key is sealed at rest: neither it nor its bytes are in the
    // database (the SQLite file, or the rows on PostgreSQL).
    let secret = Secret::Encoded(key.replace(' ', "")).to_bytes().unwrap();
    let encoded = key.replace(' ', "");
    let rows =
        crate::helpers::white_box::rows(&world.app.config, "SELECT * FROM totp_credentials").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    for value in rows[0].values() {
        let text = value.to_string();
        assert!(!text.contains(&hex::encode(&secret)), "{text}");
        assert!(
            !text.to_lowercase().contains(&encoded[..16].to_lowercase()),
            "{text}"
        );
    }
    if world.app.config.database.url.is_none() {
        let database =
            gatehouse::infra::data_dir::DataDir::new(&world.app.config.data_dir).database();
        let file = std::fs::read(&database).unwrap();
        let wal = std::fs::read(database.with_extension("sqlite-wal")).unwrap_or_default();
        for bytes in [&file, &wal] {
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_slice()));
            assert!(!bytes.windows(16).any(|w| w == &encoded.as_bytes()[..16]));
        }
    }
    world.app.outbox_drained().await;
    let texts_before = world.sms.received().len();

    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();
    let (stage, auth) = app_stage(&world, &browser, &client, phone).await;
    // The code that confirmed the app: its time step is taken.
    let replayed = submit_app_code(&world, &browser, &stage, &confirming).await;
    assert_eq!(replayed.status, 400, "{}", replayed.body);
    assert!(replayed.body.contains("used already"), "{}", replayed.body);
    // The next step's code (within the allowed skew) signs in.
    let next = app_code(&key, now() + 30);
    let accepted = submit_app_code(&world, &browser, &replayed, &next).await;
    assert_eq!(accepted.status, 303, "{}", accepted.body);
    let callback = world.follow_to_callback(&browser, &accepted).await;
    let tokens = world.redeem(&client, &auth, &callback).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let claims = verify_jwt(&world.app, id_token, Some(&client.id)).await;
    assert_eq!(
        claims["amr"],
        json!(["otp"]),
        "RFC 8176: a one-time password"
    );

    // The same code in another sign-in is refused too.
    let other = HttpBrowser::new();
    let (stage, _) = app_stage(&world, &other, &client, phone).await;
    let again = submit_app_code(&world, &other, &stage, &next).await;
    assert_eq!(again.status, 400, "{}", again.body);
    world.app.outbox_drained().await;
    assert_eq!(
        world.sms.received().len(),
        texts_before,
        "no text for an app sign-in"
    );
}

#[tokio::test]
async fn wrong_app_codes_are_limited_per_sign_in_and_look_alike_for_strangers() {
    let world = world().await;
    let phone = "+12015550302";
    let (key, _) = enrolled(&world, phone).await;
    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();
    let (mut page, _) = app_stage(&world, &browser, &client, phone).await;
    let max = world.app.config.otp.max_attempts;
    for n in 1..=max {
        page = submit_app_code(&world, &browser, &page, "000000").await;
        let expected = if n < max {
            format!("{} tr", max - n)
        } else {
            "Too many wrong codes".to_string()
        };
        assert!(page.body.contains(&expected), "try {n}: {}", page.body);
    }
    // Dead for this sign-in, even with the right code.
    let right = app_code(&key, now());
    let refused = submit_app_code(&world, &browser, &page, &right).await;
    assert_eq!(refused.status, 429, "{}", refused.body);

    // A number without an app (a stranger's) gets the very same answer.
    let stranger = HttpBrowser::new();
    let (page, _) = app_stage(&world, &stranger, &client, "+12015550399").await;
    let wrong = submit_app_code(&world, &stranger, &page, &right).await;
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    assert!(
        wrong.body.contains(&format!("{} tries left", max - 1)),
        "{}",
        wrong.body
    );
}

#[tokio::test]
async fn wrong_app_codes_count_against_the_phone_across_sign_ins() {
    let world = world().await;
    let phone = "+12015550303";
    let (key, _) = enrolled(&world, phone).await;
    let number = PhoneNumber::parse(phone, None).unwrap();
    let totp = &world.app.state.methods.totp;
    // 100 wrong codes in 20 sign-ins of 5 tries: the phone's hourly cap.
    for n in 0..gatehouse::config::MAX_FAILURES_PER_HOUR {
        let flow = FlowId::browser(&format!("flow-{}", n / 5));
        let _ = totp.verify(&flow, &number, "000000").await;
    }
    let fresh = FlowId::browser("a-fresh-sign-in");
    let right = app_code(&key, now() + 30);
    let throttled = totp.verify(&fresh, &number, &right).await;
    assert!(
        matches!(
            throttled,
            Err(gatehouse::signin::otp::OtpError::Throttled { .. })
        ),
        "{throttled:?}"
    );
}

#[tokio::test]
async fn not_now_goes_on_and_the_offer_waits() {
    let world = world().await;
    let phone = "+12015550304";
    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();
    let accepted = sms_sign_in(&world, &browser, &client, phone).await;
    assert_eq!(accepted.location.as_deref(), Some("/enrol"));
    let offer = browser.get(&world.app.url("/enrol")).await;
    let declined = browser
        .submit(&world.app, &offer, "/enrol", &[("action", "skip")])
        .await;
    assert_eq!(declined.status, 303, "{}", declined.body);
    world.follow_to_callback(&browser, &declined).await;
    // The grant ended with it.
    let gone = browser.get(&world.app.url("/enrol")).await;
    assert_eq!(gone.status, 410, "{}", gone.body);

    // Next sign-in: straight back to the app.
    let again = sms_sign_in(&world, &HttpBrowser::new(), &client, phone).await;
    let location = again.location.unwrap_or_default();
    assert!(location.contains("login_verifier"), "{location}");
}

#[tokio::test]
async fn the_set_up_needs_its_grant_cookie_and_form_token() {
    let world = world().await;
    let browser = HttpBrowser::new();
    let set_up = to_app_set_up(&world, &browser, "+12015550305").await;
    let key = shown_key(&set_up);
    let code = app_code(&key, now());
    // Another browser (no grant cookie): nothing to set up.
    let stranger = HttpBrowser::new();
    let fields = [("action", "confirm_app"), ("code", code.as_str())];
    let forged = stranger
        .submit(&world.app, &set_up, "/enrol", &fields)
        .await;
    assert_eq!(forged.status, 410, "{}", forged.body);
    // The right browser without the form's token: refused.
    let no_token = browser
        .post(
            &world.app.url("/enrol"),
            &[("action", "confirm_app"), ("code", &code)],
        )
        .await;
    assert_eq!(no_token.status, 403, "{}", no_token.body);
    // Another person's set-up id: not theirs to confirm.
    let other = HttpBrowser::new();
    let theirs = to_app_set_up(&world, &other, "+12015550306").await;
    let fields = [("action", "confirm_app"), ("code", code.as_str())];
    let mut form = crate::helpers::http_browser::form(&set_up, &fields);
    let their_id = crate::helpers::http_browser::hidden_inputs(&theirs.body)["id"].clone();
    form.retain(|(name, _)| name != "id");
    form.push(("id".into(), their_id));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let crossed = browser.post(&world.app.url("/enrol"), &form).await;
    assert_ne!(crossed.status, 200, "{}", crossed.body);
    assert!(!crossed.body.contains("Authenticator app added"));
}

#[tokio::test]
async fn an_operator_lists_and_removes_a_lost_app() {
    let world = world().await;
    let phone = "+12015550307";
    let (key, _) = enrolled(&world, phone).await;
    let config = &world.app.config;
    let listed = run_with_config_file(config, &["users", "methods", "--phone", phone]).await;
    assert!(listed.status.success(), "{listed:?}");
    let listed = String::from_utf8(listed.stdout).unwrap();
    let line = listed
        .lines()
        .find(|line| line.contains(" totp "))
        .unwrap_or_else(|| panic!("{listed}"));
    let id = line.split_whitespace().next().unwrap().to_string();
    assert!(listed.contains(" sms "), "{listed}");
    assert!(
        !listed.contains(&key.replace(' ', "")),
        "no key in the list"
    );

    let wrong = ["users", "methods", "--phone", phone, "--remove", "nope"];
    let refused = run_with_config_file(config, &wrong).await;
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("no sign-in method with id `nope`"),
        "{stderr}"
    );
    let remove = ["users", "methods", "--phone", phone, "--remove", &id];
    let removed = run_with_config_file(config, &remove).await;
    assert!(removed.status.success(), "{removed:?}");

    // The lost phone's codes no longer sign in.
    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();
    let (stage, _) = app_stage(&world, &browser, &client, phone).await;
    let code = app_code(&key, now() + 30);
    let refused = submit_app_code(&world, &browser, &stage, &code).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
}
