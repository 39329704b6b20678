//! The OTP rules, proved against a real database (SQLite, or PostgreSQL in
//! scripts/test's second pass) and a real HTTP webhook:
//! codes (`codes`), limits (`limits`), the SMS webhook (`webhook`) and the
//! outbox that feeds it (`outbox`), who may sign in (`users`) and the purge
//! of dead rows (`purge`).

mod adaptive;
mod codes;
pub(crate) mod delegate;
mod limits;
mod outbox;
mod purge;
mod sms_providers;
mod users;
mod webhook;

use std::path::PathBuf;
use std::time::Duration;

use crate::helpers::WebhookSink;
use gatehouse::config::{Config, Secret, SmsSenderKind};
use gatehouse::directory::Directory;
use gatehouse::domain::{FlowId, OtpCode, PhoneNumber};
use gatehouse::infra::clock::Clock;
use gatehouse::signin::otp::{DeliveryTask, Limit, OtpError, OtpPolicy, OtpService};
use gatehouse::sms::delegate::CodeDelegate;
use gatehouse::sms::SmsSender;
use gatehouse::store::Store;

const START: i64 = 1_800_000_000;
const HMAC_SECRET: &str = "test-webhook-signing-secret";

/// The OTP service on its own (no server, no Hydra) over a real database
/// (the engine `TEST_STORE_ENGINE` names), on a manual clock, sending
/// through a real HTTP webhook to `sink`.
struct StandaloneOtp {
    dir: tempfile::TempDir,
    config: Config,
    store: Store,
    otp: OtpService,
    /// The outbox worker sending `otp`'s messages to `sink`.
    delivery: DeliveryTask,
    clock: Clock,
    sink: WebhookSink,
}

impl StandaloneOtp {
    async fn new() -> StandaloneOtp {
        Self::with(WebhookSink::start(200).await, |_| {}).await
    }

    async fn with(sink: WebhookSink, customize: impl FnOnce(&mut Config)) -> StandaloneOtp {
        crate::helpers::init_logging();
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
        crate::helpers::app::on_test_database_engine(&mut config).await;
        let clock = Clock::manual(START);
        let (store, otp, delivery) = open(&config, &clock);
        StandaloneOtp {
            dir,
            config,
            store,
            otp,
            delivery,
            clock,
            sink,
        }
    }

    /// The SQLite file, for the checks of its bytes (None on PostgreSQL).
    fn sqlite_file(&self) -> Option<PathBuf> {
        let postgres = crate::helpers::white_box::is_postgres(&self.config);
        (!postgres).then(|| self.dir.path().join("gatehouse.sqlite"))
    }

    /// White-box reads of the database, on either engine.
    async fn rows(&self, sql: &str) -> Vec<serde_json::Map<String, serde_json::Value>> {
        crate::helpers::white_box::rows(&self.config, sql).await
    }

    async fn number(&self, sql: &str) -> i64 {
        crate::helpers::white_box::number(&self.config, sql).await
    }

    /// Stops the service and its outbox worker (as a crash would: sends in
    /// flight are cut off) and opens them again on the same database.
    fn reopen(&mut self) {
        let (store, otp, delivery) = open(&self.config, &self.clock);
        self.delivery = delivery;
        self.store = store;
        self.otp = otp;
    }

    /// Issues a code for `phone` and waits until the gateway has its text
    /// (the fixture's first request).
    async fn code_sent_to_gateway(&self, phone: &PhoneNumber) {
        self.otp
            .issue(&test_flow(phone), phone, None)
            .await
            .unwrap();
        self.sink.wait_for_requests(1).await;
    }

    /// Waits until the outbox has nothing left to send.
    async fn outbox_drained(&self) {
        crate::helpers::outbox_drained(&self.store).await;
    }

    async fn send_code(&self, phone: &PhoneNumber) -> OtpCode {
        self.otp
            .issue(&test_flow(phone), phone, Some("192.0.2.1".parse().unwrap()))
            .await
            .expect("code issued");
        let code = self.sink.code_for(phone.as_str()).await;
        OtpCode::parse(&code, 6).unwrap()
    }
}

/// The store, the service and its outbox worker, which looks for retries
/// that came due (the test moves the clock) every 20 ms.
fn open(config: &Config, clock: &Clock) -> (Store, OtpService, DeliveryTask) {
    let store = Store::open_configured(config).unwrap();
    let otp = OtpService::new(
        store.clone(),
        Directory::embedded(store.clone()),
        SmsSender::from_config(&config.sms, &config.server.public_url),
        OtpPolicy::from_config(config),
        b"0123456789abcdef0123456789abcdef",
        clock.clone(),
    )
    .with_delegate(CodeDelegate::from_config(&config.otp).unwrap());
    let delivery = otp.delivery().poll_every(Duration::from_millis(20)).spawn();
    (store, otp, delivery)
}

/// The sign-in flow these tests ask for `phone`'s codes in: one per phone,
/// as if each number were typed into its own login page.
fn test_flow(phone: &PhoneNumber) -> FlowId {
    FlowId::browser(&format!("test flow of {}", phone.as_str()))
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
