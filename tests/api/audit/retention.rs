//! `audit.retention`: the clean-up job removes rows past it and keeps the
//! rest (manual clock); events never delivered are given up after
//! `events.max_age`.

use std::time::Duration;

use super::{events_to, StandaloneTrail};
use crate::helpers::eventually;
use gatehouse::config::{Config, EventsConfig};
use gatehouse::domain::EventKind;
use gatehouse::jobs::{purge_expired, Retention};
use gatehouse::signin::audit::Event;

const DAY: i64 = 86_400;

fn subjects(fx: &StandaloneTrail) -> Vec<String> {
    fx.rows()
        .iter()
        .map(|r| r["subject"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn retention_removes_old_rows_and_keeps_new_ones() {
    let fx = StandaloneTrail::new(EventsConfig::default());
    fx.trail
        .record(Event::new(EventKind::SigninSucceeded).subject("old"))
        .await;
    fx.clock.advance(80 * DAY);
    fx.trail
        .record(Event::new(EventKind::SigninSucceeded).subject("new"))
        .await;
    fx.clock.advance(11 * DAY); // "old" is 91 days old, "new" 11

    let purged = purge_expired(&fx.store, &fx.clock, &Retention::default())
        .await
        .unwrap();
    assert_eq!(purged.audit_events, 1);
    assert_eq!(subjects(&fx), ["new"], "the default keeps 90 days");

    // audit.retention decides.
    let mut config = Config::default();
    config.audit.retention = Duration::from_secs(10 * DAY as u64);
    let retention = Retention::from_config(&config);
    let purged = purge_expired(&fx.store, &fx.clock, &retention)
        .await
        .unwrap();
    assert_eq!(purged.audit_events, 1);
    assert!(subjects(&fx).is_empty());
}

#[tokio::test]
async fn the_scheduled_job_applies_the_retention_and_gives_up_old_events() {
    // Events queued for a receiver that never comes (no worker runs).
    let fx = StandaloneTrail::new(events_to("http://127.0.0.1:9/events"));
    let logout = |subject| Event::new(EventKind::Logout).subject(subject);
    fx.trail.record(logout("ancient")).await;
    fx.clock.advance(15 * DAY);
    fx.trail.record(logout("stale")).await;
    fx.clock.advance(8 * DAY);
    fx.trail.record(logout("fresh")).await;
    let outbox = |fx: &StandaloneTrail| {
        let conn = crate::helpers::app::database(fx.dir.path());
        conn.query_row("SELECT count(*) FROM event_outbox", [], |row| {
            row.get::<_, i64>(0)
        })
        .unwrap()
    };
    assert_eq!(outbox(&fx), 3);
    let retention = Retention {
        audit: Duration::from_secs(20 * DAY as u64),
        events: Duration::from_secs(7 * DAY as u64),
    };
    let mut scheduler =
        gatehouse::jobs::start(fx.store.clone(), fx.clock.clone(), "* * * * * *", retention)
            .await
            .unwrap();
    eventually(Duration::from_secs(10), "the job purged", || {
        subjects(&fx) == ["stale", "fresh"] && outbox(&fx) == 1
    })
    .await;
    scheduler.shutdown().await.unwrap();
}
