//! Browser sign-in end to end: gatehouse's pages with a real Hydra, driven
//! by an HTTP client with a cookie jar; SMS captured by the webhook sink.
//! Here the tokens, sessions and consent; the pages' own behaviour (bad
//! input, expiry, headers) is in `pages`.

mod account;
mod assurance;
pub(crate) mod manage;
pub(crate) mod methods;
mod pages;

use std::time::Duration;

use crate::helpers::http_browser::HttpBrowser;
use crate::helpers::oauth::verify_jwt;
use crate::helpers::world::{trusted, World};
use gatehouse::config::AccessTokenStrategy;
use gatehouse::domain::PhoneNumber;
use gatehouse::store::users::{self, Profile};
use serde_json::{json, Value};

const USER_CLAIMS: &[&str] = &[
    "name",
    "given_name",
    "family_name",
    "email",
    "email_verified",
    "phone_number",
    "phone_number_verified",
    "address",
];

fn user_claims(claims: &Value) -> Vec<&'static str> {
    USER_CLAIMS
        .iter()
        .copied()
        .filter(|c| claims.get(*c).is_some())
        .collect()
}

#[tokio::test]
async fn code_flow_with_pkce_returns_verified_tokens() {
    let world = World::new().await;
    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();
    let phone = "+12015550140";
    let auth = client.authorize(&world.app, "openid offline_access");
    let login = world.open(&browser, &auth).await;
    assert!(login.body.contains("Sign in to Test App"), "{}", login.body);
    let accepted = world
        .enter_phone_and_code(&browser, &login, phone, false)
        .await;
    assert_eq!(accepted.status, 303);
    let callback = world.follow_to_callback(&browser, &accepted).await;
    let tokens = world.redeem(&client, &auth, &callback).await;

    for field in ["access_token", "id_token", "refresh_token"] {
        assert!(
            tokens[field].as_str().is_some_and(|t| !t.is_empty()),
            "{field}: {tokens}"
        );
    }
    assert_eq!(tokens["token_type"], "bearer");
    let claims = verify_jwt(
        &world.app,
        tokens["id_token"].as_str().unwrap(),
        Some(&client.id),
    )
    .await;
    assert_eq!(claims["nonce"], auth.nonce.as_str());
    assert_eq!(claims["amr"], json!(["sms"]));
    let store = world.app.store();
    let phone_number = PhoneNumber::parse(phone, None).unwrap();
    let user = store
        .run(move |conn| users::find_by_phone(conn, &phone_number))
        .await
        .unwrap()
        .expect("signed-up user");
    assert_eq!(claims["sub"], user.id.as_str());

    // A PKCE verifier that does not match gets no tokens.
    let auth = client.authorize(&world.app, "openid");
    let login = world.open(&browser, &auth).await;
    let accepted = world
        .enter_phone_and_code(&browser, &login, "+12015550151", false)
        .await;
    let callback = world.follow_to_callback(&browser, &accepted).await;
    let code = callback.location_param("code").unwrap();
    let (status, body) = client
        .exchange(
            &world.app,
            &code,
            "wrong-verifier-wrong-verifier-wrong-verifier",
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn each_scope_yields_exactly_its_claims() {
    let world = World::new().await;
    let client = world.client(trusted()).await;
    let phone = "+12015550141";
    world
        .app
        .add_user(
            phone,
            Profile {
                given_name: Some("Ada".into()),
                family_name: Some("Lovelace".into()),
                email: Some("ada@example.com".into()),
                email_verified: true,
                street_address: Some("12 Analytical St".into()),
                locality: Some("London".into()),
                postal_code: Some("N1".into()),
                country: Some("GB".into()),
                ..Profile::default()
            },
        )
        .await;
    let browser = HttpBrowser::new();
    // The first sign-in is remembered, so the next ones need no code.
    world
        .sign_in(&browser, &client, phone, "openid", true)
        .await;
    for (scope, expected) in [
        ("openid", vec![]),
        ("openid profile", vec!["name", "given_name", "family_name"]),
        ("openid email", vec!["email", "email_verified"]),
        (
            "openid phone",
            vec!["phone_number", "phone_number_verified"],
        ),
        ("openid address", vec!["address"]),
    ] {
        let auth = client.authorize(&world.app, scope);
        let callback = browser.follow(&auth.url, &world.callback.url).await;
        let tokens = world.redeem(&client, &auth, &callback).await;
        let claims = verify_jwt(
            &world.app,
            tokens["id_token"].as_str().unwrap(),
            Some(&client.id),
        )
        .await;
        assert_eq!(user_claims(&claims), expected, "scope {scope}: {claims}");
        if scope.contains("address") {
            assert_eq!(claims["address"]["locality"], "London");
        }
        if scope.contains("profile") {
            assert_eq!(claims["name"], "Ada Lovelace");
        }
        if scope.contains("phone") {
            assert_eq!(claims["phone_number"], phone);
            assert_eq!(claims["phone_number_verified"], true);
        }
        // /userinfo says the same.
        let userinfo = world
            .app
            .userinfo(tokens["access_token"].as_str().unwrap())
            .await;
        assert_eq!(
            user_claims(&userinfo),
            expected,
            "userinfo for {scope}: {userinfo}"
        );
    }
    world.app.outbox_drained().await;
    assert_eq!(
        world.sms.received().len(),
        1,
        "remembered sign-ins send no code"
    );
}

#[tokio::test]
async fn refresh_rotates_and_revocation_deactivates() {
    let world =
        World::with(|c| c.hydra.refresh_token_rotation_grace_period = Duration::from_secs(1)).await;
    let client = world.client(trusted()).await;
    let tokens = world
        .sign_in(
            &HttpBrowser::new(),
            &client,
            "+12015550142",
            "openid offline_access",
            false,
        )
        .await;
    let old = tokens["refresh_token"].as_str().unwrap();

    let (status, rotated) = client.refresh(&world.app, old).await;
    assert_eq!(status, 200, "{rotated}");
    let new = rotated["refresh_token"].as_str().unwrap();
    assert_ne!(new, old);
    let (status, again) = client.refresh(&world.app, new).await;
    assert_eq!(status, 200, "the new refresh token works: {again}");
    // Past the rotation grace period the old refresh token is dead.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, body) = client.refresh(&world.app, old).await;
    assert_eq!(status, 400, "the old refresh token is rejected: {body}");
    assert_eq!(body["error"], "invalid_grant");

    // Introspection through gatehouse's own client of the admin API.
    let (status, fresh) = {
        let tokens = world
            .sign_in(
                &HttpBrowser::new(),
                &client,
                "+12015550143",
                "openid",
                false,
            )
            .await;
        (200, tokens)
    };
    assert_eq!(status, 200);
    let access = fresh["access_token"].as_str().unwrap();
    let hydra = &world.app.hydra_client();
    assert!(hydra.introspect(access, None).await.unwrap().active);
    assert_eq!(client.revoke(&world.app, access).await, 200);
    assert!(!hydra.introspect(access, None).await.unwrap().active);
}

#[tokio::test]
async fn jwt_access_tokens_verify_against_the_jwks() {
    let world = World::with(|c| c.hydra.access_token_strategy = AccessTokenStrategy::Jwt).await;
    let client = world.client(trusted()).await;
    let tokens = world
        .sign_in(
            &HttpBrowser::new(),
            &client,
            "+12015550150",
            "openid offline_access",
            false,
        )
        .await;
    let access = verify_jwt(&world.app, tokens["access_token"].as_str().unwrap(), None).await;
    assert_eq!(access["client_id"], client.id.as_str());
    let id = verify_jwt(
        &world.app,
        tokens["id_token"].as_str().unwrap(),
        Some(&client.id),
    )
    .await;
    assert_eq!(access["sub"], id["sub"]);
}

#[tokio::test]
async fn remembered_sign_in_skips_the_code_and_logout_ends_it() {
    let world = World::new().await;
    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();
    let phone = "+12015550144";
    world
        .sign_in(&browser, &client, phone, "openid", true)
        .await;

    // Same browser: straight through, no login page, no SMS.
    let auth = client.authorize(&world.app, "openid");
    let callback = browser.follow(&auth.url, &world.callback.url).await;
    world.redeem(&client, &auth, &callback).await;
    assert_eq!(world.sms.received().len(), 1);

    // Another browser has no session.
    let other = world
        .open(&HttpBrowser::new(), &client.authorize(&world.app, "openid"))
        .await;
    assert!(other.body.contains("name=\"phone\""));

    // Logout: confirmation page, then Hydra ends the session.
    let page = browser
        .follow(
            &world.app.url("/oauth2/sessions/logout"),
            &world.callback.url,
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Do you want to sign out?"),
        "{}",
        page.body
    );
    let confirmed = browser
        .submit(&world.app, &page, "/logout", &[("action", "yes")])
        .await;
    assert_eq!(confirmed.status, 303, "{}", confirmed.body);
    let done = browser
        .follow(confirmed.location.as_deref().unwrap(), &world.callback.url)
        .await;
    assert!(
        done.body.contains("You are signed out"),
        "{} {}",
        done.status,
        done.body
    );

    // The next authorization asks for a code again.
    let login = world
        .open(&browser, &client.authorize(&world.app, "openid"))
        .await;
    assert!(login.body.contains("name=\"phone\""), "{}", login.body);
}

#[tokio::test]
async fn saying_no_to_logout_keeps_the_session() {
    let world = World::new().await;
    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();
    world
        .sign_in(&browser, &client, "+12015550145", "openid", true)
        .await;
    let page = browser
        .follow(
            &world.app.url("/oauth2/sessions/logout"),
            &world.callback.url,
        )
        .await;
    let kept = browser
        .submit(&world.app, &page, "/logout", &[("action", "no")])
        .await;
    assert_eq!(kept.status, 200);
    assert!(kept.body.contains("still signed in"));
    let auth = client.authorize(&world.app, "openid");
    let callback = browser.follow(&auth.url, &world.callback.url).await;
    world.redeem(&client, &auth, &callback).await;
}

#[tokio::test]
async fn consent_page_for_untrusted_clients_allow_and_deny() {
    let world = World::new().await;
    let client = world.client(json!({"client_name": "Partner App"})).await;
    let phone = "+12015550146";
    world
        .app
        .add_user(
            phone,
            Profile {
                email: Some("grace@example.com".into()),
                ..Profile::default()
            },
        )
        .await;
    let browser = HttpBrowser::new();
    let auth = client.authorize(&world.app, "openid email phone");
    let login = world.open(&browser, &auth).await;
    let accepted = world
        .enter_phone_and_code(&browser, &login, phone, true)
        .await;
    let consent = browser
        .follow(accepted.location.as_deref().unwrap(), &world.callback.url)
        .await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    for expected in [
        "Partner App",
        "See your email address",
        "grace@example.com",
        "See your phone number",
        phone,
    ] {
        assert!(
            consent.body.contains(expected),
            "missing {expected:?}: {}",
            consent.body
        );
    }
    let denied = browser
        .submit(&world.app, &consent, "/consent", &[("action", "deny")])
        .await;
    let callback = browser
        .follow(denied.location.as_deref().unwrap(), &world.callback.url)
        .await;
    assert_eq!(
        callback.location_param("error").as_deref(),
        Some("access_denied")
    );

    // Again, and allow: tokens with the granted scopes.
    let auth = client.authorize(&world.app, "openid email");
    let consent = browser.follow(&auth.url, &world.callback.url).await;
    assert_eq!(
        consent.status, 200,
        "the remembered login skips to consent: {}",
        consent.body
    );
    let allowed = browser
        .submit(
            &world.app,
            &consent,
            "/consent",
            &[("action", "allow"), ("remember", "1")],
        )
        .await;
    let callback = world.follow_to_callback(&browser, &allowed).await;
    let tokens = world.redeem(&client, &auth, &callback).await;
    assert_eq!(tokens["scope"], "openid email");
    let claims = verify_jwt(
        &world.app,
        tokens["id_token"].as_str().unwrap(),
        Some(&client.id),
    )
    .await;
    assert_eq!(claims["email"], "grace@example.com");

    // The remembered decision: no consent page the next time.
    let auth = client.authorize(&world.app, "openid email");
    let callback = browser.follow(&auth.url, &world.callback.url).await;
    world.redeem(&client, &auth, &callback).await;
}

#[tokio::test]
async fn trusted_clients_from_config_skip_the_consent_page() {
    let world = World::with(|c| c.consent.trusted_clients = vec!["first-party".into()]).await;
    let client = world.client(json!({"client_id": "first-party"})).await;
    world
        .sign_in(
            &HttpBrowser::new(),
            &client,
            "+12015550147",
            "openid profile",
            false,
        )
        .await;
}
