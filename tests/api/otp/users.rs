//! Who gets a code and who signs in: closed and automatic sign-up, disabled
//! users.

use super::{assert_throttled, phone, test_flow, wrong, StandaloneOtp};
use crate::helpers::WebhookSink;
use gatehouse::config::Signup;
use gatehouse::domain::OtpCode;
use gatehouse::signin::otp::{Limit, OtpError};
use gatehouse::store::users::{self, Profile};
use gatehouse::store::Store;

#[tokio::test]
async fn closed_signup_answers_unknown_phones_like_known_ones() {
    let fx = StandaloneOtp::with(WebhookSink::start(200).await, |c| {
        c.users.signup = Signup::Closed
    })
    .await;
    let known = phone(14);
    let unknown = phone(15);
    let disabled = phone(16);
    let now = fx.clock.now();
    fx.store
        .run({
            let (known, disabled) = (known.clone(), disabled.clone());
            move |conn| {
                users::insert(conn, &known, &Profile::default(), false, now)?;
                let user = users::insert(conn, &disabled, &Profile::default(), false, now)?;
                users::set_disabled(conn, &user.id, true, now)?;
                Ok(())
            }
        })
        .await
        .unwrap();

    let known_answer = fx
        .otp
        .issue(&test_flow(&known), &known, None)
        .await
        .unwrap();
    let unknown_answer = fx
        .otp
        .issue(&test_flow(&unknown), &unknown, None)
        .await
        .unwrap();
    let disabled_answer = fx
        .otp
        .issue(&test_flow(&disabled), &disabled, None)
        .await
        .unwrap();
    assert_eq!(known_answer, unknown_answer);
    assert_eq!(known_answer, disabled_answer);
    fx.outbox_drained().await;
    let sent: Vec<_> = fx
        .sink
        .received()
        .iter()
        .map(|r| r.json()["phone"].clone())
        .collect();
    assert_eq!(
        sent,
        vec![known.as_str()],
        "only the known, enabled phone gets a message"
    );

    // Verifying behaves alike too: a wrong code is a wrong code.
    let guess = OtpCode::parse("000000", 6).unwrap();
    for phone in [&unknown, &disabled] {
        assert!(matches!(
            fx.otp.verify(&test_flow(phone), phone, &guess).await,
            Err(OtpError::WrongCode { attempts_left: 4 })
        ));
        // Limits apply to unknown phones as well.
        assert_throttled(
            fx.otp.issue(&test_flow(phone), phone, None).await,
            Limit::ResendCooldown,
            30,
        );
    }
    let code = OtpCode::parse(&fx.sink.code_for(known.as_str()).await, 6).unwrap();
    let user = fx
        .otp
        .verify(&test_flow(&known), &known, &code)
        .await
        .unwrap();
    assert!(user.phone_verified);
}

#[tokio::test]
async fn auto_signup_creates_the_user_on_the_first_verified_login_only() {
    let fx = StandaloneOtp::new().await;
    let phone = phone(17);
    let count = |store: Store| async move {
        store
            .run(|conn| Ok(users::list(conn)?.len()))
            .await
            .unwrap()
    };
    let code = fx.send_code(&phone).await;
    assert_eq!(count(fx.store.clone()).await, 0, "no user on code request");
    assert!(fx
        .otp
        .verify(&test_flow(&phone), &phone, &wrong(&code))
        .await
        .is_err());
    assert_eq!(count(fx.store.clone()).await, 0, "no user on a wrong code");
    let user = fx
        .otp
        .verify(&test_flow(&phone), &phone, &code)
        .await
        .unwrap();
    assert_eq!(count(fx.store.clone()).await, 1);
    assert_eq!(user.phone.as_deref(), Some(phone.as_str()));
    assert!(user.phone_verified);
    assert_eq!(user.id.len(), 32, "an opaque 128-bit id");

    // The same person next time is the same subject.
    fx.clock.advance(31);
    let again = fx.send_code(&phone).await;
    assert_eq!(
        fx.otp
            .verify(&test_flow(&phone), &phone, &again)
            .await
            .unwrap()
            .id,
        user.id
    );
}

#[tokio::test]
async fn a_disabled_user_cannot_sign_in_even_with_a_code_in_hand() {
    let fx = StandaloneOtp::new().await;
    let phone = phone(18);
    let code = fx.send_code(&phone).await;
    let first = fx
        .otp
        .verify(&test_flow(&phone), &phone, &code)
        .await
        .unwrap();
    fx.clock.advance(31);
    let code = fx.send_code(&phone).await;
    let now = fx.clock.now();
    fx.store
        .run(move |conn| users::set_disabled(conn, &first.id, true, now))
        .await
        .unwrap();
    assert!(matches!(
        fx.otp.verify(&test_flow(&phone), &phone, &code).await,
        Err(OtpError::Disabled)
    ));
}
