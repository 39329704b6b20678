//! `sms.policy`'s adaptive ceiling (issue 19, point 3) on a manual clock:
//! unverified codes to a country in a day stay under
//! max(adaptive_floor, adaptive_ratio x its busiest verified day in 14).

use super::{phone, test_flow, StandaloneOtp, START};
use crate::helpers::WebhookSink;
use gatehouse::domain::OtpCode;
use gatehouse::signin::otp::{Limit, OtpError};

const DAY: i64 = 86_400;

async fn fixture() -> StandaloneOtp {
    StandaloneOtp::with(WebhookSink::start(200).await, |c| {
        c.otp.max_per_ip_per_hour = 1_000_000;
        let policy = &mut c.sms.policy;
        policy.adaptive_floor = 20;
        policy.adaptive_ratio = 0.5;
        // Only the adaptive ceiling is under test.
        policy.max_per_hour = 1_000_000;
        policy.max_per_country_per_hour = 1_000_000;
        policy.max_per_country_per_day = 1_000_000;
    })
    .await
}

/// Sends and verifies `count` codes to numbers from `first` on.
async fn verified_codes(fx: &StandaloneOtp, first: u32, count: u32) {
    for n in first..first + count {
        let phone = phone(n);
        let code = fx.send_code(&phone).await;
        fx.otp
            .verify(&test_flow(&phone), &phone, &code)
            .await
            .expect("the code verifies");
    }
}

/// Sends codes to numbers from `first` on, never verified, until one is
/// refused; returns how many were sent, and the refusal.
async fn unverified_burst(fx: &StandaloneOtp, first: u32) -> (u32, OtpError) {
    for n in first..first + 1000 {
        let phone = phone(n);
        if let Err(error) = fx.otp.issue(&test_flow(&phone), &phone, None).await {
            return (n - first, error);
        }
    }
    panic!("1000 unverified codes and no refusal");
}

fn assert_adaptive(error: &OtpError) {
    assert!(
        matches!(error, OtpError::PolicyRefused(Limit::CountryAdaptive)),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_burst_of_unverified_codes_stops_at_the_ceiling_of_the_busiest_day() {
    let fx = fixture().await;
    // Midnight, so that each step below stays inside its day.
    fx.clock.advance(DAY - START.rem_euclid(DAY));
    verified_codes(&fx, 1000, 10).await; // day 0
    fx.clock.advance(3 * DAY);
    verified_codes(&fx, 2000, 60).await; // day 3: the busiest
    fx.clock.advance(7 * DAY);
    verified_codes(&fx, 3000, 24).await; // day 10

    // Day 13: day 3 is in the window: max(20, 0.5 x 60) = 30.
    fx.clock.advance(3 * DAY);
    let (sent, refusal) = unverified_burst(&fx, 4000).await;
    assert_eq!(sent, 30);
    assert_adaptive(&refusal);
    // A code verified today makes room for one more.
    let verified = phone(4000);
    let code = OtpCode::parse(&fx.sink.code_for(verified.as_str()).await, 6).unwrap();
    fx.otp
        .verify(&test_flow(&verified), &verified, &code)
        .await
        .unwrap();
    let (sent, refusal) = unverified_burst(&fx, 4100).await;
    assert_eq!(sent, 1, "one more after one verified");
    assert_adaptive(&refusal);

    // Day 17: day 3 has left the window; day 10 (24) and today's one
    // verified code rule: max(20, 0.5 x 24) = 20.
    fx.clock.advance(4 * DAY);
    let (sent, refusal) = unverified_burst(&fx, 5000).await;
    assert_eq!(sent, 20, "the floor");
    assert_adaptive(&refusal);
}

#[tokio::test]
async fn each_country_has_its_own_ceiling() {
    let fx = fixture().await;
    let (sent, refusal) = unverified_burst(&fx, 6000).await;
    assert_eq!(sent, 20, "a quiet country gets the floor");
    assert_adaptive(&refusal);
    // Another country is not held back by the US's burst.
    let german = gatehouse::domain::PhoneNumber::parse("+4915112345678", None).unwrap();
    fx.otp
        .issue(&test_flow(&german), &german, None)
        .await
        .expect("Germany has its own ceiling");
}
