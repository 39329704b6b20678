//! Codes made, sent and checked by a delegate (`otp.issuer`): an existing
//! system over HTTP or gRPC (`code_service.rs`, one stand-in speaking
//! both) and Twilio Verify (`twilio_verify.rs`). Gatehouse keeps its own
//! rules: the flow a code belongs to, the attempt cap (also against
//! concurrent guesses), the send limits; a delegate that is down costs the
//! person nothing. The browser flow through the real Hydra is in `browser`.

mod browser;
pub(crate) mod code_service;
mod headless;
mod twilio_verify;

use futures_util::future::join_all;
use gatehouse::config::{CodeIssuer, Secret};
use gatehouse::domain::{FlowId, OtpCode};
use gatehouse::signin::otp::OtpError;
use gatehouse::sms::delegate::CodeDelegate;

use super::{phone, test_flow, wrong, StandaloneOtp};
use crate::helpers::WebhookSink;
use code_service::{CodeService, TOKEN};
use twilio_verify::{TwilioVerifyStandIn, ACCOUNT_SID, AUTH_TOKEN, SERVICE_SID};

#[derive(Clone, Copy, Debug)]
enum Kind {
    Http,
    Grpc,
}

/// The OTP service with `service` as its delegate, spoken to as `kind`.
async fn delegated(kind: Kind, service: &CodeService, max_per_hour: u32) -> StandaloneOtp {
    let url = match kind {
        Kind::Http => service.serve_http().await,
        Kind::Grpc => service.serve_grpc().await,
    };
    StandaloneOtp::with(WebhookSink::start(200).await, move |config| {
        config.otp.max_per_phone_per_hour = max_per_hour;
        match kind {
            Kind::Http => {
                config.otp.issuer = CodeIssuer::Http;
                config.otp.http.url = Some(url.parse().unwrap());
                config.otp.http.auth_token = Some(Secret::new(TOKEN));
            }
            Kind::Grpc => {
                config.otp.issuer = CodeIssuer::Grpc;
                config.otp.grpc.url = Some(url.parse().unwrap());
            }
        }
    })
    .await
}

fn code(digits: &str) -> OtpCode {
    OtpCode::parse(digits, 6).unwrap()
}

async fn the_code_the_delegate_sent_signs_in(kind: Kind) {
    let service = CodeService::default();
    let otp = delegated(kind, &service, 5).await;
    let number = phone(301);
    let flow = test_flow(&number);

    otp.otp.issue(&flow, &number, None).await.unwrap();
    let sent = service
        .code_for(number.as_str())
        .expect("the delegate texted a code");
    otp.outbox_drained().await;
    assert!(
        otp.sink.received().is_empty(),
        "gatehouse sends nothing itself"
    );

    // Another sign-in flow cannot use this flow's code; the delegate is not asked.
    let other = FlowId::browser("another flow");
    let refused = otp.otp.verify(&other, &number, &code(&sent)).await;
    assert!(matches!(refused, Err(OtpError::Expired)), "{refused:?}");
    assert!(service.checks().is_empty());

    let user = otp.otp.verify(&flow, &number, &code(&sent)).await.unwrap();
    assert_eq!(user.phone.as_deref(), Some(number.as_str()));
    // Used once: a replay finds it used, without asking the delegate again.
    let replay = otp.otp.verify(&flow, &number, &code(&sent)).await;
    assert!(matches!(replay, Err(OtpError::Expired)), "{replay:?}");
    assert_eq!(service.checks().len(), 1, "{kind:?}");
}

async fn wrong_codes_count_against_the_cap_and_the_sixth_is_not_asked(kind: Kind) {
    let service = CodeService::default();
    let otp = delegated(kind, &service, 5).await;
    let number = phone(302);
    let flow = test_flow(&number);
    otp.otp.issue(&flow, &number, None).await.unwrap();
    let right = code(&service.code_for(number.as_str()).unwrap());

    for left in [4, 3, 2, 1] {
        let tried = otp.otp.verify(&flow, &number, &wrong(&right)).await;
        assert!(
            matches!(tried, Err(OtpError::WrongCode { attempts_left }) if attempts_left == left),
            "{kind:?}: {tried:?}"
        );
    }
    let fifth = otp.otp.verify(&flow, &number, &wrong(&right)).await;
    assert!(matches!(fifth, Err(OtpError::TooManyAttempts)), "{fifth:?}");
    let sixth = otp.otp.verify(&flow, &number, &right).await;
    assert!(matches!(sixth, Err(OtpError::TooManyAttempts)), "{sixth:?}");
    assert_eq!(
        service.checks().len(),
        5,
        "the sixth try never reaches the delegate"
    );
}

