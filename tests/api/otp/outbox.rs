//! The SMS outbox (issue 17, point 3): a queued message outlives a crash,
//! dies with its code, is never kept in the clear, is not sent twice when
//! its claim runs out mid-attempt, and a replaced code's message is not
//! sent.

use std::sync::Arc;
use std::time::Duration;

use axum::response::IntoResponse;

use super::{phone, test_flow, StandaloneOtp};
use crate::helpers::WebhookSink;
use gatehouse::domain::OtpCode;
use gatehouse::signin::otp::{Limit, OtpError};

/// A gateway whose first request never gets an answer (the process sending
/// it "crashes" meanwhile) and whose later ones get 200.
async fn gateway_hanging_once() -> WebhookSink {
    WebhookSink::answering("/sms", |n, _| async move {
        if n == 0 {
            std::future::pending::<()>().await;
        }
        axum::http::StatusCode::OK.into_response()
    })
    .await
}

#[tokio::test]
async fn a_message_being_sent_when_gatehouse_crashed_is_sent_after_the_restart() {
    let mut fx = StandaloneOtp::with(gateway_hanging_once().await, |_| {}).await;
    let phone = phone(50);
    fx.code_sent_to_gateway(&phone).await;
    // The worker dies mid-request. On SQLite (one instance, the data dir's
    // lock) its claim on the message dies with it; on PostgreSQL another
    // instance may be sending, so the claim holds until its lease runs out
    // (a text handed to the worker at once: two attempts' timeouts and 5 s).
    fx.reopen();
    if crate::helpers::white_box::is_postgres(&fx.config) {
        fx.clock.advance(handed_lease(&fx));
    }
    fx.sink.wait_for_requests(2).await;
    fx.outbox_drained().await;
    let code = OtpCode::parse(&fx.sink.code_for(phone.as_str()).await, 6).unwrap();
    fx.otp
        .verify(&test_flow(&phone), &phone, &code)
        .await
        .expect("the code sent after the restart works");
}

/// How long a text handed to the worker when its code was stored is
/// claimed: one attempt's time waiting for a free place, one attempt, 5 s.
fn handed_lease(fx: &StandaloneOtp) -> i64 {
    2 * fx.config.sms.attempt_timeout().as_secs() as i64 + 5
}

/// Texts handed to a busy worker wait for it, claimed, and texts beyond
/// its queue wait in the outbox for a claim: a poll that comes meanwhile
/// (the clock past the lease of a text claimed from the outbox) sends none
/// of them twice, and every one is sent once the gateway answers.
#[tokio::test]
async fn texts_waiting_for_a_busy_worker_are_each_sent_once() {
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let held = gate.clone();
    let sink = WebhookSink::answering("/sms", move |_, _| {
        let held = held.clone();
        async move {
            let _ = held.acquire().await.map(|permit| permit.forget());
            axum::http::StatusCode::OK.into_response()
        }
    })
    .await;
    let fx = StandaloneOtp::with(sink, |c| {
        c.sms.policy.max_per_country_per_hour = 1_000;
        c.sms.policy.adaptive_floor = 1_000;
    })
    .await;
    // 32 in flight (the gateway holds them), 32 handed over and waiting,
    // the rest in the outbox.
    let phones: Vec<_> = (0..70).map(|n| phone(100 + n)).collect();
    for phone in &phones {
        fx.otp.issue(&test_flow(phone), phone, None).await.unwrap();
    }
    fx.sink.wait_for_requests(32).await;
    let outbox_lease = fx.config.sms.attempt_timeout().as_secs() as i64 + 5;
    fx.clock.advance(outbox_lease + 1);
    assert!(outbox_lease + 1 < handed_lease(&fx));
    tokio::time::sleep(Duration::from_millis(200)).await;
    gate.add_permits(1_000);
    fx.outbox_drained().await;
    let mut sent: Vec<String> = fx
        .sink
        .received()
        .iter()
        .map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["phone"].to_string())
        .collect();
    sent.sort();
    let before = sent.len();
    sent.dedup();
    assert_eq!(before, sent.len(), "a text was sent twice");
    assert_eq!(sent.len(), phones.len(), "a text was not sent");
}

