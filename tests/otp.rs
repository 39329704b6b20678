//! The OTP rules, proved against a real SQLite file and a real HTTP webhook.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{capture_logs, WebhookSink};
use gatehouse::config::{Config, Secret, Signup, SmsSenderKind};
use gatehouse::directory::Directory;
use gatehouse::domain::{OtpCode, PhoneNumber};
use gatehouse::infra::clock::Clock;
use gatehouse::signin::otp::{Limit, OtpError, OtpPolicy, OtpService};
use gatehouse::sms::SmsSender;
use gatehouse::store::users::{self, Profile};
use gatehouse::store::Store;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const START: i64 = 1_800_000_000;
const HMAC_SECRET: &str = "test-webhook-signing-secret";

struct Fixture {
    dir: tempfile::TempDir,
    config: Config,
    store: Store,
    otp: OtpService,
    clock: Clock,
    sink: WebhookSink,
}

impl Fixture {
    async fn new() -> Fixture {
        Self::with(WebhookSink::start(200).await, |_| {}).await
    }

    async fn with(sink: WebhookSink, customize: impl FnOnce(&mut Config)) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        config.sms.sender = SmsSenderKind::Webhook {
            url: sink.url.parse().unwrap(),
        };
        config.sms.webhook.hmac_secret = Some(Secret::new(HMAC_SECRET));
        config.sms.webhook.bearer_token = Some(Secret::new("sms-token"));
        customize(&mut config);
        let clock = Clock::manual(START);
        let (store, otp) = open(&config, &clock);
        Fixture {
            dir,
            config,
            store,
            otp,
            clock,
            sink,
        }
    }

    fn database(&self) -> PathBuf {
        self.dir.path().join("gatehouse.sqlite")
    }

    /// Drops the service and the pool and opens them again on the same file.
    fn reopen(&mut self) {
        let (store, otp) = open(&self.config, &self.clock);
        self.store = store;
        self.otp = otp;
    }

    async fn send_code(&self, phone: &PhoneNumber) -> OtpCode {
        self.otp
            .issue(phone, Some("192.0.2.1".parse().unwrap()))
            .await
            .expect("code issued");
        let code = self
            .sink
            .last_code_for(phone.as_str())
            .expect("the webhook received the code");
        OtpCode::parse(&code, 6).unwrap()
    }
}

fn open(config: &Config, clock: &Clock) -> (Store, OtpService) {
    let store = Store::open(&config.data_dir.join("gatehouse.sqlite")).unwrap();
    let otp = OtpService::new(
        store.clone(),
        Directory::embedded(store.clone()),
        SmsSender::from_config(&config.sms),
        OtpPolicy::from_config(config),
        b"0123456789abcdef0123456789abcdef",
        clock.clone(),
    );
    (store, otp)
}

fn phone(n: u32) -> PhoneNumber {
    PhoneNumber::parse(&format!("+1201555{n:04}"), None).unwrap()
}

