//! `sms.senders`: the next provider sends within the same outbox attempt
//! when one fails, a failed one cools off, and "invalid number" is final.

use std::time::Duration;

use super::*;
use crate::otp::phone;
use gatehouse::domain::OtpCode;
use gatehouse::infra::metrics::Metrics;
use gatehouse::sms::{SmsMessage, SmsSender};

/// The outbox rows still waiting.
async fn queued(fx: &StandaloneOtp) -> i64 {
    fx.number("SELECT count(*) FROM sms_outbox").await
}

#[tokio::test]
async fn sms_providers_a_500_from_the_first_makes_the_second_send_in_the_same_attempt() {
    let first = twilio(vec![Outcome::ServerError]).await;
    let second = vonage(vec![Outcome::Accept]).await;
    let fx = sending_through(vec![twilio_sender(&first), vonage_sender(&second)]).await;
    let phone = phone(2410);
    ask_code(&fx, &phone).await;
    // The manual clock never moves: a retry (due 1 s later) cannot happen,
    // so Vonage's text is the first attempt's.
    let sent = second.wait_for_sends(1).await;
    fx.outbox_drained().await;
    assert_eq!(first.sends().len(), 1, "Twilio was tried first");
    let code = code_in(&sent[0].form().iter().find(|(k, _)| k == "text").unwrap().1);
    let code = OtpCode::parse(&code, 6).unwrap();
    fx.otp
        .verify(&test_flow(&phone), &phone, &code)
        .await
        .expect("the code Vonage carried works");
}

#[tokio::test]
async fn sms_providers_an_invalid_number_answer_is_final() {
    // Each provider's own "this number is invalid", with another provider
    // behind it that must not be asked.
    let cases = [
        (twilio(vec![Outcome::InvalidNumber]).await, "twilio"),
        (vonage(vec![Outcome::InvalidNumber]).await, "vonage"),
        (
            messagebird(vec![Outcome::InvalidNumber]).await,
            "messagebird",
        ),
        (aws_sns(vec![Outcome::InvalidNumber]).await, "aws_sns"),
    ];
    for (i, (stand_in, name)) in cases.iter().enumerate() {
        let behind = messagebird(vec![Outcome::Accept]).await;
        let first = match *name {
            "twilio" => twilio_sender(stand_in),
            "vonage" => vonage_sender(stand_in),
            "messagebird" => messagebird_sender(stand_in),
            _ => aws_sns_sender(stand_in),
        };
        let fallback = match *name {
            "messagebird" => vonage_sender(&behind),
            _ => messagebird_sender(&behind),
        };
        let fx = sending_through(vec![first, fallback]).await;
        let phone = phone(2420 + i as u32);
        ask_code(&fx, &phone).await;
        stand_in.wait_for_sends(1).await;
        fx.outbox_drained().await;
        assert!(behind.sink.received().is_empty(), "{name}: tried elsewhere");
        assert_eq!(challenges(&fx).await, 0, "{name}: the code is withdrawn");
        assert_eq!(queued(&fx).await, 0, "{name}: and not retried");
        // The send was refunded: asking again is not held back by the
        // resend cooldown.
        fx.otp
            .issue(&test_flow(&phone), &phone, None)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    }
}

fn text_to(phone: &PhoneNumber, code: &OtpCode) -> String {
    format!("code {} for {}", code.digits(), phone.as_str())
}

#[tokio::test]
async fn sms_providers_a_failing_provider_cools_off_and_metrics_count_each_one() {
    let first = twilio(vec![Outcome::ServerError, Outcome::Accept]).await;
    let second = aws_sns(vec![Outcome::Accept]).await;
    let mut config = Config::default();
    config.sms.sender = twilio_sender(&first);
    config.sms.fallbacks = vec![aws_sns_sender(&second)];
    config.sms.cool_off = Duration::from_millis(600);
    let metrics = Metrics::new();
    let sender = SmsSender::from_config(&config.sms, &config.server.public_url)
        .with_metrics(metrics.clone());
    let code = OtpCode::parse("123456", 6).unwrap();
    let send = |n: u32| {
        let phone = phone(2430 + n);
        let sender = sender.clone();
        let code = code.clone();
        async move {
            let message = SmsMessage {
                phone: &phone,
                code: &code,
                text: text_to(&phone, &code),
                idempotency_key: "k",
            };
            sender.send(&message).await.map(|sent| sent.provider)
        }
    };
    assert_eq!(
        send(0).await.unwrap(),
        "aws_sns",
        "Twilio's 500 passed it on"
    );
    assert_eq!(send(1).await.unwrap(), "aws_sns", "Twilio cools off");
    assert_eq!(first.sends().len(), 1, "Twilio was not asked meanwhile");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        send(2).await.unwrap(),
        "twilio",
        "asked again after cool_off"
    );
    let text = metrics.render();
    for line in [
        "gatehouse_sms_provider_requests_total{provider=\"twilio\",result=\"unavailable\"} 1",
        "gatehouse_sms_provider_requests_total{provider=\"twilio\",result=\"skipped\"} 1",
        "gatehouse_sms_provider_requests_total{provider=\"twilio\",result=\"sent\"} 1",
        "gatehouse_sms_provider_requests_total{provider=\"aws_sns\",result=\"sent\"} 2",
        "gatehouse_sms_provider_duration_seconds_count{provider=\"twilio\"} 2",
        "gatehouse_sms_provider_duration_seconds_count{provider=\"aws_sns\"} 2",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
}

#[tokio::test]
async fn sms_providers_a_single_sender_keeps_the_outbox_retries() {
    // One sender: nothing to skip to, so no cool-off either; the outbox
    // retries after its backoff as it does for the webhook.
    let only = twilio(vec![Outcome::ServerError, Outcome::Accept]).await;
    let fx = sending_through(vec![twilio_sender(&only)]).await;
    let phone = phone(2440);
    ask_code(&fx, &phone).await;
    only.wait_for_sends(1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(queued(&fx).await, 1, "waiting for its retry");
    fx.clock.advance(1);
    only.wait_for_sends(2).await;
    fx.outbox_drained().await;
    assert_eq!(challenges(&fx).await, 1);
}
