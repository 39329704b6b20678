//! A choice per permission on the consent page (issue 28): only the ticked
//! scopes are granted, and everything downstream follows the grant.

use serde_json::json;

use crate::helpers::http_browser::{form, Hop, HttpBrowser};
use crate::helpers::oauth::{id_token_claims, Authorization, Client};
use crate::helpers::world::World;
use gatehouse::store::users::Profile;

const PHONE: &str = "+12015550401";
const EMAIL: &str = "mary@example.com";

/// A partner app (consent page shown) that may ask for profile and email,
/// and a signed-in Mary, remembered by `browser`.
async fn world_with_mary() -> (World, Client, HttpBrowser) {
    let world = World::new().await;
    let client = world
        .client(
            json!({"client_name": "Partner App", "scope": "openid profile email offline_access"}),
        )
        .await;
    world
        .app
        .add_user(
            PHONE,
            Profile {
                given_name: Some("Mary".into()),
                email: Some(EMAIL.into()),
                email_verified: true,
                ..Profile::default()
            },
        )
        .await;
    (world, client, HttpBrowser::new())
}

/// Signs Mary in (remembered) and returns the consent page for `scope`.
async fn consent_page(
    world: &World,
    client: &Client,
    browser: &HttpBrowser,
    scope: &str,
) -> (Authorization, Hop) {
    let auth = client.authorize(&world.app, scope);
    let first = world.open(browser, &auth).await;
    let page = if first.body.contains("name=\"phone\"") {
        let accepted = world
            .enter_phone_and_code(browser, &first, PHONE, true)
            .await;
        browser
            .follow(accepted.location.as_deref().unwrap(), &world.callback.url)
            .await
    } else {
        first
    };
    (auth, page)
}

/// Allows with every box the page ticked except `unticked`.
async fn allow_without(
    world: &World,
    browser: &HttpBrowser,
    page: &Hop,
    unticked: &[&str],
    remember: bool,
) -> Hop {
    let mut fields = vec![("action", "allow")];
    if remember {
        fields.push(("remember", "1"));
    }
    let mut answer = form(page, &fields);
    answer.retain(|(name, value)| !(name == "scope" && unticked.contains(&value.as_str())));
    let answer: Vec<(&str, &str)> = answer
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    browser.post(&world.app.url("/consent"), &answer).await
}

/// Is the box for `scope` on `page`, and is it ticked?
fn checkbox(page: &Hop, scope: &str) -> Option<bool> {
    let tag_start = page
        .body
        .find(&format!("name=\"scope\" value=\"{scope}\""))?;
    let tag = &page.body[tag_start..];
    let tag = &tag[..tag.find('>').unwrap()];
    Some(tag.split_whitespace().any(|word| word == "checked"))
}

