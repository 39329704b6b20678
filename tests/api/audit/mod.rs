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

/// Every audit row of the database in `data_dir`, oldest first, as JSON
/// objects keyed by column (the phone's hash as hex).
pub fn audit_rows(data_dir: &std::path::Path) -> Vec<Map<String, Value>> {
    let conn = crate::helpers::app::database(data_dir);
    let mut statement = conn
        .prepare("SELECT *, hex(phone_hash) AS phone_hash FROM audit_events ORDER BY id")
        .unwrap();
    let names: Vec<String> = statement
        .column_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    let rows = statement
        .query_map([], |row| {
            let mut object = Map::new();
            for (i, name) in names.iter().enumerate() {
                let value = match row.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => Value::Null,
                    rusqlite::types::ValueRef::Integer(n) => Value::from(n),
                    rusqlite::types::ValueRef::Text(text) => {
                        Value::from(String::from_utf8_lossy(text).into_owned())
                    }
                    other => Value::from(format!("{other:?}")),
                };
                object.insert(name.clone(), value);
            }
            Ok(object)
        })
        .unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

/// The audit trail and its events worker alone (no server, no Hydra) over a
/// real SQLite file, on a manual clock.
struct StandaloneTrail {
    dir: tempfile::TempDir,
    store: Store,
    trail: AuditTrail,
    clock: Clock,
    metrics: Metrics,
    /// The worker, once started.
    worker: Option<DeliveryTask>,
    events: EventsConfig,
}

impl StandaloneTrail {
    fn new(events: EventsConfig) -> StandaloneTrail {
        crate::helpers::init_logging();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("gatehouse.sqlite")).unwrap();
        let clock = Clock::manual(START);
        let metrics = Metrics::new();
        let key = b"0123456789abcdef0123456789abcdef";
        let trail = AuditTrail::new(store.clone(), key, &events, clock.clone())
            .with_metrics(metrics.clone());
        StandaloneTrail {
            dir,
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

    fn rows(&self) -> Vec<Map<String, Value>> {
        audit_rows(self.dir.path())
    }
}