/// A code that is not `code` (same length).
fn wrong(code: &OtpCode) -> OtpCode {
    let flipped: String = code
        .digits()
        .chars()
        .map(|c| if c == '0' { '1' } else { '0' })
        .collect();
    OtpCode::parse(&flipped, 6).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_50_concurrent_correct_verifications_exactly_one_succeeds() {
    let fx = Fixture::new().await;
    let phone = phone(1);
    let code = fx.send_code(&phone).await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let otp = fx.otp.clone();
            let (phone, code) = (phone.clone(), code.clone());
            tokio::spawn(async move { otp.verify(&phone, &code).await })
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
    let fx = Fixture::new().await;
    let phone = phone(2);
    let code = fx.send_code(&phone).await;
    for left in [4, 3, 2, 1] {
        match fx.otp.verify(&phone, &wrong(&code)).await {
            Err(OtpError::WrongCode { attempts_left }) => assert_eq!(attempts_left, left),
            other => panic!("expected a wrong-code answer, got {other:?}"),
        }
    }
    assert!(matches!(
        fx.otp.verify(&phone, &wrong(&code)).await,
        Err(OtpError::TooManyAttempts)
    ));
    // The 6th try, with the right code: the code is dead.
    assert!(matches!(
        fx.otp.verify(&phone, &code).await,
        Err(OtpError::TooManyAttempts)
    ));
    fx.clock.advance(31);
    let fresh = fx.send_code(&phone).await;
    fx.otp
        .verify(&phone, &fresh)
        .await
        .expect("a fresh code works");
}

#[tokio::test]
async fn expired_superseded_and_consumed_codes_fail() {
    let fx = Fixture::new().await;

    let expired_phone = phone(3);
    let code = fx.send_code(&expired_phone).await;
    fx.clock.advance(5 * 60);
    assert!(matches!(
        fx.otp.verify(&expired_phone, &code).await,
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
        fx.otp.verify(&phone, &first).await.is_err(),
        "a superseded code must fail"
    );
    fx.otp
        .verify(&phone, &second)
        .await
        .expect("newest code works");
    assert!(matches!(
        fx.otp.verify(&phone, &second).await,
        Err(OtpError::Expired)
    ));
}

fn assert_throttled(result: Result<impl std::fmt::Debug, OtpError>, limit: Limit, wait: u64) {
    match result {
        Err(OtpError::Throttled {
            limit: l,
            retry_after,
        }) => {
            assert_eq!(l, limit);
            assert_eq!(retry_after, Duration::from_secs(wait));
        }
        other => panic!("expected {limit:?} throttling, got {other:?}"),
    }
}

#[tokio::test]
async fn cooldown_and_hourly_caps_report_the_wait_and_survive_a_restart() {
    let mut fx = Fixture::with(WebhookSink::start(200).await, |c| {
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
    let sink = WebhookSink::start(200).await;
    let url = sink.url.clone();
    let app = common::TestApp::spawn_with(|c| {
        c.sms.sender = SmsSenderKind::Webhook {
            url: url.parse().unwrap(),
        };
    })
    .await;
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

fn signature_of(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(HMAC_SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn webhook_receives_json_with_a_valid_signature() {
    let fx = Fixture::new().await;
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
    let fx = Fixture::with(WebhookSink::scripted(vec![500, 500, 200]).await, |_| {}).await;
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
    let fx = Fixture::with(WebhookSink::start(400).await, |_| {}).await;
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
    let fx = Fixture::with(WebhookSink::hanging().await, |c| {
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
    let fx2 = Fixture::with(WebhookSink::scripted(vec![503, 200]).await, |_| {}).await;
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

#[tokio::test]
async fn the_database_holds_no_code() {
    let fx = Fixture::new().await;
    let phone = phone(13);
    let code = fx.send_code(&phone).await;
    let conn = rusqlite::Connection::open(fx.database()).unwrap();
    let (id, hash): (String, Vec<u8>) = conn
        .query_row(
            "SELECT id, code_hash FROM otp_challenges WHERE phone = ?1",
            [phone.as_str()],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(hash.len(), 32, "an HMAC-SHA256");
    assert_ne!(hash, code.digits().as_bytes());
    assert!(!hex::encode(&hash).contains(code.digits()));
    assert!(!id.contains(code.digits()));
    // Nowhere else in the file either.
    drop(conn);
    let bytes = std::fs::read(fx.database()).unwrap();
    let wal = std::fs::read(fx.database().with_extension("sqlite-wal")).unwrap_or_default();
    for file in [bytes, wal] {
        assert!(!file
            .windows(code.digits().len())
            .any(|w| w == code.digits().as_bytes()));
    }
}

#[tokio::test]
async fn closed_signup_answers_unknown_phones_like_known_ones() {
    let fx = Fixture::with(WebhookSink::start(200).await, |c| {
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

    let known_answer = fx.otp.issue(&known, None).await.unwrap();
    let unknown_answer = fx.otp.issue(&unknown, None).await.unwrap();
    let disabled_answer = fx.otp.issue(&disabled, None).await.unwrap();
    assert_eq!(known_answer, unknown_answer);
    assert_eq!(known_answer, disabled_answer);
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
            fx.otp.verify(phone, &guess).await,
            Err(OtpError::WrongCode { attempts_left: 4 })
        ));
        // Limits apply to unknown phones as well.
        assert_throttled(fx.otp.issue(phone, None).await, Limit::ResendCooldown, 30);
    }
    let code = OtpCode::parse(&fx.sink.last_code_for(known.as_str()).unwrap(), 6).unwrap();
    let user = fx.otp.verify(&known, &code).await.unwrap();
    assert!(user.phone_verified);
}

#[tokio::test]
async fn auto_signup_creates_the_user_on_the_first_verified_login_only() {
    let fx = Fixture::new().await;
    let phone = phone(17);
    let count = |store: Store| async move {
        store
            .run(|conn| Ok(users::list(conn)?.len()))
            .await
            .unwrap()
    };
    let code = fx.send_code(&phone).await;
    assert_eq!(count(fx.store.clone()).await, 0, "no user on code request");
    assert!(fx.otp.verify(&phone, &wrong(&code)).await.is_err());
    assert_eq!(count(fx.store.clone()).await, 0, "no user on a wrong code");
    let user = fx.otp.verify(&phone, &code).await.unwrap();
    assert_eq!(count(fx.store.clone()).await, 1);
    assert_eq!(user.phone.as_deref(), Some(phone.as_str()));
    assert!(user.phone_verified);
    assert_eq!(user.id.len(), 32, "an opaque 128-bit id");

    // The same person next time is the same subject.
    fx.clock.advance(31);
    let again = fx.send_code(&phone).await;
    assert_eq!(fx.otp.verify(&phone, &again).await.unwrap().id, user.id);
}

#[tokio::test]
async fn a_disabled_user_cannot_sign_in_even_with_a_code_in_hand() {
    let fx = Fixture::new().await;
    let phone = phone(18);
    let code = fx.send_code(&phone).await;
    let first = fx.otp.verify(&phone, &code).await.unwrap();
    fx.clock.advance(31);
    let code = fx.send_code(&phone).await;
    let now = fx.clock.now();
    fx.store
        .run(move |conn| users::set_disabled(conn, &first.id, true, now))
        .await
        .unwrap();
    assert!(matches!(
        fx.otp.verify(&phone, &code).await,
        Err(OtpError::Disabled)
    ));
}

#[tokio::test]
async fn purge_removes_dead_rows_and_keeps_live_ones() {
    let fx = Fixture::new().await;
    let (expired, used, live) = (phone(19), phone(20), phone(21));
    fx.send_code(&expired).await;
    fx.clock.advance(4 * 60);
    let code = fx.send_code(&used).await;
    fx.otp.verify(&used, &code).await.unwrap();
    let live_code = fx.send_code(&live).await;
    fx.clock.advance(60 + 1); // the first code is now expired, the others are not

    let purged = gatehouse::jobs::purge_expired(&fx.store, &fx.clock)
        .await
        .unwrap();
    assert_eq!(purged.challenges, 2, "the expired and the used code");
    assert_eq!(purged.rate_limit_events, 0, "all sends are within the hour");
    let phones: Vec<String> = {
        let conn = rusqlite::Connection::open(fx.config.data_dir.join("gatehouse.sqlite")).unwrap();
        let mut statement = conn.prepare("SELECT phone FROM otp_challenges").unwrap();
        let rows = statement.query_map([], |row| row.get(0)).unwrap();
        rows.collect::<Result<Vec<String>, _>>().unwrap()
    };
    assert_eq!(phones, vec![live.as_str().to_string()]);
    fx.otp
        .verify(&live, &live_code)
        .await
        .expect("live code still works");

    fx.clock.advance(3600);
    let purged = gatehouse::jobs::purge_expired(&fx.store, &fx.clock)
        .await
        .unwrap();
    assert_eq!(
        purged.rate_limit_events, 6,
        "phone and IP rows of three sends"
    );
}

#[tokio::test]
async fn the_scheduled_job_runs_the_purge() {
    let fx = Fixture::new().await;
    fx.send_code(&phone(22)).await;
    fx.clock.advance(10 * 60);
    let mut scheduler = gatehouse::jobs::start(fx.store.clone(), fx.clock.clone(), "* * * * * *")
        .await
        .unwrap();
    let conn = rusqlite::Connection::open(fx.database()).unwrap();
    common::eventually(Duration::from_secs(10), "the purge job ran", || {
        conn.query_row("SELECT COUNT(*) FROM otp_challenges", [], |row| {
            row.get::<_, i64>(0)
        })
        .unwrap()
            == 0
    })
    .await;
    scheduler.shutdown().await.unwrap();
}
