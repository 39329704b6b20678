//! A browser's sign-in whose requests alternate between two gatehouse
//! instances on one PostgreSQL (as behind a load balancer without sticky
//! sessions): the challenge memory (first answer, start-again URL) is in
//! the database, so each instance knows what the other saw.

use futures_util::future::join_all;

use super::two_apps::{cluster, Cluster};
use crate::helpers::http_browser::{Hop, HttpBrowser};
use crate::helpers::world::trusted;

/// Posts `page`'s form with `fields` to `path` on instance `n` (even: A, odd: B).
async fn submit_on(
    cluster: &Cluster,
    n: usize,
    browser: &HttpBrowser,
    page: &Hop,
    path: &str,
    fields: &[(&str, &str)],
) -> Hop {
    let url = format!("{}{path}", cluster.address(n));
    browser.submit_at(&url, page, fields).await
}

#[tokio::test]
async fn a_sign_in_alternating_between_instances_works_and_a_double_submit_lands_alike() {
    let cluster = cluster(|_| {}).await;
    let world = &cluster.a;
    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();
    let phone = "+12015550180";
    let auth = client.authorize(&world.app, "openid");
    // The login page from A (Hydra sends the browser to the public URL).
    let login = world.open(&browser, &auth).await;
    assert_eq!(login.status, 200, "{}", login.body);
    // The code asked for on B, and typed on A.
    let code_page = submit_on(
        &cluster,
        1,
        &browser,
        &login,
        "/login",
        &[("action", "send"), ("phone", phone)],
    )
    .await;
    assert_eq!(code_page.status, 200, "{}", code_page.body);
    let code = world.sms.code_for(phone).await;
    let verify = [("action", "verify"), ("code", code.as_str())];
    let first = submit_on(&cluster, 0, &browser, &code_page, "/login", &verify).await;
    assert_eq!(first.status, 303, "{}", first.body);
    // The same form again, on B: B knows A's answer (without it, B would
    // check the used code again and show an error).
    let second = submit_on(&cluster, 1, &browser, &code_page, "/login", &verify).await;
    assert_eq!(second.status, 303, "double submit on B: {}", second.body);
    assert_eq!(first.location, second.location);
    let callback = world.follow_to_callback(&browser, &second).await;
    world.redeem(&client, &auth, &callback).await;
    cluster.stop().await;
}

#[tokio::test]
async fn a_consent_given_on_one_instance_is_the_answer_on_the_other() {
    let cluster = cluster(|_| {}).await;
    let world = &cluster.a;
    let client = world.client(serde_json::json!({})).await;
    let browser = HttpBrowser::new();
    let auth = client.authorize(&world.app, "openid");
    let login = world.open(&browser, &auth).await;
    let accepted = world
        .enter_phone_and_code(&browser, &login, "+12015550181", false)
        .await;
    let consent = browser
        .follow(accepted.location.as_deref().unwrap(), &world.callback.url)
        .await;
    assert!(consent.body.contains("value=\"allow\""), "{}", consent.body);
    let allow = [("action", "allow")];
    let first = submit_on(&cluster, 1, &browser, &consent, "/consent", &allow).await;
    let second = submit_on(&cluster, 0, &browser, &consent, "/consent", &allow).await;
    assert_eq!(first.status, 303, "{}", first.body);
    assert_eq!(second.status, 303, "{}", second.body);
    assert_eq!(first.location, second.location);
    let callback = world.follow_to_callback(&browser, &second).await;
    world.redeem(&client, &auth, &callback).await;
    cluster.stop().await;
}

#[tokio::test]
async fn concurrent_submits_of_one_code_over_both_instances_sign_in_once() {
    let cluster = cluster(|_| {}).await;
    let world = &cluster.a;
    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();
    let phone = "+12015550182";
    let auth = client.authorize(&world.app, "openid");
    let login = world.open(&browser, &auth).await;
    let code_page = world.send_code(&browser, &login, phone).await;
    let code = world.sms.code_for(phone).await;
    let verify = [("action", "verify"), ("code", code.as_str())];
    let hops =
        join_all((0..20).map(|n| submit_on(&cluster, n, &browser, &code_page, "/login", &verify)))
            .await;
    let redirects: Vec<&Hop> = hops.iter().filter(|h| h.status == 303).collect();
    assert!(!redirects.is_empty(), "one submit signs in");
    let statuses: Vec<u16> = hops.iter().map(|h| h.status).collect();
    assert!(
        hops.iter()
            .all(|h| h.status == 303 || (400..500).contains(&h.status)),
        "the others are refused or sent where the first went, never failed: {statuses:?}"
    );
    // One login accepted: every redirect is the first answer's.
    assert!(
        redirects
            .iter()
            .all(|h| h.location == redirects[0].location),
        "{:?}",
        redirects.iter().map(|h| &h.location).collect::<Vec<_>>()
    );
    let callback = world.follow_to_callback(&browser, redirects[0]).await;
    world.redeem(&client, &auth, &callback).await;
    cluster.stop().await;
}
