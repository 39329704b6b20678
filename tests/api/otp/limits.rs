//! The resend cooldown and the hourly caps: reported with the wait, kept
//! across restarts.

use std::time::Duration;

use super::{assert_throttled, phone, StandaloneOtp};
use crate::helpers::world::World;
use crate::helpers::WebhookSink;
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

    fx.otp.issue(&phone_a, ip).await.unwrap();
    fx.clock.advance(10);
    assert_throttled(fx.otp.issue(&phone_a, ip).await, Limit::ResendCooldown, 20);
    fx.reopen();
    assert_throttled(fx.otp.issue(&phone_a, ip).await, Limit::ResendCooldown, 20);

    fx.clock.advance(21); // t = 31
    fx.otp.issue(&phone_a, ip).await.unwrap();
    fx.clock.advance(31); // t = 62
    fx.otp.issue(&phone_a, ip).await.unwrap();
    fx.clock.advance(31); // t = 93: three codes in the hour, the first at t = 0
    assert_throttled(
        fx.otp.issue(&phone_a, ip).await,
        Limit::PhonePerHour,
        3600 - 93,
    );
    fx.reopen();
    assert_throttled(
        fx.otp.issue(&phone_a, ip).await,
        Limit::PhonePerHour,
        3600 - 93,
    );

    // The same network asking for a fourth and fifth phone hits the IP cap.
    fx.otp.issue(&phone(6), ip).await.unwrap();
    assert_throttled(
        fx.otp.issue(&phone(7), ip).await,
        Limit::IpPerHour,
        3600 - 93,
    );
    // Another address is not affected.
    fx.otp
        .issue(&phone(7), Some("203.0.113.9".parse().unwrap()))
        .await
        .unwrap();
    // Refused requests sent nothing.
    assert_eq!(fx.sink.received().len(), 5);

    fx.clock.advance(3600);
    fx.otp
        .issue(&phone_a, ip)
        .await
        .expect("the hour has passed");
}

#[tokio::test]
async fn caps_survive_a_restart_of_the_app() {
    let World { app, sms: sink, .. } = World::new().await;
    let phone = phone(8);
    app.otp.issue(&phone, None).await.unwrap();
    let app = app.restart().await;
    match app.otp.issue(&phone, None).await {
        Err(OtpError::Throttled { limit, retry_after }) => {
            assert_eq!(limit, Limit::ResendCooldown);
            assert!(retry_after <= Duration::from_secs(30) && !retry_after.is_zero());
        }
        other => panic!("the cooldown was lost in the restart: {other:?}"),
    }
    assert_eq!(sink.received().len(), 1);
    app.stop().await;
}