#[tokio::test]
async fn an_unticked_scope_is_not_granted_and_no_token_carries_it() {
    let (world, client, browser) = world_with_mary().await;
    let (auth, page) = consent_page(&world, &client, &browser, "openid profile email").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(checkbox(&page, "email"), Some(true), "ticked by default");
    assert_eq!(checkbox(&page, "profile"), Some(true));
    assert_eq!(
        checkbox(&page, "openid"),
        None,
        "openid is required, not a box"
    );
    assert!(
        page.body.contains(EMAIL),
        "what email shares: {}",
        page.body
    );

    let allowed = allow_without(&world, &browser, &page, &["email"], false).await;
    let callback = world.follow_to_callback(&browser, &allowed).await;
    let tokens = world.redeem(&client, &auth, &callback).await;
    assert_eq!(tokens["scope"], "openid profile", "{tokens}");
    let id_token = id_token_claims(&world.app, &tokens, &client.id).await;
    assert_eq!(id_token["given_name"], "Mary");
    assert!(id_token.get("email").is_none(), "{id_token}");
    assert!(id_token.get("email_verified").is_none(), "{id_token}");
    let info = world
        .app
        .userinfo(tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info["given_name"], "Mary", "{info}");
    assert!(info.get("email").is_none(), "{info}");
    let introspected = world
        .app
        .introspect(tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(introspected["scope"], "openid profile", "{introspected}");
}

#[tokio::test]
async fn a_remembered_partial_grant_skips_the_page_until_the_held_back_scope_is_asked_for() {
    let (world, client, browser) = world_with_mary().await;
    let (_, page) = consent_page(&world, &client, &browser, "openid profile email").await;
    let allowed = allow_without(&world, &browser, &page, &["email"], true).await;
    world.follow_to_callback(&browser, &allowed).await;

    // Asking for what was granted: no page.
    let auth = client.authorize(&world.app, "openid profile");
    let callback = browser.follow(&auth.url, &world.callback.url).await;
    let tokens = world.redeem(&client, &auth, &callback).await;
    assert_eq!(tokens["scope"], "openid profile");

    // Asking for email again: the page, with email unticked.
    let (_, again) = consent_page(&world, &client, &browser, "openid profile email").await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(
        checkbox(&again, "email"),
        Some(false),
        "held back last time"
    );
    assert_eq!(checkbox(&again, "profile"), Some(true));
}

#[tokio::test]
async fn unticking_everything_but_openid_is_an_answer() {
    let (world, client, browser) = world_with_mary().await;
    let (auth, page) = consent_page(&world, &client, &browser, "openid profile email").await;
    let allowed = allow_without(&world, &browser, &page, &["profile", "email"], false).await;
    let callback = world.follow_to_callback(&browser, &allowed).await;
    let tokens = world.redeem(&client, &auth, &callback).await;
    assert_eq!(tokens["scope"], "openid");
    let id_token = id_token_claims(&world.app, &tokens, &client.id).await;
    assert!(id_token.get("given_name").is_none(), "{id_token}");
}

#[tokio::test]
async fn a_crafted_form_cannot_add_a_scope() {
    let (world, client, browser) = world_with_mary().await;
    let (_, page) = consent_page(&world, &client, &browser, "openid profile").await;
    // `email` is allowed for the client but was not requested; `admin` is
    // neither; an empty scope is nothing.
    for extra in ["email", "admin", "", "profile email"] {
        let mut answer = form(&page, &[("action", "allow")]);
        answer.push(("scope".into(), extra.into()));
        let answer: Vec<(&str, &str)> = answer
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let refused = browser.post(&world.app.url("/consent"), &answer).await;
        assert_eq!(refused.status, 400, "{extra:?}: {}", refused.body);
    }
    // The page is not bypassed: the real answer still works.
    let allowed = allow_without(&world, &browser, &page, &[], false).await;
    assert_eq!(allowed.status, 303, "{}", allowed.body);
}

#[tokio::test]
async fn trusted_clients_still_get_everything_they_ask_for() {
    let world = World::new().await;
    let client = world
        .client(json!({"skip_consent": true, "scope": "openid profile email"}))
        .await;
    let tokens = world
        .sign_in(
            &HttpBrowser::new(),
            &client,
            "+12015550402",
            "openid profile email",
            false,
        )
        .await;
    assert_eq!(tokens["scope"], "openid profile email");
}

#[tokio::test]
async fn each_box_has_a_label_and_a_description() {
    let (world, client, browser) = world_with_mary().await;
    let (_, page) = consent_page(
        &world,
        &client,
        &browser,
        "openid profile email offline_access",
    )
    .await;
    for scope in ["profile", "email", "offline_access"] {
        let id = format!("scope-{}", scope.replace('_', "-5f"));
        assert!(
            page.body
                .contains(&format!("<label class=\"check\" for=\"{id}\">")),
            "{scope}: {}",
            page.body
        );
        assert!(page.body.contains(&format!("id=\"{id}\"")), "{scope}");
        assert!(
            page.body
                .contains(&format!("aria-describedby=\"{id}-shares\"")),
            "{scope}"
        );
    }
    assert!(page.body.contains("<legend>"), "the group is named");
}

/// The consent page for a partner app whose `logo_uri` is `logo_uri`: the
/// page and its Content-Security-Policy.
async fn consent_page_with_logo(logo_uri: &str) -> (String, String) {
    let world = World::new().await;
    let metadata =
        json!({"client_name": "Logo App", "scope": "openid profile", "logo_uri": logo_uri});
    let client = world.client(metadata).await;
    world.app.add_user(PHONE, Profile::default()).await;
    let (_, page) = consent_page(&world, &client, &HttpBrowser::new(), "openid profile").await;
    assert!(page.body.contains("Logo App"), "{}", page.body);
    let policy = page.headers["content-security-policy"].to_str().unwrap();
    (page.body, policy.to_string())
}

#[tokio::test]
async fn the_clients_https_logo_is_shown_and_allowed_for_that_one_image() {
    let logo = "https://cdn.example.com/logo-app/logo.png?v=2";
    let (page, policy) = consent_page_with_logo(logo).await;
    let img = format!("src=\"{}\"", logo);
    assert!(page.contains(&img), "{page}");
    assert!(page.contains("referrerpolicy=\"no-referrer\""), "{page}");
    let allowed = "img-src 'self' data: https://cdn.example.com/logo-app/logo.png;";
    assert!(policy.contains(allowed), "{policy}");
    assert!(!policy.contains("script-src"), "{policy}");
}

#[tokio::test]
async fn a_crafted_logo_uri_shows_nothing_and_leaves_the_policy_alone() {
    let crafted = "https://cdn.example.com/x.png;script-src%20'unsafe-inline'";
    let (page, policy) = consent_page_with_logo(crafted).await;
    assert!(!page.contains("client-logo"), "{page}");
    assert_eq!(
        policy,
        "default-src 'none'; style-src 'self'; img-src 'self' data:; \
         frame-ancestors 'none'; base-uri 'none'"
    );
}
