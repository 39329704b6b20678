//! The SMS webhook: signed JSON, retries, giving up, timeouts, no code in
//! the logs.

use std::time::{Duration, Instant};

use super::{phone, test_flow, StandaloneOtp, HMAC_SECRET};
use crate::helpers::{capture_logs, WebhookSink};
use gatehouse::domain::OtpCode;
use gatehouse::signin::otp::OtpError;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The check README.md tells a gateway to make: the header is
/// `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, and `t` is at most
/// 5 minutes from the gateway's `now`. Written here from the documentation,
/// not from gatehouse's code.
fn gateway_accepts(header: &str, body: &[u8], now: i64) -> bool {
    let mut timestamp = None;
    let mut signature = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signature = hex::decode(value).ok(),
            _ => {}
        }
    }
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return false;
    };
    if (now - timestamp).abs() > 300 {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(HMAC_SECRET.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&signature).is_ok()
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn webhook_receives_json_with_a_valid_signature() {
    let fx = StandaloneOtp::new().await;
    let phone = phone(9);
    let code = fx.send_code(&phone).await;
    let received = fx.sink.received();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    let message = request.json();
    assert_eq!(message["phone"], phone.as_str());
    assert_eq!(message["code"], code.digits());
    assert_eq!(
        message["message"],
        format!("Your Gatehouse sign-in code is {}", code.digits())
    );
    let signature = request.headers["x-gatehouse-signature"].to_str().unwrap();
    let now = unix_now();
    assert!(
        gateway_accepts(signature, &request.body, now),
        "{signature}"
    );
    // Another body, or the same request replayed later, is refused.
    assert!(!gateway_accepts(signature, b"{}", now));
    assert!(
        !gateway_accepts(signature, &request.body, now + 301),
        "a replay"
    );
    // The time is signed: moving it forward breaks the signature.
    let (_, v1) = signature.split_once(',').unwrap();
    let moved = format!("t={now},{v1}");
    let signed_at: i64 = signature[2..signature.find(',').unwrap()].parse().unwrap();
    if signed_at != now {
        assert!(!gateway_accepts(&moved, &request.body, now), "{moved}");
    }
    assert!(!gateway_accepts(
        &format!("t={},{v1}", signed_at + 1),
        &request.body,
        now
    ));
    assert_eq!(request.headers["authorization"], "Bearer sms-token");
    assert_eq!(request.headers["content-type"], "application/json");
}

#[tokio::test]
async fn webhook_retries_server_errors_until_it_gets_through() {
    let fx = StandaloneOtp::with(WebhookSink::scripted(vec![500, 500, 200]).await, |_| {}).await;
    let phone = phone(10);
    let code = fx.send_code(&phone).await;
    let received = fx.sink.received();
    assert_eq!(received.len(), 3, "two failures, then success");
    assert!(received.iter().all(|r| r.body == received[0].body));
    fx.otp
        .verify(&test_flow(&phone), &phone, &code)
        .await
        .expect("the delivered code works");
}

#[tokio::test]
async fn webhook_gives_up_on_a_client_error_and_withdraws_the_code() {
    let fx = StandaloneOtp::with(WebhookSink::start(400).await, |_| {}).await;
    let phone = phone(11);
    let err = fx
        .otp
        .issue(&test_flow(&phone), &phone, None)
        .await
        .unwrap_err();
    assert!(matches!(err, OtpError::Sms(_)), "{err:?}");
    assert!(err.to_string().contains("HTTP 400"), "{err}");
    assert_eq!(fx.sink.received().len(), 1, "4xx is not retried");
    // The undelivered code is gone and did not start the cooldown.
    let sent = fx.sink.last_code_for(phone.as_str()).unwrap();
    assert!(matches!(
        fx.otp
            .verify(
                &test_flow(&phone),
                &phone,
                &OtpCode::parse(&sent, 6).unwrap()
            )
            .await,
        Err(OtpError::Expired)
    ));
    assert!(matches!(
        fx.otp.issue(&test_flow(&phone), &phone, None).await,
        Err(OtpError::Sms(_))
    ));
}

#[tokio::test]
async fn a_webhook_that_never_answers_fails_within_the_timeout_and_logs_no_code() {
    let (logs, _guard) = capture_logs();
    let fx = StandaloneOtp::with(WebhookSink::hanging().await, |c| {
        c.sms.webhook.timeout = Duration::from_secs(1);
    })
    .await;
    let phone = phone(12);
    let started = Instant::now();
    let err = fx
        .otp
        .issue(&test_flow(&phone), &phone, None)
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        err.to_string().contains("did not answer within 1s"),
        "{err}"
    );
    assert!(
        elapsed < Duration::from_secs(4),
        "a 1 s timeout took {elapsed:?}"
    );

    // A delivery that works, with retries, to have something in the logs.
    let fx2 = StandaloneOtp::with(WebhookSink::scripted(vec![503, 200]).await, |_| {}).await;
    let delivered = fx2.send_code(&phone).await;

    let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("SMS handed to the webhook"), "{logs}");
    assert!(logs.contains("SMS webhook attempt failed"), "{logs}");
    let timed_out = fx.sink.last_code_for(phone.as_str()).unwrap();
    for code in [delivered.digits(), timed_out.as_str()] {
        assert!(
            !logs.contains(code),
            "code {code} appears in the logs:\n{logs}"
        );
    }
}
