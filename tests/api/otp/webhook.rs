//! The SMS webhook: signed JSON, retries, giving up, timeouts, no code in
//! the logs.

use std::time::{Duration, Instant};

use super::{phone, StandaloneOtp, HMAC_SECRET};
use crate::helpers::{capture_logs, WebhookSink};
use gatehouse::domain::OtpCode;
use gatehouse::signin::otp::OtpError;
use hmac::{Hmac, Mac};
use sha2::Sha256;

fn signature_of(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(HMAC_SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
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
    assert_eq!(signature, signature_of(&request.body));
    assert_ne!(signature, signature_of(b"{}"));
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
        .verify(&phone, &code)
        .await
        .expect("the delivered code works");
}

#[tokio::test]
async fn webhook_gives_up_on_a_client_error_and_withdraws_the_code() {
    let fx = StandaloneOtp::with(WebhookSink::start(400).await, |_| {}).await;
    let phone = phone(11);
    let err = fx.otp.issue(&phone, None).await.unwrap_err();
    assert!(matches!(err, OtpError::Sms(_)), "{err:?}");
    assert!(err.to_string().contains("HTTP 400"), "{err}");
    assert_eq!(fx.sink.received().len(), 1, "4xx is not retried");
    // The undelivered code is gone and did not start the cooldown.
    let sent = fx.sink.last_code_for(phone.as_str()).unwrap();
    assert!(matches!(
        fx.otp
            .verify(&phone, &OtpCode::parse(&sent, 6).unwrap())
            .await,
        Err(OtpError::Expired)
    ));
    assert!(matches!(
        fx.otp.issue(&phone, None).await,
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
    let err = fx.otp.issue(&phone, None).await.unwrap_err();
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
