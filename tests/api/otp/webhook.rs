//! The SMS webhook: signed JSON, retries, giving up, timeouts, no code in
//! the logs.

use std::time::Duration;

use axum::response::IntoResponse;

use super::{phone, test_flow, StandaloneOtp, HMAC_SECRET};
use crate::helpers::sink::{signature_accepted, unix_now};
use crate::helpers::{capture_logs, WebhookSink};
use gatehouse::domain::OtpCode;
use gatehouse::signin::otp::OtpError;

/// The receiver's check ([`signature_accepted`]) with the tests' secret.
fn gateway_accepts(header: &str, body: &[u8], now: i64) -> bool {
    signature_accepted(HMAC_SECRET, header, body, now)
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
async fn webhook_retries_server_errors_with_backoff_until_it_gets_through() {
    let fx = StandaloneOtp::with(WebhookSink::scripted(vec![500, 500, 200]).await, |_| {}).await;
    let phone = phone(10);
    fx.otp
        .issue(&test_flow(&phone), &phone, None)
        .await
        .expect("the answer does not wait for the gateway");
    fx.sink.wait_for_requests(1).await;
    // The retry waits for its time (1 s after the failure), not a moment less.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fx.sink.received().len(), 1, "no retry before the backoff");
    fx.clock.advance(1);
    fx.sink.wait_for_requests(2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fx.sink.received().len(), 2, "then 2 s");
    fx.clock.advance(2);
    let received = fx.sink.wait_for_requests(3).await;
    assert!(received.iter().all(|r| r.json() == received[0].json()));
    let code = OtpCode::parse(&fx.sink.code_for(phone.as_str()).await, 6).unwrap();
    fx.otp
        .verify(&test_flow(&phone), &phone, &code)
        .await
        .expect("the delivered code works");
}

#[tokio::test]
async fn a_refused_message_withdraws_its_code_and_refunds_the_send() {
    let fx = StandaloneOtp::with(WebhookSink::start(400).await, |_| {}).await;
    let phone = phone(11);
    fx.otp
        .issue(&test_flow(&phone), &phone, None)
        .await
        .expect("the answer says nothing about delivery");
    fx.outbox_drained().await;
    assert_eq!(fx.sink.received().len(), 1, "4xx is not retried");
    // The undelivered code is gone...
    let sent = OtpCode::parse(&fx.sink.code_for(phone.as_str()).await, 6).unwrap();
    assert!(matches!(
        fx.otp.verify(&test_flow(&phone), &phone, &sent).await,
        Err(OtpError::Expired)
    ));
    // ...and did not start the cooldown: the person may ask again at once.
    fx.otp
        .issue(&test_flow(&phone), &phone, None)
        .await
        .expect("no cooldown after an undelivered code");
    fx.outbox_drained().await;
    assert_eq!(fx.sink.received().len(), 2);
}

/// A gateway that answers its first request with 429 and `Retry-After:
/// {retry_after}`, and every later one with 200.
async fn rate_limiting_gateway(retry_after: &'static str) -> WebhookSink {
    WebhookSink::answering("/sms", move |n, _| {
        let answer = if n == 0 {
            (
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                [(axum::http::header::RETRY_AFTER, retry_after)],
            )
                .into_response()
        } else {
            axum::http::StatusCode::OK.into_response()
        };
        std::future::ready(answer)
    })
    .await
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let fx = StandaloneOtp::with(rate_limiting_gateway("120").await, |_| {}).await;
    let phone = phone(13);
    fx.code_sent_to_gateway(&phone).await;
    // Well past gatehouse's own backoff, still inside the gateway's 120 s.
    fx.clock.advance(119);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fx.sink.received().len(), 1, "the gateway said 120 s");
    fx.clock.advance(1);
    fx.sink.wait_for_requests(2).await;
    let code = OtpCode::parse(&fx.sink.code_for(phone.as_str()).await, 6).unwrap();
    fx.otp
        .verify(&test_flow(&phone), &phone, &code)
        .await
        .expect("delivered after the wait the gateway asked for");
}

#[tokio::test]
async fn a_retry_that_would_come_after_the_code_expires_is_not_made() {
    // The code lives 300 s; the gateway asks for an hour.
    let fx = StandaloneOtp::with(rate_limiting_gateway("3600").await, |_| {}).await;
    let phone = phone(14);
    fx.otp
        .issue(&test_flow(&phone), &phone, None)
        .await
        .unwrap();
    fx.outbox_drained().await;
    fx.clock.advance(3600);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fx.sink.received().len(), 1, "withdrawn, not retried");
    // Withdrawn at once, so the person may ask again without waiting.
    fx.clock.advance(-3600);
    fx.otp
        .issue(&test_flow(&phone), &phone, None)
        .await
        .expect("the send was refunded");
}

#[tokio::test]
async fn a_webhook_that_never_answers_is_given_up_and_no_code_is_logged() {
    let (logs, _guard) = capture_logs();
    let fx = StandaloneOtp::with(WebhookSink::hanging().await, |c| {
        c.sms.webhook.timeout = Duration::from_secs(1);
        c.sms.webhook.max_attempts = 2;
    })
    .await;
    let phone = phone(12);
    fx.code_sent_to_gateway(&phone).await;
    // The first attempt times out after 1 s; the second is due 1 s later.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    fx.clock.advance(1);
    fx.sink.wait_for_requests(2).await;
    fx.outbox_drained().await;

    // A delivery that works, with a retry, to have something in the logs.
    let fx2 = StandaloneOtp::with(WebhookSink::scripted(vec![503, 200]).await, |_| {}).await;
    fx2.code_sent_to_gateway(&phone).await;
    fx2.clock.advance(1);
    fx2.sink.wait_for_requests(2).await;
    fx2.outbox_drained().await;
    let delivered = fx2.sink.code_for(phone.as_str()).await;

    let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("did not answer within 1s"), "{logs}");
    assert!(logs.contains("sign-in code not delivered"), "{logs}");
    assert!(logs.contains("SMS handed to the gateway"), "{logs}");
    assert!(logs.contains("SMS attempt failed"), "{logs}");
    let timed_out = fx.sink.code_for(phone.as_str()).await;
    for code in [delivered.as_str(), timed_out.as_str()] {
        assert!(
            !logs.contains(code),
            "code {code} appears in the logs:\n{logs}"
        );
    }
}
