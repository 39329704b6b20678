//! The bot challenge before any code is sent (`[bot_challenge]`): the
//! built-in proof of work through the pages and the headless API
//! (`proof_of_work`), Turnstile and hCaptcha against an HTTPS stand-in of
//! their siteverify endpoints (`captcha`), and when it is asked
//! (`after_limit`). The real browser solving it is in `browser_signin.rs`.

mod after_limit;
mod captcha;
mod proof_of_work;

use std::time::Duration;

use crate::helpers::http_browser::{Hop, HttpBrowser};
use crate::helpers::world::{trusted, World};
use gatehouse::config::{BotChallengeKind, ChallengeApply, Config};
use gatehouse::signin::bot_challenge::pow;

/// The tests' difficulty: about 256 hashes to solve.
const DIFFICULTY: u8 = 8;
/// The tests' challenge lifetime.
const TTL: Duration = Duration::from_secs(60);

/// The proof of work, asked as `apply` says, easy and short-lived.
fn proof_of_work(config: &mut Config, apply: ChallengeApply) {
    let challenge = &mut config.bot_challenge;
    challenge.kind = BotChallengeKind::ProofOfWork;
    challenge.apply = apply;
    challenge.difficulty = DIFFICULTY;
    challenge.ttl = TTL;
}

/// The challenge a page carries (`data-challenge`), if any.
fn page_challenge(body: &str) -> Option<String> {
    let start = body.find("data-challenge=\"")? + "data-challenge=\"".len();
    let end = body[start..].find('"')? + start;
    Some(body[start..end].to_string())
}

/// A page's challenge, solved.
fn solved(page: &Hop) -> String {
    let challenge = page_challenge(&page.body)
        .unwrap_or_else(|| panic!("no challenge on the page: {}", page.body));
    pow::solve(&challenge, DIFFICULTY)
}

/// An answer to `challenge` whose hash does not begin with enough zeros.
fn wrong_solution(challenge: &str) -> String {
    (0..)
        .map(|n| format!("{challenge}:{n}"))
        .find(|solution| !pow::meets(solution, DIFFICULTY))
        .unwrap()
}

/// The error paragraph of a page.
fn page_error(body: &str) -> &str {
    let start = body
        .find("role=\"alert\"")
        .unwrap_or_else(|| panic!("no error on the page: {body}"));
    let rest = &body[start..];
    let rest = &rest[rest.find('>').unwrap() + 1..];
    &rest[..rest.find("</p>").unwrap()]
}

/// `gatehouse_sms_refused_total{rule}` so far.
fn refused(world: &World, rule: &str) -> u64 {
    let metrics = world.app.state.metrics.render();
    let prefix = format!("gatehouse_sms_refused_total{{rule=\"{rule}\",mode=\"enforce\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map_or(0, |count| count.trim().parse().unwrap())
}

/// How many texts went to `phone`, once nothing is left to send.
async fn texts_to(world: &World, phone: &str) -> usize {
    world.app.outbox_drained().await;
    let received = world.sms.received();
    received
        .iter()
        .filter(|r| r.json()["phone"] == phone)
        .count()
}

/// A trusted client's login page, opened in `browser`.
async fn login_page(world: &World, browser: &HttpBrowser) -> Hop {
    let client = world.client(trusted()).await;
    let auth = client.authorize(&world.app, "openid");
    let page = world.open(browser, &auth).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page
}

/// Asks for a code on `page` for `phone`, sending `proof` (form fields).
async fn send(
    world: &World,
    browser: &HttpBrowser,
    page: &Hop,
    phone: &str,
    proof: &[(&str, &str)],
) -> Hop {
    let mut fields = vec![("action", "send"), ("phone", phone)];
    fields.extend_from_slice(proof);
    browser.submit(&world.app, page, "/login", &fields).await
}

/// Asks for a code on `page` for `phone` with the proof of work `solution`.
async fn send_solved(
    world: &World,
    browser: &HttpBrowser,
    page: &Hop,
    phone: &str,
    solution: &str,
) -> Hop {
    send(world, browser, page, phone, &[("pow_solution", solution)]).await
}

/// The code form: the code was sent.
fn assert_code_page(page: &Hop) {
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("one-time-code"), "{}", page.body);
}

/// The page a refused code gets: the one text, and a fresh challenge.
fn assert_refused(page: &Hop) {
    assert_eq!(page.status, 403, "{}", page.body);
    assert_eq!(
        page_error(&page.body),
        crate::helpers::english("bot-check-failed")
    );
}
