//! Prometheus metrics on their own listener, moving with real sign-ins.

use crate::helpers::http_browser::HttpBrowser;
use crate::helpers::world::{trusted, World};
use crate::helpers::{free_port, TestApp};
use futures_util::StreamExt;
use gatehouse::infra::random::random_hex;

async fn scrape(url: &str) -> String {
    crate::helpers::http_client()
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of the sample whose line starts with `series`.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn counters_move_after_a_sign_in() {
    let port = free_port();
    let world = World::with(|c| c.metrics.listen = Some(([127, 0, 0, 1], port).into())).await;
    let metrics_url = format!("http://127.0.0.1:{port}/metrics");
    let before = scrape(&metrics_url).await;
    assert_eq!(
        sample(
            &before,
            r#"gatehouse_sign_ins_total{flow="browser",result="success"}"#
        ),
        0.0
    );
    assert!(before.contains("gatehouse_hydra_restarts 0"), "{before}");

    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();
    let tokens = world
        .sign_in(&browser, &client, "+12015550185", "openid", false)
        .await;
    // A second code at once is refused by the cooldown.
    let login = world
        .open(&browser, &client.authorize(&world.app, "openid"))
        .await;
    world.send_code(&browser, &login, "+12015550185").await;
    // Forward auth: one check, then a cached one.
    for _ in 0..2 {
        let status = world
            .app
            .http
            .get(world.app.url("/auth/verify"))
            .bearer_auth(tokens["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
    }

    let after = scrape(&metrics_url).await;
    for (series, expected) in [
        (r#"gatehouse_otp_codes_total{result="sent"}"#, 1.0),
        (r#"gatehouse_otp_verifications_total{result="ok"}"#, 1.0),
        (
            r#"gatehouse_otp_rate_limited_total{limit="resend_cooldown"}"#,
            1.0,
        ),
        (
            r#"gatehouse_sign_ins_total{flow="browser",result="success"}"#,
            1.0,
        ),
        (r#"gatehouse_consents_total{result="automatic"}"#, 1.0),
        (
            r#"gatehouse_forward_auth_decisions_total{result="allowed"}"#,
            2.0,
        ),
        ("gatehouse_forward_auth_cache_hits_total", 1.0),
        // The new phone is not found when the code is sent nor at
        // verification (which creates the user); consent and the refused
        // second code find them.
        (
            r#"gatehouse_directory_lookups_total{result="not_found"}"#,
            2.0,
        ),
        (r#"gatehouse_directory_lookups_total{result="found"}"#, 2.0),
        (
            r#"gatehouse_http_request_duration_seconds_count{route="/login",method="POST",status="303"}"#,
            1.0,
        ),
        (
            r#"gatehouse_http_request_own_duration_seconds_count{route="/login",method="POST",status="303"}"#,
            1.0,
        ),
    ] {
        assert_eq!(sample(&after, series), expected, "{series} in:\n{after}");
    }
    // Gatehouse's own share leaves out the waits on Hydra: a right code
    // waits on Hydra's accepting the login.
    let verified = r#"{route="/login",method="POST",status="303"}"#;
    let total = sample(
        &after,
        &format!("gatehouse_http_request_duration_seconds_sum{verified}"),
    );
    let own = sample(
        &after,
        &format!("gatehouse_http_request_own_duration_seconds_sum{verified}"),
    );
    assert!(
        own > 0.0 && own < total,
        "own {own} s of {total} s in:\n{after}"
    );

    // Not on the public port.
    let public = world
        .app
        .http
        .get(world.app.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 404);
}

/// Every sample line of a scrape: one a series (histograms count each bucket).
fn series(text: &str) -> usize {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count()
}

#[tokio::test]
async fn made_up_methods_and_paths_add_no_series() {
    let port = free_port();
    let app = TestApp::spawn_with(|c| c.metrics.listen = Some(([127, 0, 0, 1], port).into())).await;
    let metrics_url = format!("http://127.0.0.1:{port}/metrics");
    let send = |method: String, path: String| {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let request = app.http.request(method, app.url(&path));
        async move { request.send().await.unwrap().status().as_u16() }
    };
    // Any token is a method: `M` and hex digits, never a known one.
    let made_up = || format!("M{}", random_hex(6).to_uppercase());
    let paths = |i: usize| match i % 3 {
        0 => "/healthz".to_string(),
        1 => "/auth/verify".to_string(),
        _ => format!("/nowhere-{}", random_hex(6)),
    };
    // One of each first, so the `other` series exist.
    for i in 0..3 {
        send(made_up(), paths(i)).await;
    }
    let before = scrape(&metrics_url).await;

    let statuses: Vec<u16> = futures_util::stream::iter(0..5_000)
        .map(|i| send(made_up(), paths(i)))
        .buffer_unordered(32)
        .collect()
        .await;
    assert!(
        statuses.iter().all(|s| [401, 404, 405].contains(s)),
        "{statuses:?}"
    );

    let after = scrape(&metrics_url).await;
    assert_eq!(series(&after), series(&before), "new series in:\n{after}");
    let counted = r#"gatehouse_http_request_duration_seconds_count{route="/healthz",method="other",status="405"}"#;
    // The warm-up's one and every third of the 5,000 (i = 0, 3, ... 4998).
    assert_eq!(sample(&after, counted), 1.0 + 1667.0, "{after}");
}
