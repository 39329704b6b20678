//! `audit.retention`: the clean-up job removes rows past it and keeps the
//! rest (manual clock); events never delivered are given up after
//! `events.max_age`.

use std::time::Duration;

use super::{events_to, StandaloneTrail};
use gatehouse::config::{Config, EventsConfig};
use gatehouse::domain::EventKind;
use gatehouse::jobs::{purge_expired, Retention};
use gatehouse::signin::audit::Event;

const DAY: i64 = 86_400;

async fn subjects(fx: &StandaloneTrail) -> Vec<String> {
    fx.rows()
        .await
        .iter()
        .map(|r| r["subject"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn retention_removes_old_rows_and_keeps_new_ones() {
    let fx = StandaloneTrail::new(EventsConfig::default()).await;
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
    assert_eq!(subjects(&fx).await, ["new"], "the default keeps 90 days");

    // audit.retention decides.
    let mut config = Config::default();
    config.audit.retention = Duration::from_secs(10 * DAY as u64);
    let retention = Retention::from_config(&config);
    let purged = purge_expired(&fx.store, &fx.clock, &retention)
        .await
        .unwrap();
    assert_eq!(purged.audit_events, 1);
    assert!(subjects(&fx).await.is_empty());
}

#[tokio::test]
async fn the_scheduled_job_applies_the_retention_and_gives_up_old_events() {
    // Events queued for a receiver that never comes (no worker runs).
    let fx = StandaloneTrail::new(events_to("http://127.0.0.1:9/events")).await;
    let logout = |subject| Event::new(EventKind::Logout).subject(subject);
    fx.trail.record(logout("ancient")).await;
    fx.clock.advance(15 * DAY);
    fx.trail.record(logout("stale")).await;
    fx.clock.advance(8 * DAY);
    fx.trail.record(logout("fresh")).await;
    let outbox = "SELECT count(*) FROM event_outbox";
    let outbox = || crate::helpers::white_box::number(&fx.config, outbox);
    assert_eq!(outbox().await, 3);
    let retention = Retention {
        audit: Duration::from_secs(20 * DAY as u64),
        events: Duration::from_secs(7 * DAY as u64),
    };
    let mut scheduler =
        gatehouse::jobs::start(fx.store.clone(), fx.clock.clone(), "* * * * * *", retention)
            .await
            .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while subjects(&fx).await != ["stale", "fresh"] || outbox().await != 1 {
        assert!(std::time::Instant::now() < deadline, "the job purged");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    scheduler.shutdown().await.unwrap();
}
