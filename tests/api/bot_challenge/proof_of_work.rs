//! The built-in proof of work: no solution, a wrong one, an expired one and
//! a used one are each refused with no text sent, the same way to the
//! client, and counted apart; a solution the test computes is accepted.

use super::*;
use crate::helpers::answer::Answer;
use crate::helpers::headless::NativeApp;
use gatehouse::infra::clock::Clock;
use reqwest::StatusCode;
use serde_json::json;

const APP: NativeApp = NativeApp {
    id: "pow-app",
    secret: "pow-app-secret-0123456789",
    scope: "openid",
};

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A world asking a proof of work for every code, on a clock the test moves,
/// with a headless app.
async fn world_on(clock: &Clock) -> World {
    let world = World::with_clock(clock.clone(), |config| {
        proof_of_work(config, ChallengeApply::Always);
        config.headless.clients = vec![APP.listed(false)];
    })
    .await;
    APP.register(&world.app, "client_secret_basic").await;
    world
}

#[tokio::test]
async fn the_login_page_sends_a_code_only_for_a_fresh_solution_of_its_challenge() {
    let (logs, _capture) = crate::helpers::capture_logs();
    let clock = Clock::manual(unix_now());
    let world = world_on(&clock).await;
    let browser = HttpBrowser::new();
    let phone = "+12015550171";
    let page = login_page(&world, &browser).await;
    let challenge = page_challenge(&page.body).expect("the phone page carries a challenge");
    assert!(page.body.contains("<noscript>"), "{}", page.body);
    assert!(
        page.body.contains("src=\"/assets/pow.js\""),
        "{}",
        page.body
    );
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    let script = browser.get(&world.app.url("/assets/pow.js")).await;
    assert_eq!(script.status, 200);
    assert!(script.body.contains("gatehousePow"));

    let missing = send(&world, &browser, &page, phone, &[]).await;
    assert_refused(&missing);
    let wrong = wrong_solution(&challenge);
    let wrong = send_solved(&world, &browser, &missing, phone, &wrong).await;
    assert_refused(&wrong);
    // Solved in time, sent too late.
    let late = solved(&wrong);
    clock.advance(TTL.as_secs() as i64);
    let expired = send_solved(&world, &browser, &wrong, phone, &late).await;
    assert_refused(&expired);
    assert_eq!(
        texts_to(&world, phone).await,
        0,
        "no text for a refused proof"
    );

    let solution = solved(&expired);
    let code_page = send_solved(&world, &browser, &expired, phone, &solution).await;
    assert_code_page(&code_page);
    world.sms.code_for(phone).await;
    // The same solution again (a new code asked for with it) is refused.
    let again = [("action", "resend"), ("pow_solution", solution.as_str())];
    let reused = browser
        .submit(&world.app, &code_page, "/login", &again)
        .await;
    assert_refused(&reused);
    assert!(reused.body.contains("one-time-code"), "the code form stays");
    assert_eq!(texts_to(&world, phone).await, 1, "one proof, one text");

    for rule in ["missing", "invalid", "expired", "reused"] {
        let rule = format!("bot_challenge_{rule}");
        assert_eq!(refused(&world, &rule), 1, "{rule}");
        let logged = String::from_utf8_lossy(&logs.lock().unwrap()).to_string();
        assert!(logged.contains(&rule), "the log names {rule}");
    }
}