/// A text whose claim runs out while the gateway still holds its request
/// (the clock past the lease) is claimed again, and not sent a second time.
#[tokio::test]
async fn a_text_claimed_again_during_its_attempt_is_not_sent_twice() {
    let (sink, release) = WebhookSink::held("/sms").await;
    let fx = StandaloneOtp::with(sink, |_| {}).await;
    let phone = phone(52);
    fx.code_sent_to_gateway(&phone).await;
    fx.clock.advance(handed_lease(&fx) + 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    release.send(true).unwrap();
    fx.outbox_drained().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(fx.sink.received().len(), 1, "sent once");
}

#[tokio::test]
async fn a_retry_scheduled_before_a_restart_happens_after_it() {
    let mut fx = StandaloneOtp::with(WebhookSink::scripted(vec![503, 200]).await, |_| {}).await;
    let phone = phone(51);
    fx.code_sent_to_gateway(&phone).await;
    fx.reopen();
    fx.clock.advance(1);
    fx.sink.wait_for_requests(2).await;
    fx.outbox_drained().await;
    let code = OtpCode::parse(&fx.sink.code_for(phone.as_str()).await, 6).unwrap();
    fx.otp
        .verify(&test_flow(&phone), &phone, &code)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_message_whose_code_expired_while_gatehouse_was_down_is_dropped_and_refunded() {
    let mut fx = StandaloneOtp::with(WebhookSink::scripted(vec![503, 200]).await, |c| {
        c.otp.max_per_phone_per_hour = 1;
    })
    .await;
    let phone = phone(52);
    fx.code_sent_to_gateway(&phone).await;
    fx.reopen();
    fx.clock.advance(301);
    fx.outbox_drained().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(fx.sink.received().len(), 1, "an expired code is not sent");
    // The hour's only send was refunded: the person may ask again.
    fx.otp
        .issue(&test_flow(&phone), &phone, None)
        .await
        .expect("the undelivered send does not count");
    fx.outbox_drained().await;
    assert_eq!(fx.sink.received().len(), 2);
    // A delivered one does count.
    let throttled = fx.otp.issue(&test_flow(&phone), &phone, None).await;
    assert!(
        matches!(
            throttled,
            Err(OtpError::Throttled {
                limit: Limit::PhonePerHour | Limit::ResendCooldown,
                ..
            })
        ),
        "{throttled:?}"
    );
}

#[tokio::test]
async fn a_replaced_codes_message_is_not_sent_again() {
    let fx = StandaloneOtp::with(WebhookSink::scripted(vec![503, 200]).await, |c| {
        c.otp.resend_cooldown = Duration::ZERO;
    })
    .await;
    let phone = phone(53);
    let flow = test_flow(&phone);
    fx.otp.issue(&flow, &phone, None).await.unwrap();
    fx.sink.wait_for_requests(1).await;
    // "Send a new code" while the first waits for its retry.
    fx.otp.issue(&flow, &phone, None).await.unwrap();
    fx.sink.wait_for_requests(2).await;
    fx.clock.advance(5);
    fx.outbox_drained().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let received = fx.sink.received();
    assert_eq!(received.len(), 2, "the first code is not retried");
    assert_ne!(received[0].json()["code"], received[1].json()["code"]);
    let newest = OtpCode::parse(&fx.sink.code_for(phone.as_str()).await, 6).unwrap();
    fx.otp.verify(&flow, &phone, &newest).await.unwrap();
}

#[tokio::test]
async fn a_queued_message_is_not_in_the_database_in_the_clear() {
    let fx = StandaloneOtp::with(WebhookSink::start(503).await, |_| {}).await;
    let phone = phone(54);
    fx.otp
        .issue(&test_flow(&phone), &phone, None)
        .await
        .unwrap();
    // Failed once, waiting for its retry: the message sits in the outbox.
    let code = fx.sink.code_for(phone.as_str()).await;
    let rows = fx
        .rows("SELECT sealed, refund_event_ids FROM sms_outbox")
        .await;
    let sealed = hex::decode(rows[0]["sealed"].as_str().unwrap()).unwrap();
    let refund = rows[0]["refund_event_ids"].as_str().unwrap();
    assert!(sealed.len() > code.len() + 16, "nonce, message and tag");
    assert!(!refund.is_empty(), "the counted send, to refund");
    let everything = serde_json::to_string(&fx.rows("SELECT * FROM sms_outbox").await).unwrap();
    assert!(!everything.contains(code.as_str()), "the code in a row");
    // And nowhere in the SQLite file's bytes.
    let Some(database) = fx.sqlite_file() else {
        return;
    };
    for path in [database.clone(), database.with_extension("sqlite-wal")] {
        let bytes = std::fs::read(&path).unwrap_or_default();
        for secret in [code.as_str(), "sign-in code is"] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret:?} is in {} in the clear",
                path.display()
            );
        }
    }
}
