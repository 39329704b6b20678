//! The resend cooldown and the hourly caps: reported with the wait, kept
//! across restarts.

use std::time::Duration;

use super::{assert_throttled, phone, test_flow, wrong, StandaloneOtp};
use crate::helpers::world::World;
use crate::helpers::WebhookSink;
use gatehouse::domain::{FlowId, OtpCode};
use gatehouse::signin::otp::{Limit, OtpError};

#[tokio::test]
async fn cooldown_and_hourly_caps_report_the_wait_and_survive_a_restart() {
    let mut fx = StandaloneOtp::with(WebhookSink::start(200).await, |c| {
        c.otp.max_per_phone_per_hour = 3;
        c.otp.max_per_ip_per_hour = 4;
    })
    .await;
    let ip = Some("198.51.100.7".parse().unwrap());
    let phone_a = phone(5);

    fx.otp
        .issue(&test_flow(&phone_a), &phone_a, ip)
        .await
        .unwrap();
    // Delivered before the next one replaces it (a replaced code's
    // message is dropped if still queued).
    fx.sink.code_for(phone_a.as_str()).await;
    fx.clock.advance(10);
    assert_throttled(
        fx.otp.issue(&test_flow(&phone_a), &phone_a, ip).await,
        Limit::ResendCooldown,
        20,
    );
    fx.reopen();
    assert_throttled(
        fx.otp.issue(&test_flow(&phone_a), &phone_a, ip).await,
        Limit::ResendCooldown,
        20,
    );

    fx.clock.advance(21); // t = 31
    fx.otp
        .issue(&test_flow(&phone_a), &phone_a, ip)
        .await
        .unwrap();
    // Delivered before the next one replaces it (a replaced code's
    // message is dropped if still queued).
    fx.sink.code_for(phone_a.as_str()).await;
    fx.clock.advance(31); // t = 62
    fx.otp
        .issue(&test_flow(&phone_a), &phone_a, ip)
        .await
        .unwrap();
    // Delivered before the next one replaces it (a replaced code's
    // message is dropped if still queued).
    fx.sink.code_for(phone_a.as_str()).await;
    fx.clock.advance(31); // t = 93: three codes in the hour, the first at t = 0
    assert_throttled(
        fx.otp.issue(&test_flow(&phone_a), &phone_a, ip).await,
        Limit::PhonePerHour,
        3600 - 93,
    );
    fx.reopen();
    assert_throttled(
        fx.otp.issue(&test_flow(&phone_a), &phone_a, ip).await,
        Limit::PhonePerHour,
        3600 - 93,
    );

    // The same network asking for a fourth and fifth phone hits the IP cap.
    fx.otp
        .issue(&test_flow(&phone(6)), &phone(6), ip)
        .await
        .unwrap();
    assert_throttled(
        fx.otp.issue(&test_flow(&phone(7)), &phone(7), ip).await,
        Limit::IpPerHour,
        3600 - 93,
    );
    // Another address is not affected.
    fx.otp
        .issue(
            &test_flow(&phone(7)),
            &phone(7),
            Some("203.0.113.9".parse().unwrap()),
        )
        .await
        .unwrap();
    // Refused requests sent nothing.
    fx.outbox_drained().await;
    assert_eq!(fx.sink.received().len(), 5);

    fx.clock.advance(3600);
    fx.otp
        .issue(&test_flow(&phone_a), &phone_a, ip)
        .await
        .expect("the hour has passed");
}

#[tokio::test]
async fn caps_survive_a_restart_of_the_app() {
    let World { app, sms: sink, .. } = World::new().await;
    let phone = phone(8);
    app.otp
        .issue(&test_flow(&phone), &phone, None)
        .await
        .unwrap();
    let app = app.restart().await;
    match app.otp.issue(&test_flow(&phone), &phone, None).await {
        Err(OtpError::Throttled { limit, retry_after }) => {
            assert_eq!(limit, Limit::ResendCooldown);
            assert!(retry_after <= Duration::from_secs(30) && !retry_after.is_zero());
        }
        other => panic!("the cooldown was lost in the restart: {other:?}"),
    }
    // Queued before the restart, sent after it at the latest. A restart
    // that caught the text mid-send leaves its claim: SQLite frees it at
    // start, PostgreSQL (other instances may hold claims) only after its
    // lease: the text was handed to the worker as its code was stored, so
    // two attempts' timeouts and 5 s (25 s); wait past that.
    let lease = Duration::from_secs(25);
    let sent = sink
        .wait_for_requests_within(1, lease + Duration::from_secs(10))
        .await;
    assert_eq!(sent.len(), 1);
    app.outbox_drained().await;
    assert_eq!(sink.received().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn the_101st_wrong_code_in_an_hour_is_refused_across_flows() {
    // 10 codes of 10 tries each: exactly the 100 failures allowed an hour.
    let fx = StandaloneOtp::with(WebhookSink::start(200).await, |c| {
        c.otp.max_attempts = 10;
        c.otp.max_per_phone_per_hour = 10;
        c.otp.resend_cooldown = Duration::ZERO;
    })
    .await;
    let phone = phone(40);
    let flows: Vec<FlowId> = (0..10)
        .map(|n| FlowId::browser(&format!("flow {n}")))
        .collect();
    let mut codes = Vec::new();
    for flow in &flows {
        fx.otp.issue(flow, &phone, None).await.unwrap();
        codes.push(OtpCode::parse(&fx.sink.code_for(phone.as_str()).await, 6).unwrap());
    }
    // Near the end of the codes' life, 100 wrong tries across the 10 flows.
    fx.clock.advance(290);
    for (flow, code) in flows.iter().zip(&codes) {
        for _ in 0..10 {
            let result = fx.otp.verify(flow, &phone, &wrong(code)).await;
            assert!(
                matches!(
                    result,
                    Err(OtpError::WrongCode { .. } | OtpError::TooManyAttempts)
                ),
                "{result:?}"
            );
        }
    }
    // An hour after the sends (but not after the failures) a new code may
    // be sent; its right answer is still refused: the account is locked.
    fx.clock.advance(3600 - 290 + 1);
    let fresh = FlowId::browser("a fresh flow");
    fx.otp.issue(&fresh, &phone, None).await.unwrap();
    let code = OtpCode::parse(&fx.sink.code_for(phone.as_str()).await, 6).unwrap();
    match fx.otp.verify(&fresh, &phone, &code).await {
        Err(OtpError::Throttled {
            limit: Limit::FailuresPerHour,
            retry_after,
        }) => assert!(retry_after.as_secs() <= 290, "{retry_after:?}"),
        other => panic!("expected the failure limit, got {other:?}"),
    }
    // Once the failures leave the window, the same code works.
    fx.clock.advance(290);
    fx.otp.verify(&fresh, &phone, &code).await.unwrap();
}