#[tokio::test]
async fn the_headless_api_takes_the_same_proof_and_names_the_missing_field() {
    let clock = Clock::manual(unix_now());
    let world = world_on(&clock).await;
    let phone = "+12015550172";
    let issued: serde_json::Value = world.app.get_json("/api/headless/challenge").await;
    assert_eq!(issued["kind"], "proof_of_work");
    assert_eq!(issued["apply"], "always");
    assert_eq!(issued["difficulty"], DIFFICULTY);
    assert_eq!(issued["expires_in"], TTL.as_secs());
    let first = issued["challenge"].as_str().unwrap().to_string();
    let request = |proof: Option<&str>| {
        let mut body = json!({"phone": phone, "client_id": APP.id});
        if let Some(proof) = proof {
            body["pow_solution"] = json!(proof);
        }
        let world = &world;
        async move { world.post_json("/api/headless/request-otp", &body).await }
    };

    let missing = request(None).await;
    missing.assert_error(StatusCode::FORBIDDEN, "bot_challenge_required");
    missing.assert_names("`pow_solution`");
    let late = pow::solve(&first, DIFFICULTY);
    let wrong = request(Some(&wrong_solution(&first))).await;
    clock.advance(TTL.as_secs() as i64);
    let expired = request(Some(&late)).await;
    let forged = request(Some("1.8.00.00:1")).await;
    for refused in [&wrong, &expired, &forged] {
        assert_same_answer(refused, &missing);
    }
    assert_eq!(texts_to(&world, phone).await, 0);

    let fresh: serde_json::Value = world.app.get_json("/api/headless/challenge").await;
    let fresh = fresh["challenge"].as_str().unwrap().to_string();
    let solution = pow::solve(&fresh, DIFFICULTY);
    let accepted = request(Some(&solution)).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    world.sms.code_for(phone).await;
    assert_same_answer(&request(Some(&solution)).await, &missing);
    assert_eq!(texts_to(&world, phone).await, 1);
    assert_eq!(refused(&world, "bot_challenge_invalid"), 2);
    assert_eq!(refused(&world, "bot_challenge_reused"), 1);
    // The audit trail has each refusal, for the app and the number.
    let sql = format!(
        "SELECT count(*) AS n FROM audit_events WHERE kind = 'code_refused'
         AND reason = 'bot_challenge' AND client_id = '{}' AND phone_masked IS NOT NULL",
        APP.id
    );
    let rows = crate::helpers::white_box::rows(&world.app.config, &sql).await;
    let audited = rows[0]["n"].as_i64().unwrap();
    assert_eq!(audited, 5, "missing, wrong, expired, forged and reused");
}

/// Refusals look alike, whichever check failed.
fn assert_same_answer(answer: &Answer, expected: &Answer) {
    assert_eq!(answer.status, expected.status, "{}", answer.body);
    assert_eq!(answer.body, expected.body);
}

#[tokio::test]
async fn a_used_proof_stays_used_across_a_restart_until_the_purge_drops_it_expired() {
    let world = World::with(|config| {
        proof_of_work(config, ChallengeApply::Always);
        config.headless.clients = vec![APP.listed(false)];
    })
    .await;
    APP.register(&world.app, "client_secret_basic").await;
    let issued: serde_json::Value = world.app.get_json("/api/headless/challenge").await;
    let solution = pow::solve(issued["challenge"].as_str().unwrap(), DIFFICULTY);
    let body = |phone: &str| json!({"phone": phone, "client_id": APP.id, "pow_solution": solution});
    let first = world
        .post_json("/api/headless/request-otp", &body("+12015550173"))
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);

    let world = world.restart().await;
    let again = world
        .post_json("/api/headless/request-otp", &body("+12015550174"))
        .await;
    again.assert_error(StatusCode::FORBIDDEN, "bot_challenge_required");
    assert_eq!(texts_to(&world, "+12015550174").await, 0);

    let store = &world.app.state.store;
    let now = unix_now();
    let purged =
        gatehouse::jobs::purge_expired(store, &Clock::manual(now), &Default::default()).await;
    assert_eq!(
        purged.unwrap().spent_proofs,
        0,
        "kept while it could be used"
    );
    let later = Clock::manual(now + TTL.as_secs() as i64 + 1);
    let purged = gatehouse::jobs::purge_expired(store, &later, &Default::default()).await;
    assert_eq!(purged.unwrap().spent_proofs, 1, "dropped once expired");
}
