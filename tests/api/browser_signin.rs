//! A real browser signs in: headless Chromium types into gatehouse's pages,
//! Hydra issues the tokens. Screenshots land in test-artifacts/.

use std::time::Duration;

use crate::helpers::chromium::{artifacts_dir, Chromium};
use crate::helpers::eventually;
use crate::helpers::http_browser::query_param;
use crate::helpers::oauth::verify_jwt;
use crate::helpers::world::{trusted, World};
use gatehouse::config::{BotChallengeKind, ChallengeApply};
use gatehouse::infra::random::random_hex;
use gatehouse::signin::bot_challenge::pow;
use serde_json::json;

#[tokio::test]
async fn chromium_signs_in_with_a_phone_code_and_consents() {
    let world = World::new().await;
    let (app, sms, callback) = (&world.app, &world.sms, &world.callback);
    let client = world.client(json!({"client_name": "Acme Notes"})).await;
    let auth = client.authorize(app, "openid profile phone offline_access");
    let phone = "+12015550160";

    let browser = phone_page(&auth.url).await;
    assert!(browser
        .text("h1")
        .await
        .unwrap()
        .contains("Sign in to Acme Notes"));
    browser.screenshot("signin-1-phone").await.unwrap();
    browser.assert_no_console_errors("the phone page").await;

    browser.fill("#phone", "+1 201 555 0160").await.unwrap();
    browser.click("button[value=send]").await.unwrap();
    browser
        .wait_for("#code", Duration::from_secs(10))
        .await
        .unwrap();
    let notice = browser.text(".notice").await.unwrap();
    assert!(notice.contains("We sent a code to"), "{notice}");
    browser.screenshot("signin-2-code").await.unwrap();

    let code = sms.code_for(phone).await;
    // People type codes with spaces; the page accepts that.
    let typed = format!("{} {}", &code[..3], &code[3..]);
    browser.fill("#code", &typed).await.unwrap();
    // Typing makes the browser check the field's `pattern`.
    browser.assert_no_console_errors("the code page").await;
    browser.click("input[name=remember]").await.unwrap();
    browser.click("button[value=verify]").await.unwrap();

    browser
        .wait_for("button[value=allow]", Duration::from_secs(10))
        .await
        .unwrap();
    let page = browser.text("main").await.unwrap();
    for expected in [
        "Acme Notes",
        "See your name",
        "See your phone number",
        phone,
    ] {
        assert!(
            page.contains(expected),
            "consent page lacks {expected:?}: {page}"
        );
    }
    // Hold back the name, with the keyboard alone: space unticks the box,
    // Enter on "Allow" answers. The screenshot shows the unticked box.
    let profile = "input[name=scope][value=profile]";
    assert!(
        browser.is_checked(profile).await.unwrap(),
        "ticked by default"
    );
    browser.press(profile, " ").await.unwrap();
    assert!(
        !browser.is_checked(profile).await.unwrap(),
        "space unticks it"
    );
    browser.screenshot("signin-3-consent").await.unwrap();
    browser.assert_no_console_errors("the consent page").await;
    browser
        .press("button[value=allow]", "\u{e007}")
        .await
        .unwrap();

    // The browser lands on the client's callback with a code and our state.
    eventually(
        Duration::from_secs(10),
        "the callback received the browser",
        || !callback.received().is_empty(),
    )
    .await;
    let landed = format!("http://x{}", callback.received()[0].uri);
    let param = |name: &str| query_param(&landed, name);
    assert_eq!(param("state").as_deref(), Some(auth.state.as_str()));
    let code = param("code").expect("authorization code");
    let (status, tokens) = client.exchange(app, &code, &auth.verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = verify_jwt(app, tokens["id_token"].as_str().unwrap(), Some(&client.id)).await;
    assert_eq!(claims["phone_number"], phone);
    assert!(tokens["refresh_token"].is_string());
    assert_eq!(
        tokens["scope"], "openid phone offline_access",
        "the unticked profile is not granted"
    );

    for shot in ["signin-1-phone", "signin-2-code", "signin-3-consent"] {
        let png = std::fs::read(artifacts_dir().join(format!("{shot}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{shot} is a PNG");
    }
    browser.close().await.unwrap();
}

/// The proof of work at the default difficulty, solved by the real page's
/// script in Chromium: the code goes out for the browser's solution. Also
/// measures that script: fresh challenges of the real shape, solved at this
/// machine's speed and four times slower (Chrome's CPU throttling; Lighthouse
/// takes 4x for a mid-range phone). Each solution is checked here in Rust,
/// so the script's SHA-256 is checked too. The times are printed and saved
/// to test-artifacts/pow-solve-times.txt (BENCHMARKS.md quotes them).
#[tokio::test]
async fn chromium_solves_the_proof_of_work_before_a_code_is_sent() {
    let world = World::with(|config| {
        config.bot_challenge.kind = BotChallengeKind::ProofOfWork;
        config.bot_challenge.apply = ChallengeApply::Always;
    })
    .await;
    let difficulty = world.app.config.bot_challenge.difficulty;
    let client = world.client(trusted()).await;
    let auth = client.authorize(&world.app, "openid");
    let phone = "+12015550161";
    let browser = phone_page(&auth.url).await;
    assert!(
        browser.text("#pow-status").await.is_ok(),
        "the check is shown"
    );
    // The page's own solve first, so that it does not share the CPU.
    let solved = "return document.querySelector('input[name=pow_solution]').value";
    for _ in 0..100 {
        let value = browser.client().execute(solved, vec![]).await.unwrap();
        if value.as_str().is_some_and(|v| !v.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut report = format!("proof of work, difficulty {difficulty} bits, Chromium (headless)\n");
    for rate in [1.0, 4.0] {
        browser.throttle_cpu(rate).await.unwrap();
        let times = solve_times(&browser, difficulty, 30).await;
        report.push_str(&summary(&format!("CPU {rate}x slower"), &times));
    }
    println!("{report}");
    std::fs::create_dir_all(artifacts_dir()).unwrap();
    std::fs::write(artifacts_dir().join("pow-solve-times.txt"), &report).unwrap();

    // A fresh page, still at phone speed: typed and sent at once, "Send
    // code" waits for the solution, then goes.
    browser.client().refresh().await.unwrap();
    browser.fill("#phone", "+1 201 555 0161").await.unwrap();
    browser.click("button[value=send]").await.unwrap();
    browser
        .wait_for("#code", Duration::from_secs(30))
        .await
        .unwrap();
    let code = world.sms.code_for(phone).await;
    browser.fill("#code", &code).await.unwrap();
    browser.click("button[value=verify]").await.unwrap();
    eventually(
        Duration::from_secs(10),
        "the callback received the browser",
        || !world.callback.received().is_empty(),
    )
    .await;
    let metrics = world.app.state.metrics.render();
    assert!(
        !metrics.contains("gatehouse_sms_refused_total{"),
        "{metrics}"
    );
    browser.close().await.unwrap();
}

/// A new Chromium at the phone form `url` leads to.
pub(crate) async fn phone_page(url: &str) -> Chromium {
    let browser = Chromium::start().await;
    browser.goto(url).await.unwrap();
    browser
        .wait_for("#phone", Duration::from_secs(10))
        .await
        .unwrap();
    browser
}

/// Solves `runs` fresh challenges with the page's own solver; per run the
/// milliseconds and the hashes tried.
async fn solve_times(browser: &Chromium, difficulty: u8, runs: usize) -> Vec<(f64, u64)> {
    let script = "var done = arguments[arguments.length - 1];
        var started = performance.now();
        window.gatehousePow.solve(arguments[0], arguments[1], function (solution, tries) {
            done([performance.now() - started, tries, solution]);
        });";
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let challenge = format!(
            "1800000000.{difficulty}.{}.{}",
            random_hex(16),
            random_hex(16)
        );
        let args = vec![json!(challenge), json!(difficulty)];
        let answer = browser.client().execute_async(script, args).await.unwrap();
        let solution = answer[2].as_str().unwrap();
        assert!(solution.starts_with(&challenge), "{solution}");
        assert!(
            pow::meets(solution, difficulty),
            "the script's SHA-256: {solution}"
        );
        times.push((answer[0].as_f64().unwrap(), answer[1].as_u64().unwrap()));
    }
    times
}

/// Mean, median, 90th percentile and worst of `times`, and hashes a second.
fn summary(label: &str, times: &[(f64, u64)]) -> String {
    let mut ms: Vec<f64> = times.iter().map(|(ms, _)| *ms).collect();
    ms.sort_by(f64::total_cmp);
    let total_ms: f64 = ms.iter().sum();
    let hashes: u64 = times.iter().map(|(_, tries)| tries).sum();
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    format!(
        "  {label}: {} solves, mean {:.0} ms, median {:.0} ms, p90 {:.0} ms, max {:.0} ms; \
         {:.2} M hashes/s\n",
        ms.len(),
        total_ms / ms.len() as f64,
        at(0.5),
        at(0.9),
        at(1.0),
        hashes as f64 / total_ms / 1000.0
    )
}