async fn concurrent_guesses_cannot_get_past_the_cap(kind: Kind) {
    let service = CodeService::default();
    let otp = delegated(kind, &service, 5).await;
    let number = phone(303);
    let flow = test_flow(&number);
    otp.otp.issue(&flow, &number, None).await.unwrap();
    let right = code(&service.code_for(number.as_str()).unwrap());

    let guess = wrong(&right);
    let guesses = (0..20).map(|_| otp.otp.verify(&flow, &number, &guess));
    let answers = join_all(guesses).await;
    assert!(answers.iter().all(Result::is_err));
    assert_eq!(
        service.checks().len(),
        5,
        "20 concurrent guesses, 5 tries: {kind:?}"
    );
}

async fn a_delegate_that_is_down_costs_nothing(kind: Kind) {
    let service = CodeService::default();
    // One code an hour: a send counted during the outage would lock the phone.
    let otp = delegated(kind, &service, 1).await;
    let number = phone(304);
    let flow = test_flow(&number);

    service.set_down(true);
    for _ in 0..3 {
        let refused = otp.otp.issue(&flow, &number, None).await;
        assert!(matches!(refused, Err(OtpError::Delegate(_))), "{refused:?}");
    }
    service.set_down(false);
    otp.otp
        .issue(&flow, &number, None)
        .await
        .expect("the hour's one code");
    let right = code(&service.code_for(number.as_str()).unwrap());

    for _ in 0..4 {
        let wrong_try = otp.otp.verify(&flow, &number, &wrong(&right)).await;
        assert!(matches!(wrong_try, Err(OtpError::WrongCode { .. })));
    }
    service.set_down(true);
    for _ in 0..3 {
        let refused = otp.otp.verify(&flow, &number, &right).await;
        assert!(matches!(refused, Err(OtpError::Delegate(_))), "{refused:?}");
    }
    service.set_down(false);
    otp.otp
        .verify(&flow, &number, &right)
        .await
        .expect("the last try was not spent during the outage");
}

#[tokio::test]
async fn http_delegate_the_code_it_sent_signs_in_once_in_its_flow() {
    the_code_the_delegate_sent_signs_in(Kind::Http).await;
}

#[tokio::test]
async fn grpc_delegate_the_code_it_sent_signs_in_once_in_its_flow() {
    the_code_the_delegate_sent_signs_in(Kind::Grpc).await;
}

#[tokio::test]
async fn http_delegate_wrong_codes_count_and_the_sixth_is_not_asked() {
    wrong_codes_count_against_the_cap_and_the_sixth_is_not_asked(Kind::Http).await;
}

#[tokio::test]
async fn grpc_delegate_wrong_codes_count_and_the_sixth_is_not_asked() {
    wrong_codes_count_against_the_cap_and_the_sixth_is_not_asked(Kind::Grpc).await;
}

#[tokio::test]
async fn http_delegate_concurrent_guesses_stay_under_the_cap() {
    concurrent_guesses_cannot_get_past_the_cap(Kind::Http).await;
}

#[tokio::test]
async fn grpc_delegate_concurrent_guesses_stay_under_the_cap() {
    concurrent_guesses_cannot_get_past_the_cap(Kind::Grpc).await;
}

#[tokio::test]
async fn http_delegate_down_costs_no_send_and_no_try() {
    a_delegate_that_is_down_costs_nothing(Kind::Http).await;
}

#[tokio::test]
async fn grpc_delegate_down_costs_no_send_and_no_try() {
    a_delegate_that_is_down_costs_nothing(Kind::Grpc).await;
}

