//! Codes: one use, five tries, expiry, superseded by a newer one, never stored.

use super::{phone, test_flow, wrong, StandaloneOtp};
use gatehouse::signin::otp::OtpError;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_50_concurrent_correct_verifications_exactly_one_succeeds() {
    let fx = StandaloneOtp::new().await;
    let phone = phone(1);
    let code = fx.send_code(&phone).await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let otp = fx.otp.clone();
            let (phone, code) = (phone.clone(), code.clone());
            tokio::spawn(async move { otp.verify(&test_flow(&phone), &phone, &code).await })
        })
        .collect();
    let mut successes = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(user) => {
                successes += 1;
                assert_eq!(user.phone.as_deref(), Some(phone.as_str()));
            }
            Err(OtpError::Expired) => {}
            Err(other) => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert_eq!(successes, 1);
}

#[tokio::test]
async fn after_five_wrong_tries_even_the_right_code_fails() {
    let fx = StandaloneOtp::new().await;
    let phone = phone(2);
    let code = fx.send_code(&phone).await;
    for left in [4, 3, 2, 1] {
        match fx
            .otp
            .verify(&test_flow(&phone), &phone, &wrong(&code))
            .await
        {
            Err(OtpError::WrongCode { attempts_left }) => assert_eq!(attempts_left, left),
            other => panic!("expected a wrong-code answer, got {other:?}"),
        }
    }
    assert!(matches!(
        fx.otp
            .verify(&test_flow(&phone), &phone, &wrong(&code))
            .await,
        Err(OtpError::TooManyAttempts)
    ));
    // The 6th try, with the right code: the code is dead.
    assert!(matches!(
        fx.otp.verify(&test_flow(&phone), &phone, &code).await,
        Err(OtpError::TooManyAttempts)
    ));
    fx.clock.advance(31);
    let fresh = fx.send_code(&phone).await;
    fx.otp
        .verify(&test_flow(&phone), &phone, &fresh)
        .await
        .expect("a fresh code works");
}

#[tokio::test]
async fn expired_superseded_and_consumed_codes_fail() {
    let fx = StandaloneOtp::new().await;

    let expired_phone = phone(3);
    let code = fx.send_code(&expired_phone).await;
    fx.clock.advance(5 * 60);
    assert!(matches!(
        fx.otp
            .verify(&test_flow(&expired_phone), &expired_phone, &code)
            .await,
        Err(OtpError::Expired)
    ));

    let phone = phone(4);
    let mut first = fx.send_code(&phone).await;
    fx.clock.advance(31);
    let mut second = fx.send_code(&phone).await;
    while second == first {
        // One chance in a million: draw again so the test means something.
        fx.clock.advance(31);
        first = second;
        second = fx.send_code(&phone).await;
    }
    assert!(
        fx.otp
            .verify(&test_flow(&phone), &phone, &first)
            .await
            .is_err(),
        "a superseded code must fail"
    );
    fx.otp
        .verify(&test_flow(&phone), &phone, &second)
        .await
        .expect("newest code works");
    assert!(matches!(
        fx.otp.verify(&test_flow(&phone), &phone, &second).await,
        Err(OtpError::Expired)
    ));
}

#[tokio::test]
async fn the_database_holds_no_code() {
    let fx = StandaloneOtp::new().await;
    let phone = phone(13);
    let code = fx.send_code(&phone).await;
    let rows = fx
        .rows(&format!(
            "SELECT id, code_hash FROM otp_challenges WHERE phone = '{}'",
            phone.as_str()
        ))
        .await;
    let id = rows[0]["id"].as_str().unwrap();
    let hash = hex::decode(rows[0]["code_hash"].as_str().unwrap()).unwrap();
    assert_eq!(hash.len(), 32, "an HMAC-SHA256");
    assert_ne!(hash, code.digits().as_bytes());
    assert!(!hex::encode(&hash).contains(code.digits()));
    assert!(!id.contains(code.digits()));
    // Nowhere else in the SQLite file either (on PostgreSQL: the rows).
    let Some(file) = fx.sqlite_file() else {
        let everything = serde_json::to_string(&fx.rows("SELECT * FROM otp_challenges").await);
        assert!(!everything.unwrap().contains(code.digits()));
        return;
    };
    let bytes = std::fs::read(&file).unwrap();
    let wal = std::fs::read(file.with_extension("sqlite-wal")).unwrap_or_default();
    for file in [bytes, wal] {
        assert!(!file
            .windows(code.digits().len())
            .any(|w| w == code.digits().as_bytes()));
    }
}
