//! The browser harness itself: real headless Chromium against real gatehouse
//! and Hydra, screenshots, failing look-ups and clean-up.

use std::time::{Duration, Instant};

use crate::helpers::chromium::Chromium;
use crate::helpers::{eventually, process_is_gone, TestApp};
use serde_json::Value;

#[tokio::test]
async fn browser_shows_discovery_through_the_proxy() {
    let app = TestApp::spawn().await;
    let browser = Chromium::start().await;
    let url = app.url("/.well-known/openid-configuration");

    browser.goto(&url).await.unwrap();
    assert_eq!(browser.current_url().await.unwrap().as_str(), url);
    // Chromium shows a JSON response as text in a <pre>.
    let text = browser.text("body").await.unwrap();
    assert!(
        text.contains(&format!(r#""issuer":"{}""#, app.address)),
        "page text does not carry issuer {}: {text}",
        app.address
    );
    let discovery: Value = serde_json::from_str(&text).expect("page text is the JSON document");
    assert_eq!(discovery["issuer"], app.address.as_str());

    let path = browser.screenshot("smoke-discovery").await.unwrap();
    assert!(path.ends_with("test-artifacts/smoke-discovery.png"));
    let png = std::fs::read(&path).unwrap();
    assert!(
        png.len() > 8 && png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG ({} bytes)",
        path.display(),
        png.len()
    );

    browser.close().await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn missing_element_fails_within_the_wait_and_says_where() {
    let browser = Chromium::start().await;
    browser
        .goto("data:text/html,<title>probe</title><p id=here>hello</p>")
        .await
        .unwrap();
    // Look-ups work on this page, so the failure below is about the selector.
    assert_eq!(browser.text("#here").await.unwrap(), "hello");

    let wait = Duration::from_secs(1);
    let started = Instant::now();
    let err = browser
        .wait_for("#missing", wait)
        .await
        .expect_err("no element matches #missing");
    let took = started.elapsed();
    assert!(
        took >= wait && took < wait + Duration::from_secs(3),
        "failed after {took:?}, wait was {wait:?}"
    );
    let message = format!("{err:?}");
    for expected in [
        "#missing",
        "page: data:text/html",
        "<p id=\"here\">hello</p>",
    ] {
        assert!(
            message.contains(expected),
            "{expected:?} not in error: {message}"
        );
    }

    // The other look-ups fail the same way, after `Chromium::wait`.
    let mut browser = browser;
    browser.wait = Duration::from_millis(300);
    assert!(browser.click("#missing").await.is_err());
    assert!(browser.text("#missing").await.is_err());
    browser.close().await.unwrap();
}

#[tokio::test]
async fn default_window_is_phone_sized() {
    let browser = Chromium::start().await;
    // Like a phone, the viewport is device-wide only for pages that ask.
    browser
        .goto("data:text/html,<meta name=viewport content='width=device-width'><p>phone</p>")
        .await
        .unwrap();
    let size = browser
        .client()
        .execute("return [window.innerWidth, window.innerHeight]", vec![])
        .await
        .unwrap();
    assert_eq!(size, serde_json::json!([412, 915]));
    browser.close().await.unwrap();
}

#[tokio::test]
async fn dropping_during_a_panic_ends_chromedriver_and_chromium() {
    let browser = Chromium::start().await;
    browser.goto("data:text/html,<p>up</p>").await.unwrap();
    let pids = browser.process_ids();
    assert!(pids.len() > 1, "chromedriver and Chromium run: {pids:?}");

    let task = tokio::spawn(async move {
        let _browser = browser;
        panic!("a failing test");
    });
    assert!(task.await.unwrap_err().is_panic());

    eventually(Duration::from_secs(10), "browser processes ended", || {
        pids.iter().all(|&pid| process_is_gone(pid))
    })
    .await;
}
