//! The audit trail (issue 22): the rows real sign-ins write and
//! `gatehouse audit` finds (`trail`), the events sent to the operator's
//! receiver (`events`, against a real gatehouse; `outbox`, the worker alone
//! on a manual clock) and the retention (`retention`).

mod events;
mod outbox;
mod retention;
mod trail;

use std::time::Duration;

use gatehouse::config::{EventsConfig, Secret};
use gatehouse::infra::clock::Clock;
use gatehouse::infra::metrics::Metrics;
use gatehouse::signin::audit::AuditTrail;
use gatehouse::signin::otp::DeliveryTask;
use gatehouse::store::Store;
use serde_json::{Map, Value};

const START: i64 = 1_800_000_000;
/// The events receiver's secret in these tests.
const EVENTS_SECRET: &str = "test-events-signing-secret";

/// The `[events]` section for a receiver at `url`.
fn events_to(url: &str) -> EventsConfig {
    EventsConfig {
        url: Some(url.parse().unwrap()),
        hmac_secret: Some(Secret::new(EVENTS_SECRET)),
        ..EventsConfig::default()
    }
}

/// Every audit row of the instance's database (either engine), oldest
/// first, as JSON objects keyed by column (the phone's hash as hex).
pub async fn audit_rows(config: &gatehouse::config::Config) -> Vec<Map<String, Value>> {
    crate::helpers::white_box::rows(config, AUDIT_ROWS).await
}

const AUDIT_ROWS: &str = "SELECT * FROM audit_events ORDER BY id";

/// The audit trail and its events worker alone (no server, no Hydra) over a
/// real database (the engine `TEST_STORE_ENGINE` names), on a manual clock.
struct StandaloneTrail {
    _dir: tempfile::TempDir,
    /// Where the database is (the data dir, or `database.url`).
    config: gatehouse::config::Config,
    store: Store,
    trail: AuditTrail,
    clock: Clock,
    metrics: Metrics,
    /// The worker, once started.
    worker: Option<DeliveryTask>,
    events: EventsConfig,
}

impl StandaloneTrail {
    async fn new(events: EventsConfig) -> StandaloneTrail {
        crate::helpers::init_logging();
        let dir = tempfile::tempdir().unwrap();
        let mut config = gatehouse::config::Config {
            data_dir: dir.path().to_path_buf(),
            ..Default::default()
        };
        crate::helpers::app::on_test_database_engine(&mut config).await;
        let store = Store::open_configured(&config).unwrap();
        let clock = Clock::manual(START);
        let metrics = Metrics::new();
        let key = b"0123456789abcdef0123456789abcdef";
        let trail = AuditTrail::new(store.clone(), key, &events, clock.clone())
            .with_metrics(metrics.clone());
        StandaloneTrail {
            _dir: dir,
            config,
            store,
            trail,
            clock,
            metrics,
            worker: None,
            events,
        }
    }

    /// Starts the events worker, looking for retries every 20 ms.
    fn start_worker(&mut self) {
        let worker = self
            .trail
            .delivery(&self.events)
            .expect("events.url is set");
        self.worker = Some(worker.poll_every(Duration::from_millis(20)).spawn());
    }

    async fn rows(&self) -> Vec<Map<String, Value>> {
        crate::helpers::white_box::rows(&self.config, AUDIT_ROWS).await
    }
}
