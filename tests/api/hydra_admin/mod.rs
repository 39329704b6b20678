//! The typed admin API client and `gatehouse clients` (`cli`), against a
//! real Hydra.

mod cli;
mod tuning;

use crate::helpers::http_browser::{query_param, HttpBrowser};
use crate::helpers::TestApp;
use gatehouse::hydra::{
    AcceptConsent, AcceptLogin, ConsentSession, HydraError, NewClient, OAuth2Client, Reject,
};
use serde_json::{json, Value};
use url::Url;

const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";

fn web_client(name: &str) -> NewClient {
    NewClient {
        client_name: name.into(),
        redirect_uris: vec![REDIRECT_URI.into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        response_types: vec!["code".into()],
        scope: "openid offline_access profile phone".into(),
        token_endpoint_auth_method: "client_secret_basic".into(),
        ..NewClient::default()
    }
}

#[tokio::test]
async fn clients_are_created_listed_fetched_and_deleted() {
    let app = TestApp::spawn().await;
    let hydra = app.hydra_client();

    let web = hydra.create_client(&web_client("Web shop")).await.unwrap();
    assert!(!web.client_id.is_empty());
    assert_eq!(web.client_name, "Web shop");
    assert!(
        web.client_secret.as_deref().is_some_and(|s| s.len() >= 16),
        "a confidential client gets its secret once: {web:?}"
    );
    assert_eq!(web.redirect_uris, [REDIRECT_URI]);
    assert_eq!(web.token_endpoint_auth_method, "client_secret_basic");

    let public = hydra
        .create_client(&NewClient {
            client_id: Some("mobile app?1".into()),
            token_endpoint_auth_method: "none".into(),
            skip_consent: true,
            post_logout_redirect_uris: vec!["http://127.0.0.1:9/bye".into()],
            audience: vec!["https://api.example".into()],
            ..web_client("Mobile")
        })
        .await
        .unwrap();
    assert_eq!(public.client_id, "mobile app?1", "ids are used as given");
    assert_eq!(public.client_secret, None, "public clients have no secret");
    assert!(public.skip_consent);

    // An id with a space and a question mark survives the round trip through the URL.
    let fetched = hydra.get_client("mobile app?1").await.unwrap();
    assert_eq!(fetched.client_name, "Mobile");
    assert_eq!(fetched.token_endpoint_auth_method, "none");
    assert_eq!(fetched.audience, ["https://api.example"]);
    assert_eq!(
        fetched.post_logout_redirect_uris,
        ["http://127.0.0.1:9/bye"]
    );
    assert_eq!(fetched.client_secret, None, "Hydra never shows it again");
    assert!(fetched.other.contains_key("created_at"), "{fetched:?}");

    let third = hydra.create_client(&web_client("Third")).await.unwrap();
    let ids = |clients: Vec<OAuth2Client>| {
        let mut ids: Vec<String> = clients.into_iter().map(|c| c.client_id).collect();
        ids.sort();
        ids
    };
    let mut expected = vec![
        web.client_id.clone(),
        public.client_id.clone(),
        third.client_id.clone(),
    ];
    expected.sort();
    assert_eq!(ids(hydra.list_clients().await.unwrap()), expected);
    // One client per page: the Link header has to be followed to the end.
    assert_eq!(ids(hydra.list_clients_paged(1).await.unwrap()), expected);

    let duplicate = hydra
        .create_client(&NewClient {
            client_id: Some("mobile app?1".into()),
            ..web_client("Again")
        })
        .await
        .unwrap_err();
    assert!(
        matches!(duplicate, HydraError::Conflict { .. }),
        "{duplicate:?}"
    );

    let refused = hydra
        .create_client(&NewClient {
            redirect_uris: vec!["https://app.example/cb#fragment".into()],
            ..web_client("Bad")
        })
        .await
        .unwrap_err();
    match refused {
        HydraError::BadRequest {
            error, description, ..
        } => {
            assert_eq!(error, "invalid_redirect_uri");
            assert!(description.contains("fragment"), "{description}");
        }
        other => panic!("expected BadRequest, got {other:?}"),
    }

    hydra.delete_client("mobile app?1").await.unwrap();
    for gone in [
        hydra.get_client("mobile app?1").await.map(drop),
        hydra.delete_client("mobile app?1").await,
        hydra.get_client("..").await.map(drop),
    ] {
        let error = gone.unwrap_err();
        assert!(matches!(error, HydraError::NotFound { .. }), "{error:?}");
    }
    assert_eq!(hydra.list_clients().await.unwrap().len(), 2);
}

#[tokio::test]
async fn introspection_tells_live_tokens_from_garbage() {
    let app = TestApp::spawn().await;
    let hydra = app.hydra_client();
    let machine = hydra
        .create_client(&NewClient {
            client_name: "machine".into(),
            grant_types: vec!["client_credentials".into()],
            scope: "read write".into(),
            token_endpoint_auth_method: "client_secret_basic".into(),
            ..NewClient::default()
        })
        .await
        .unwrap();
    let secret = machine.client_secret.clone().unwrap_or_default();
    let token: Value = app
        .client_credentials(&machine.client_id, &secret, "read")
        .await
        .json()
        .await
        .unwrap();
    let access_token = token["access_token"].as_str().expect("access_token");

    let active = hydra.introspect(access_token, None).await.unwrap();
    assert!(active.active, "{active:?}");
    assert_eq!(
        active.client_id.as_deref(),
        Some(machine.client_id.as_str())
    );
    assert_eq!(active.scope.as_deref(), Some("read"));
    assert_eq!(active.token_use.as_deref(), Some("access_token"));
    assert!(active.exp.unwrap_or_default() > active.iat.unwrap_or(i64::MAX));

    let with_scope = hydra.introspect(access_token, Some("read")).await.unwrap();
    assert!(with_scope.active);
    let without_scope = hydra.introspect(access_token, Some("write")).await.unwrap();
    assert!(
        !without_scope.active,
        "a token without the asked-for scope does not count: {without_scope:?}"
    );

    for garbage in ["garbage", "ory_at_x.y", ""] {
        match hydra.introspect(garbage, None).await {
            Ok(inactive) => assert!(!inactive.active, "{garbage:?}: {inactive:?}"),
            // Hydra refuses an empty token outright.
            Err(HydraError::BadRequest { .. }) if garbage.is_empty() => {}
            Err(other) => panic!("{garbage:?}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn unknown_challenges_are_not_found() {
    let app = TestApp::spawn().await;
    let hydra = app.hydra_client();
    let accept = AcceptLogin {
        subject: "user-1".into(),
        ..AcceptLogin::default()
    };
    let reject = Reject {
        error: "access_denied".into(),
        error_description: "no".into(),
        ..Reject::default()
    };
    let results = [
        (
            "login_request",
            hydra.login_request("garbage").await.map(drop),
        ),
        (
            "accept_login",
            hydra.accept_login("garbage", &accept).await.map(drop),
        ),
        (
            "reject_login",
            hydra.reject_login("garbage", &reject).await.map(drop),
        ),
        (
            "consent_request",
            hydra.consent_request("garbage&x=y").await.map(drop),
        ),
        (
            "logout_request",
            hydra.logout_request("garbage").await.map(drop),
        ),
        ("reject_logout", hydra.reject_logout("garbage").await),
    ];
    for (call, result) in results {
        let error = result.unwrap_err();
        assert!(
            matches!(error, HydraError::NotFound { .. }),
            "{call}: {error:?}"
        );
    }
    // An empty challenge is a malformed request, not an unknown one.
    let empty = hydra.login_request("").await.unwrap_err();
    assert!(
        matches!(&empty, HydraError::BadRequest { error, .. } if error == "invalid_request"),
        "{empty:?}"
    );
}

#[tokio::test]
async fn login_consent_and_logout_through_the_admin_api() {
    let app = TestApp::spawn().await;
    let hydra = app.hydra_client();
    let client = hydra.create_client(&web_client("Web shop")).await.unwrap();
    let secret = client.client_secret.clone().unwrap_or_default();
    let browser = HttpBrowser::new();

    // The app sends the browser to the authorization endpoint on the public port.
    let authorize = Url::parse_with_params(
        &app.url("/oauth2/auth"),
        &[
            ("client_id", client.client_id.as_str()),
            ("response_type", "code"),
            ("scope", "openid phone"),
            ("redirect_uri", REDIRECT_URI),
            ("state", "state-1234567890"),
            ("login_hint", "+41790000000"),
            ("ui_locales", "de-CH en"),
        ],
    )
    .unwrap();
    let to_login = browser.redirect_target(authorize.as_str()).await;
    assert!(to_login.starts_with(&app.url("/login?")), "{to_login}");
    let login_challenge = query_param(&to_login, "login_challenge").expect("login_challenge");

    let login = hydra.login_request(&login_challenge).await.unwrap();
    assert_eq!(login.challenge, login_challenge);
    assert!(!login.skip);
    assert_eq!(login.subject, "");
    assert_eq!(login.client.client_id, client.client_id);
    assert_eq!(login.client.client_name, "Web shop");
    assert_eq!(login.client.client_secret, None);
    assert_eq!(login.requested_scope, ["openid", "phone"]);
    assert_eq!(
        login.oidc_context.login_hint.as_deref(),
        Some("+41790000000")
    );
    assert_eq!(login.oidc_context.ui_locales, ["de-CH", "en"]);
    assert!(login.request_url.contains("/oauth2/auth?"), "{login:?}");
    let session_id = login.session_id.clone().expect("session_id");

    let accept = AcceptLogin {
        subject: "user-1".into(),
        remember: true,
        remember_for: 3600,
        amr: vec!["sms".into()],
        context: json!({"phone": "+41790000000"}),
        ..AcceptLogin::default()
    };
    let accepted = hydra.accept_login(&login_challenge, &accept).await.unwrap();
    assert!(
        accepted.redirect_to.starts_with(&app.url("/oauth2/auth?")),
        "{accepted:?}"
    );
    assert!(query_param(&accepted.redirect_to, "login_verifier").is_some());

    // Hydra v2.3.0 login challenges are stateless: handling one again is not
    // refused (no 410) and yields a fresh verifier. The login page cannot rely
    // on Hydra to catch a double submit.
    let again = hydra.accept_login(&login_challenge, &accept).await.unwrap();
    assert_ne!(again.redirect_to, accepted.redirect_to);
    assert!(hydra.login_request(&login_challenge).await.is_ok());

    let to_consent = browser.redirect_target(&accepted.redirect_to).await;
    assert!(
        to_consent.starts_with(&app.url("/consent?")),
        "{to_consent}"
    );
    let consent_challenge = query_param(&to_consent, "consent_challenge").expect("challenge");

    let consent = hydra.consent_request(&consent_challenge).await.unwrap();
    assert_eq!(consent.challenge, consent_challenge);
    assert_eq!(consent.subject, "user-1");
    assert_eq!(consent.client.client_id, client.client_id);
    assert_eq!(consent.requested_scope, ["openid", "phone"]);
    assert_eq!(
        consent.login_session_id.as_deref(),
        Some(session_id.as_str())
    );
    assert!(consent.login_challenge.is_some(), "{consent:?}");
    assert_eq!(consent.amr, ["sms"]);
    assert_eq!(consent.context, json!({"phone": "+41790000000"}));
    assert!(!consent.skip);

    let mut id_token = serde_json::Map::new();
    id_token.insert("phone_number".into(), json!("+41790000000"));
    let mut access_token = serde_json::Map::new();
    access_token.insert("tier".into(), json!("gold"));
    let granted = hydra
        .accept_consent(
            &consent_challenge,
            &AcceptConsent {
                grant_scope: vec!["openid".into(), "phone".into()],
                remember: true,
                remember_for: 3600,
                session: ConsentSession {
                    id_token,
                    access_token,
                },
                ..AcceptConsent::default()
            },
        )
        .await
        .unwrap();
    let back_to_app = browser.redirect_target(&granted.redirect_to).await;
    assert!(back_to_app.starts_with(REDIRECT_URI), "{back_to_app}");
    let code = query_param(&back_to_app, "code").expect("authorization code");
    assert_eq!(
        query_param(&back_to_app, "state").as_deref(),
        Some("state-1234567890")
    );

    // The consent verifier, unlike the challenges, is single use.
    let replay = browser.redirect_target(&granted.redirect_to).await;
    assert_eq!(
        query_param(&replay, "error").as_deref(),
        Some("access_denied"),
        "{replay}"
    );

    let tokens: Value = app
        .http
        .post(app.url("/oauth2/token"))
        .basic_auth(&client.client_id, Some(&secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access_token = tokens["access_token"].as_str().expect("access token");
    let introspection = hydra.introspect(access_token, None).await.unwrap();
    assert!(introspection.active);
    assert_eq!(introspection.sub.as_deref(), Some("user-1"));
    assert_eq!(introspection.scope.as_deref(), Some("openid phone"));
    assert_eq!(introspection.ext["tier"], "gold", "{introspection:?}");

    // Logout: the browser still has Hydra's session cookie.
    let to_logout = browser
        .redirect_target(&app.url("/oauth2/sessions/logout"))
        .await;
    let logout_challenge = query_param(&to_logout, "logout_challenge").expect("logout");
    let logout = hydra.logout_request(&logout_challenge).await.unwrap();
    assert_eq!(logout.subject, "user-1");
    assert_eq!(logout.sid.as_deref(), Some(session_id.as_str()));
    assert!(!logout.rp_initiated);
    assert!(logout.client.is_none());
    // Rejecting answers 204 without a body, and forgets the request.
    hydra.reject_logout(&logout_challenge).await.unwrap();
    let forgotten = hydra.logout_request(&logout_challenge).await.unwrap_err();
    assert!(
        matches!(forgotten, HydraError::NotFound { .. }),
        "{forgotten:?}"
    );

    let to_logout = browser
        .redirect_target(&app.url("/oauth2/sessions/logout"))
        .await;
    let logout_challenge = query_param(&to_logout, "logout_challenge").expect("logout");
    let accepted = hydra.accept_logout(&logout_challenge).await.unwrap();
    assert!(
        query_param(&accepted.redirect_to, "logout_verifier").is_some(),
        "{accepted:?}"
    );
    let logged_out = browser.redirect_target(&accepted.redirect_to).await;
    assert_eq!(logged_out, app.url("/logged-out"));
    // Only now, with the verifier used, does Hydra call the request handled.
    match hydra.logout_request(&logout_challenge).await {
        Err(HydraError::Gone { redirect_to, .. }) => {
            assert_eq!(redirect_to.as_deref(), Some("/oauth2/sessions/logout"))
        }
        other => panic!("expected Gone, got {other:?}"),
    }

    hydra.revoke_login_sessions("user-1").await.unwrap();
    hydra
        .revoke_consent_sessions("user-1", Some(&client.client_id))
        .await
        .unwrap();
    let revoked = hydra.introspect(access_token, None).await.unwrap();
    assert!(!revoked.active, "revoking consent revokes its tokens");
    hydra.revoke_consent_sessions("nobody", None).await.unwrap();
}
