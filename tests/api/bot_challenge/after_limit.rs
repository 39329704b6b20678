//! `apply = "after_limit"`: nothing is asked until a client's address or a
//! number has had `free_sends` codes in the hour; then the proof is, and
//! concurrent requests cannot all slip under the count.

use super::*;
use crate::helpers::answer::Answer;
use crate::helpers::headless::NativeApp;
use reqwest::StatusCode;
use serde_json::json;

const APP: NativeApp = NativeApp {
    id: "free-sends-app",
    secret: "free-sends-secret-0123456789",
    scope: "openid",
};
const FREE_SENDS: u32 = 2;

async fn world() -> World {
    let world = World::with(|config| {
        proof_of_work(config, ChallengeApply::AfterLimit);
        config.bot_challenge.free_sends = FREE_SENDS;
        // Several codes to one number in a row.
        config.otp.resend_cooldown = Duration::ZERO;
        config.headless.clients = vec![APP.listed(false)];
    })
    .await;
    APP.register(&world.app, "client_secret_basic").await;
    world
}

/// request-otp from `address` (gatehouse believes X-Forwarded-For from
/// loopback), with `pow_solution` when given.
async fn request_from(world: &World, address: &str, phone: &str, proof: Option<&str>) -> Answer {
    let mut body = json!({"phone": phone, "client_id": APP.id});
    if let Some(proof) = proof {
        body["pow_solution"] = json!(proof);
    }
    let response = world
        .app
        .http
        .post(world.app.url("/api/headless/request-otp"))
        .header("x-forwarded-for", address)
        .json(&body)
        .send()
        .await
        .expect("gatehouse answers");
    Answer::read(response).await
}

async fn solved_challenge(world: &World) -> String {
    let issued: serde_json::Value = world.app.get_json("/api/headless/challenge").await;
    assert_eq!(issued["apply"], "after_limit");
    pow::solve(issued["challenge"].as_str().unwrap(), DIFFICULTY)
}

#[tokio::test]
async fn the_challenge_is_asked_only_once_an_address_or_a_number_had_its_free_codes() {
    let world = world().await;
    // An address: the browser's, 127.0.0.1.
    let browser = HttpBrowser::new();
    let page = login_page(&world, &browser).await;
    assert!(
        page_challenge(&page.body).is_none(),
        "nothing asked at first"
    );
    assert!(!page.body.contains("<script"), "{}", page.body);
    let mut last = None;
    for phone in ["+12015550175", "+12015550176"] {
        let sent = send(&world, &browser, &page, phone, &[]).await;
        assert_code_page(&sent);
        last = Some(sent);
    }
    let code_page = last.unwrap();
    assert!(
        page_challenge(&code_page.body).is_some(),
        "a new code from this address will need the proof"
    );
    let third = "+12015550177";
    let refused_page = send(&world, &browser, &page, third, &[]).await;
    assert_refused(&refused_page);
    assert_eq!(texts_to(&world, third).await, 0);
    let proof = solved(&refused_page);
    let sent = send_solved(&world, &browser, &refused_page, third, &proof).await;
    assert_code_page(&sent);
    assert_eq!(texts_to(&world, third).await, 1);
    let later = login_page(&world, &HttpBrowser::new()).await;
    assert!(
        page_challenge(&later.body).is_some(),
        "asked from the start now"
    );

    // A number, from addresses of its own each time.
    let number = "+12015550178";
    for address in ["198.51.100.1", "198.51.100.2"] {
        let free = request_from(&world, address, number, None).await;
        assert_eq!(free.status, StatusCode::OK, "{}", free.body);
    }
    let asked = request_from(&world, "198.51.100.3", number, None).await;
    asked.assert_error(StatusCode::FORBIDDEN, "bot_challenge_required");
    let proof = solved_challenge(&world).await;
    let proved = request_from(&world, "198.51.100.3", number, Some(&proof)).await;
    assert_eq!(proved.status, StatusCode::OK, "{}", proved.body);
    assert_eq!(texts_to(&world, number).await, 3);
    let fresh = request_from(&world, "198.51.100.4", "+12015550179", None).await;
    assert_eq!(
        fresh.status,
        StatusCode::OK,
        "another number and address are free"
    );
    assert_eq!(refused(&world, "bot_challenge_missing"), 2);
}

#[tokio::test]
async fn concurrent_requests_cannot_all_slip_under_the_free_codes() {
    let world = world().await;
    let phones: Vec<String> = (0..6).map(|n| format!("+1201555{:04}", 181 + n)).collect();
    let answers = futures_util::future::join_all(
        phones
            .iter()
            .map(|phone| request_from(&world, "198.51.100.9", phone, None)),
    )
    .await;
    let statuses: Vec<StatusCode> = answers.iter().map(|a| a.status).collect();
    let sent = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let asked = statuses
        .iter()
        .filter(|s| **s == StatusCode::FORBIDDEN)
        .count();
    assert_eq!((sent, asked), (FREE_SENDS as usize, 4), "{statuses:?}");
    world.app.outbox_drained().await;
    assert_eq!(world.sms.received().len(), FREE_SENDS as usize);
}
