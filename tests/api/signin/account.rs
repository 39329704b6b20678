//! `/account`: a person's own passkeys and apps, behind gatehouse's own
//! sign-in through Hydra (a first-party client of itself). Another
//! person's method cannot be renamed or removed; a form without this
//! session's CSRF token is refused; no session leads to the sign-in; the
//! last way in stays; a removal needs a recent sign-in.

use std::collections::HashSet;

use crate::audit::audit_rows;
use crate::helpers::http_browser::{form, Hop, HttpBrowser};
use crate::helpers::world::World;
use crate::signin::manage::{with_app, with_passkey};
use crate::signin::methods::{app_code, now};
use gatehouse::config::{Countries, LoginMethod, PolicyMode};
use gatehouse::infra::clock::Clock;
use gatehouse::store::passkeys;
use gatehouse::store::users::Profile;

async fn world() -> World {
    crate::signin::manage::world().await
}

/// Follows redirects from `url` (through Hydra, gatehouse's own callback
/// and back to the page) until a page answers.
async fn through(world: &World, browser: &HttpBrowser, url: &str) -> Hop {
    let _ = world;
    let mut at = url::Url::parse(url).unwrap();
    let mut hop = browser.get(at.as_str()).await;
    for _ in 0..12 {
        let Some(next) = hop.location.clone() else {
            return hop;
        };
        at = at.join(&next).unwrap();
        hop = browser.get(at.as_str()).await;
    }
    panic!("too many redirects");
}

/// Signs `phone` in to the account page by text (declining an offer of
/// another method on the way); returns the page.
async fn signed_in(world: &World, browser: &HttpBrowser, phone: &str) -> Hop {
    let login = through(world, browser, &world.app.url("/account")).await;
    let accepted = world
        .enter_phone_and_code(browser, &login, phone, false)
        .await;
    let mut location = accepted.location.clone().expect("accepted");
    if location == "/enrol" {
        let offer = browser.get(&world.app.url("/enrol")).await;
        let declined = browser
            .submit(&world.app, &offer, "/enrol", &[("action", "skip")])
            .await;
        location = declined.location.expect("on to Hydra");
    }
    let page = through(world, browser, &location).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Your sign-in methods"), "{}", page.body);
    page
}

/// Posts the page's form of method `id` with `fields`.
async fn post(
    world: &World,
    browser: &HttpBrowser,
    page: &Hop,
    id: &str,
    fields: &[(&str, &str)],
) -> Hop {
    let mut all = form(page, fields);
    all.retain(|(name, _)| name != "id" && name != "name");
    all.push(("id".into(), id.into()));
    if let Some((_, name)) = fields.iter().find(|(k, _)| *k == "name") {
        all.push(("name".into(), name.to_string()));
    }
    let all: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    browser.post(&world.app.url("/account"), &all).await
}

async fn names(world: &World, subject: &str) -> Vec<String> {
    let owner = subject.to_string();
    let store = world.app.store();
    let keys = store.run(move |db| passkeys::of(db, &owner)).await.unwrap();
    keys.into_iter().map(|k| k.name).collect()
}

