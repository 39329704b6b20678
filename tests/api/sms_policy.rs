//! `[sms.policy]` against SMS pumping (issue 19), through the pages and the
//! headless API of a real gatehouse: countries, line types, caps beyond one
//! number, monitor mode, and refusals that all look alike.

use serde_json::json;

use crate::helpers::answer::Answer;
use crate::helpers::capture_logs;
use crate::helpers::english;
use crate::helpers::headless::NativeApp;
use crate::helpers::http_browser::HttpBrowser;
use crate::helpers::world::{trusted, World};
use gatehouse::config::{Config, Countries, PolicyMode};
use reqwest::StatusCode;

const APP: NativeApp = NativeApp {
    id: "policy-app",
    secret: "policy-app-secret-0123456789",
    scope: "openid phone",
};

async fn world(customize: impl FnOnce(&mut Config)) -> World {
    let world = World::with(|config| {
        config.otp.max_per_ip_per_hour = 1000;
        config.headless.clients = vec![APP.listed(false)];
        customize(config);
    })
    .await;
    APP.register(&world.app, "client_secret_basic").await;
    world
}

/// `POST /api/headless/request-otp` as if from `client` (behind the
/// trusted loopback proxy).
async fn request_otp_from(world: &World, phone: &str, client: &str) -> Answer {
    let response = world
        .app
        .http
        .post(world.app.url("/api/headless/request-otp"))
        .header("x-forwarded-for", client)
        .json(&json!({"phone": phone, "client_id": APP.id}))
        .send()
        .await
        .unwrap();
    Answer::read(response).await
}

/// The login page's answer to "send me a code" for `phone`.
async fn page_answer(world: &World, phone: &str) -> (u16, String) {
    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();
    let login = world
        .open(&browser, &client.authorize(&world.app, "openid"))
        .await;
    let page = world.send_code(&browser, &login, phone).await;
    (page.status, page.body)
}

#[tokio::test]
async fn a_number_outside_the_allowed_countries_gets_no_code() {
    let world = world(|c| {
        c.sms.policy.allowed_countries =
            Some(Countries::Only([phonenumber::country::Id::US].into()))
    })
    .await;
    let british = "+447400123456";
    let (status, body) = page_answer(&world, british).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains(&english("country-not-served")), "{body}");
    request_otp_from(&world, british, "192.0.2.1")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unsupported_country");
    // A US number still gets its code.
    let (status, body) = page_answer(&world, "+12015550301").await;
    assert_eq!(status, 200, "{body}");
    world.sms.code_for("+12015550301").await;
    world.app.outbox_drained().await;
    assert_eq!(world.sms.received().len(), 1, "nothing went to +44");
}

#[tokio::test]
async fn premium_rate_and_toll_free_numbers_get_no_code() {
    let world = world(|_| {}).await;
    for number in ["+19005550123", "+18005550123"] {
        let (status, body) = page_answer(&world, number).await;
        assert_eq!(status, 400, "{number}: {body}");
        assert!(body.contains(&english("number-type-not-served")), "{body}");
        request_otp_from(&world, number, "192.0.2.1")
            .await
            .assert_error(StatusCode::BAD_REQUEST, "unsupported_number");
    }
    world.app.outbox_drained().await;
    assert!(world.sms.received().is_empty());
}

#[tokio::test]
async fn a_country_cap_stops_the_fourth_code_from_a_fourth_address() {
    let world = world(|c| c.sms.policy.max_per_country_per_hour = 3).await;
    for n in 1..=3 {
        let (phone, client) = (format!("+1201555031{n}"), format!("192.0.2.{n}"));
        let answer = request_otp_from(&world, &phone, &client).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    let fourth = request_otp_from(&world, "+12015550314", "192.0.2.4").await;
    fourth.assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    assert!(
        fourth.headers.get("retry-after").is_none(),
        "nothing to tune on"
    );
    let (status, body) = page_answer(&world, "+12015550315").await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains(&english("sending-refused")), "{body}");
    world.app.outbox_drained().await;
    assert_eq!(world.sms.received().len(), 3);
    let metrics = world.app.state.metrics.render();
    assert!(
        metrics.contains(
            "gatehouse_sms_refused_total{rule=\"max_per_country_per_hour\",mode=\"enforce\"} 2"
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn monitor_mode_sends_the_code_and_logs_and_counts_the_refusal() {
    let (logs, _guard) = capture_logs();
    let world = world(|c| {
        c.sms.policy.max_per_country_per_hour = 3;
        c.sms.policy.mode = PolicyMode::Monitor;
    })
    .await;
    for n in 1..=4 {
        let phone = format!("+1201555032{n}");
        let answer = request_otp_from(&world, &phone, &format!("192.0.2.{n}")).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        world.sms.code_for(&phone).await;
    }
    // And a premium-rate number too: monitor mode refuses nothing.
    let answer = request_otp_from(&world, "+19005550123", "192.0.2.9").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    world.sms.code_for("+19005550123").await;
    let metrics = world.app.state.metrics.render();
    // The 4th and 5th US codes were over the country's cap of 3.
    for (rule, count) in [("max_per_country_per_hour", 2), ("number_type", 1)] {
        let line =
            format!("gatehouse_sms_refused_total{{rule=\"{rule}\",mode=\"monitor\"}} {count}");
        assert!(metrics.contains(&line), "{line}\n{metrics}");
    }
    let logs = String::from_utf8_lossy(&logs.lock().unwrap()).to_string();
    assert!(
        logs.contains("SMS policy would refuse") && logs.contains("max_per_country_per_hour"),
        "{logs}"
    );
}

#[tokio::test]
async fn every_cap_refuses_with_the_same_answer() {
    // The 2nd code from one IPv6 /48 is refused by the site cap, the 3rd
    // code overall by the country cap: the client cannot tell them apart.
    let world = world(|c| {
        c.sms.policy.max_per_country_per_hour = 2;
        c.sms.policy.max_per_ipv6_48_per_hour = 1;
    })
    .await;
    let ok = request_otp_from(&world, "+12015550331", "2001:db8:1:1::1").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let by_site = request_otp_from(&world, "+12015550332", "2001:db8:1:2::1").await;
    let ok = request_otp_from(&world, "+12015550333", "2001:db8:2:1::1").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let by_country = request_otp_from(&world, "+12015550334", "2001:db8:3:1::1").await;
    by_site.assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    assert_eq!(by_site.status, by_country.status);
    assert_eq!(by_site.text, by_country.text);
    let metrics = world.app.state.metrics.render();
    for rule in ["max_per_ipv6_48_per_hour", "max_per_country_per_hour"] {
        assert!(
            metrics.contains(rule),
            "the metric names {rule}:\n{metrics}"
        );
    }
}

#[tokio::test]
async fn sent_and_verified_codes_are_counted_per_country() {
    let world = world(|_| {}).await;
    let client = world.client(trusted()).await;
    world
        .sign_in(
            &HttpBrowser::new(),
            &client,
            "+12015550341",
            "openid",
            false,
        )
        .await;
    let metrics = world.app.state.metrics.render();
    assert!(
        metrics.contains("gatehouse_sms_sent_total{country=\"US\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("gatehouse_sms_verified_total{country=\"US\"} 1"),
        "{metrics}"
    );
}