#[tokio::test]
async fn twilio_verify_sends_and_checks_under_gatehouses_rules() {
    let twilio = TwilioVerifyStandIn::start().await;
    let base_url = twilio.base_url();
    let otp = StandaloneOtp::with(WebhookSink::start(200).await, move |config| {
        config.otp.issuer = CodeIssuer::TwilioVerify;
        let verify = &mut config.otp.twilio_verify;
        verify.base_url = base_url.parse().unwrap();
        verify.account_sid = Some(ACCOUNT_SID.into());
        verify.auth_token = Some(Secret::new(AUTH_TOKEN));
        verify.service_sid = Some(SERVICE_SID.into());
    })
    .await;
    let number = phone(305);
    let flow = test_flow(&number);
    let delegate = CodeDelegate::from_config(&otp.config.otp).unwrap().unwrap();
    let probed = delegate.probe().await.unwrap();
    assert!(probed.contains("6 digits"), "{probed}");
    let mut stranger = otp.config.otp.clone();
    stranger.twilio_verify.auth_token = Some(Secret::new("not the token"));
    let refused = CodeDelegate::from_config(&stranger)
        .unwrap()
        .unwrap()
        .probe()
        .await;
    assert!(refused.unwrap_err().contains("error 20003"));

    twilio.state.lock().unwrap().down = true;
    let refused = otp.otp.issue(&flow, &number, None).await;
    assert!(matches!(refused, Err(OtpError::Delegate(_))), "{refused:?}");
    twilio.state.lock().unwrap().down = false;

    otp.otp.issue(&flow, &number, None).await.unwrap();
    let right = code(
        &twilio
            .code_for(number.as_str())
            .expect("Twilio texted a code"),
    );
    let start = twilio
        .sink
        .received()
        .into_iter()
        .rfind(|r| r.uri.ends_with("/Verifications"))
        .unwrap();
    let form = start.form();
    assert!(
        form.contains(&("To".into(), number.as_str().into())),
        "{form:?}"
    );
    assert!(form.contains(&("Channel".into(), "sms".into())), "{form:?}");

    let tried = otp.otp.verify(&flow, &number, &wrong(&right)).await;
    assert!(
        matches!(tried, Err(OtpError::WrongCode { attempts_left: 4 })),
        "Twilio's `pending` is a wrong code: {tried:?}"
    );
    otp.otp.verify(&flow, &number, &right).await.unwrap();
    assert_eq!(twilio.checks(), 2);

    // Twilio no longer has the number's verification (expired there: 404,
    // error 20404): not approved, a wrong try, not an outage.
    let other = phone(306);
    let flow = test_flow(&other);
    otp.otp.issue(&flow, &other, None).await.unwrap();
    let right = code(&twilio.code_for(other.as_str()).unwrap());
    twilio.state.lock().unwrap().codes.clear();
    let expired = otp.otp.verify(&flow, &other, &right).await;
    assert!(
        matches!(expired, Err(OtpError::WrongCode { attempts_left: 4 })),
        "{expired:?}"
    );
}

/// With closed sign-up, a stranger is never asked about at the delegate;
/// its answers must still take as long as a member's, which wait for a
/// slow delegate, or their timing tells who has an account.
#[tokio::test]
async fn strangers_answers_take_as_long_as_members_with_a_slow_delegate() {
    use gatehouse::config::Signup;
    use gatehouse::store::users::{self, Profile};
    use std::time::{Duration, Instant};

    let service = CodeService::default();
    let url = service.serve_http().await;
    let otp = StandaloneOtp::with(WebhookSink::start(200).await, move |config| {
        config.users.signup = Signup::Closed;
        config.otp.issuer = CodeIssuer::Http;
        config.otp.http.url = Some(url.parse().unwrap());
        config.otp.http.auth_token = Some(Secret::new(TOKEN));
    })
    .await;
    let delay = Duration::from_millis(300);
    service.set_delay(delay);
    let member = phone(320);
    let now = otp.clock.now();
    let known = member.clone();
    otp.store
        .run(move |conn| users::insert(conn, &known, &Profile::default(), false, now).map(drop))
        .await
        .unwrap();
    // The member's first code teaches gatehouse how long the delegate takes.
    otp.otp
        .issue(&test_flow(&member), &member, None)
        .await
        .unwrap();
    let wrong_code = wrong(&code(&service.code_for(member.as_str()).unwrap()));
    let guess = otp
        .otp
        .verify(&test_flow(&member), &member, &wrong_code)
        .await;
    assert!(
        matches!(guess, Err(OtpError::WrongCode { .. })),
        "{guess:?}"
    );

    for (n, stranger) in [phone(321), phone(322), phone(323)].iter().enumerate() {
        let started = Instant::now();
        otp.otp
            .issue(&test_flow(stranger), stranger, None)
            .await
            .unwrap();
        let sent = started.elapsed();
        let started = Instant::now();
        let guess = otp
            .otp
            .verify(&test_flow(stranger), stranger, &wrong_code)
            .await;
        let checked = started.elapsed();
        assert!(
            matches!(guess, Err(OtpError::WrongCode { .. })),
            "{guess:?}"
        );
        println!("stranger {n}: send {sent:?}, check {checked:?} (delegate {delay:?})");
        assert!(sent >= delay / 2, "a stranger's send took {sent:?}");
        assert!(checked >= delay / 2, "a stranger's check took {checked:?}");
    }
    assert_eq!(service.checks().len(), 1, "strangers are never asked about");
}