#[tokio::test]
async fn a_person_renames_and_removes_their_own_methods_and_nobody_elses() {
    let world = world().await;
    let alice_phone = "+12015550701";
    let (alice, app, _) = with_app(&world, alice_phone).await;
    let alices = with_passkey(&world, &alice, "Laptop").await;
    let bob = world.app.add_user("+12015550702", Profile::default()).await;
    let bobs = with_passkey(&world, &bob.id, "Phone").await;

    // No session: the page starts gatehouse's own sign-in; a form goes there too.
    let stranger = HttpBrowser::new();
    let start = stranger.get(&world.app.url("/account")).await;
    assert_eq!(start.status, 303, "{}", start.body);
    let to = start.location.unwrap();
    assert!(
        to.contains("/oauth2/auth") && to.contains("client_id=gatehouse-account"),
        "{to}"
    );
    let blind = stranger
        .post(
            &world.app.url("/account"),
            &[("action", "remove"), ("id", &alices)],
        )
        .await;
    assert_eq!(blind.status, 303);
    assert_eq!(blind.location.as_deref(), Some("/account/signin"));

    let browser = HttpBrowser::new();
    let page = signed_in(&world, &browser, alice_phone).await;
    assert!(
        page.body.contains("Laptop") && page.body.contains("Authenticator app"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Phone\""), "not Bob's: {}", page.body);

    let renamed = post(
        &world,
        &browser,
        &page,
        &alices,
        &[("action", "rename"), ("name", "Work laptop")],
    )
    .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(names(&world, &alice).await, ["Work laptop"]);

    // Bob's passkey by its id, from Alice's page: not hers.
    let crossed = post(
        &world,
        &browser,
        &page,
        &bobs,
        &[("action", "rename"), ("name", "mine")],
    )
    .await;
    assert_eq!(crossed.status, 404, "{}", crossed.body);
    let crossed = post(&world, &browser, &page, &bobs, &[("action", "remove")]).await;
    assert_eq!(crossed.status, 404, "{}", crossed.body);
    assert_eq!(
        names(&world, &bob.id).await,
        ["Phone"],
        "Bob's stays as it was"
    );

    // Without the form's token, and with another session's token.
    let bare = browser
        .post(
            &world.app.url("/account"),
            &[("action", "remove"), ("id", &alices)],
        )
        .await;
    assert_eq!(bare.status, 403, "{}", bare.body);
    let bob_browser = HttpBrowser::new();
    let bob_page = signed_in(&world, &bob_browser, "+12015550702").await;
    let foreign = crate::helpers::http_browser::hidden_inputs(&bob_page.body)["csrf"].clone();
    let forged = browser
        .post(
            &world.app.url("/account"),
            &[("action", "remove"), ("id", &alices), ("csrf", &foreign)],
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert_eq!(names(&world, &alice).await.len(), 1, "still there");

    // Her own: removed, and recorded.
    let removed = post(&world, &browser, &page, &alices, &[("action", "remove")]).await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert!(names(&world, &alice).await.is_empty());
    let removed = post(&world, &browser, &page, &app, &[("action", "remove")]).await;
    assert_eq!(removed.status, 200, "texts reach her: {}", removed.body);
    let rows = audit_rows(&world.app.config).await;
    let own: Vec<_> = rows
        .iter()
        .filter(|r| r["kind"] == "method_removed")
        .collect();
    assert_eq!(own.len(), 2, "{rows:?}");
    assert!(own
        .iter()
        .all(|r| r["reason"] == "self_service" && r["subject"] == alice.as_str()));
}

#[tokio::test]
async fn the_last_way_in_stays_where_texts_do_not_reach_the_person() {
    // Texts go to Great Britain only: this US number signs in by app.
    let world = World::with(|config| {
        config.login.methods = vec![LoginMethod::Sms, LoginMethod::Totp];
        config.sms.policy.mode = PolicyMode::Enforce;
        let gb = phonenumber::country::Id::GB;
        config.sms.policy.allowed_countries = Some(Countries::Only(HashSet::from([gb])));
    })
    .await;
    let phone = "+12015550703";
    let (subject, app, secret) = with_app(&world, phone).await;
    let browser = HttpBrowser::new();
    let login = through(&world, &browser, &world.app.url("/account")).await;
    let stage = browser
        .submit(
            &world.app,
            &login,
            "/login",
            &[("action", "app"), ("phone", phone)],
        )
        .await;
    let code = app_code(&secret, now());
    let accepted = browser
        .submit(
            &world.app,
            &stage,
            "/login",
            &[("action", "verify_app"), ("code", &code)],
        )
        .await;
    let page = through(&world, &browser, accepted.location.as_deref().unwrap()).await;
    assert_eq!(page.status, 200, "{}", page.body);

    let refused = post(&world, &browser, &page, &app, &[("action", "remove")]).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(
        refused.body.contains("last way to sign in"),
        "{}",
        refused.body
    );
    // With a passkey next to it, the app may go; then the passkey stays.
    let passkey = with_passkey(&world, &subject, "Key").await;
    let removed = post(&world, &browser, &page, &app, &[("action", "remove")]).await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    let refused = post(&world, &browser, &page, &passkey, &[("action", "remove")]).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(names(&world, &subject).await, ["Key"]);
}

#[tokio::test]
async fn a_removal_needs_a_recent_sign_in() {
    let clock = Clock::manual(now() as i64);
    let world = World::with_clock(clock.clone(), |config| {
        config.login.methods = vec![LoginMethod::Sms, LoginMethod::Totp];
    })
    .await;
    let phone = "+12015550704";
    let (subject, _, _) = with_app(&world, phone).await;
    let passkey = with_passkey(&world, &subject, "Key").await;
    let browser = HttpBrowser::new();
    let page = signed_in(&world, &browser, phone).await;
    clock.advance(6 * 60);
    let stale = post(&world, &browser, &page, &passkey, &[("action", "remove")]).await;
    assert_eq!(stale.status, 303, "{}", stale.body);
    assert_eq!(stale.location.as_deref(), Some("/account/signin?again=1"));
    assert_eq!(names(&world, &subject).await, ["Key"], "not removed");
    // Signing in again asks for proof even though Hydra would remember.
    let again = browser.get(&world.app.url("/account/signin?again=1")).await;
    assert!(again.location.unwrap().contains("prompt=login"));
}
