//! The events worker alone, on a manual clock: a receiver down for an hour
//! gets every event afterwards, once each, in order per person; a failing
//! event holds back only its own person's; an event whose claim runs out
//! during its attempt is not sent twice.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::response::IntoResponse;
use serde_json::Value;

use super::{events_to, StandaloneTrail, EVENTS_SECRET};
use crate::helpers::sink::{signature_accepted, unix_now};
use crate::helpers::{eventually, WebhookSink};
use gatehouse::domain::{EventKind, PhoneNumber};
use gatehouse::signin::audit::Event;

/// What the receiver saw: each request's event id, ordering key (the
/// subject, else the phone) and the status it answered.
type Log = Arc<Mutex<Vec<(i64, String, u16)>>>;

/// A receiver answering 500 to the events `refuse` picks, 200 to the rest;
/// every request must carry a valid signature.
async fn receiver(
    refuse: impl Fn(&Value) -> bool + Clone + Send + Sync + 'static,
) -> (WebhookSink, Log) {
    let log = Log::default();
    let seen = log.clone();
    let sink = WebhookSink::answering("/events", move |_, request| {
        let signature = request.headers["x-gatehouse-signature"].to_str().unwrap();
        assert!(signature_accepted(
            EVENTS_SECRET,
            signature,
            &request.body,
            unix_now()
        ));
        let event = request.json();
        let key = event["subject"]
            .as_str()
            .or(event["phone"].as_str())
            .unwrap()
            .to_string();
        let status = if refuse(&event) { 500 } else { 200 };
        seen.lock()
            .unwrap()
            .push((event["id"].as_i64().unwrap(), key, status));
        std::future::ready(
            axum::http::StatusCode::from_u16(status)
                .unwrap()
                .into_response(),
        )
    })
    .await;
    (sink, log)
}

/// Moves the manual clock `step` seconds every 20 ms until `done` holds
/// (at most 30 s of real time: a busy machine delivers slowly).
async fn advance_until(fx: &StandaloneTrail, step: i64, what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if done() {
            return;
        }
        fx.clock.advance(step);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what}");
}

/// Per ordering key, the event ids in the order the receiver was asked.
fn asked_per_key(log: &Log) -> BTreeMap<String, Vec<i64>> {
    let mut per_key: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (id, key, _) in log.lock().unwrap().iter() {
        per_key.entry(key.clone()).or_default().push(*id);
    }
    per_key
}

fn delivered(log: &Log) -> Vec<i64> {
    let log = log.lock().unwrap();
    log.iter()
        .filter(|(_, _, status)| *status == 200)
        .map(|(id, _, _)| *id)
        .collect()
}

#[tokio::test]
async fn a_receiver_down_for_an_hour_gets_every_event_once_in_order_per_person() {
    let down = Arc::new(AtomicBool::new(true));
    let is_down = down.clone();
    let (sink, log) = receiver(move |_| is_down.load(Ordering::SeqCst)).await;
    let mut fx = StandaloneTrail::new(events_to(&sink.url)).await;
    fx.start_worker();
    let kinds = [
        EventKind::CodeSent,
        EventKind::SigninSucceeded,
        EventKind::ConsentGranted,
    ];
    for kind in kinds {
        for person in ["alice", "bob", "carol"] {
            fx.trail
                .record(Event::new(kind).subject(person).client("app"))
                .await;
        }
        let stranger = PhoneNumber::parse("+12015550631", None).unwrap();
        fx.trail
            .record(Event::new(EventKind::CodeRefused).phone(&stranger))
            .await;
    }
    let events = 12;

    // An hour down, seen in 30-second steps.
    for _ in 0..120 {
        fx.clock.advance(30);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let asked = log.lock().unwrap().len();
    assert!(asked > 0 && delivered(&log).is_empty());
    assert!(
        asked < 150,
        "{asked} attempts in the hour: the worker probes, it does not hammer"
    );
    // The worker measures the outbox every second.
    let age = || {
        let metrics = fx.metrics.render();
        let line = metrics
            .lines()
            .find(|l| l.starts_with("gatehouse_events_outbox_oldest_age_seconds "))
            .unwrap_or_default()
            .to_string();
        line.rsplit(' ')
            .next()
            .unwrap_or_default()
            .parse::<i64>()
            .unwrap_or(0)
    };
    eventually(
        Duration::from_secs(3),
        "the oldest event's age measured",
        || age() >= 3600,
    )
    .await;
    let metrics = fx.metrics.render();
    assert!(
        metrics.contains(&format!("gatehouse_events_outbox_depth {events}")),
        "{metrics}"
    );

    down.store(false, Ordering::SeqCst);
    advance_until(&fx, 5, "every event delivered after the outage", || {
        delivered(&log).len() >= events
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut once = delivered(&log);
    once.sort();
    let ids: Vec<i64> = fx
        .rows()
        .await
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(once, ids, "each event delivered exactly once");
    for (key, asked) in asked_per_key(&log) {
        assert!(asked.is_sorted(), "{key}'s events out of order: {asked:?}");
    }
    assert!(fx
        .metrics
        .render()
        .contains("gatehouse_event_deliveries_total{result=\"delivered\"} 12"));
}

#[tokio::test]
async fn a_failing_event_holds_back_only_its_own_persons_events() {
    let alice_refused = Arc::new(AtomicBool::new(true));
    let refused = alice_refused.clone();
    let (sink, log) =
        receiver(move |event| event["subject"] == "alice" && refused.load(Ordering::SeqCst)).await;
    let mut fx = StandaloneTrail::new(events_to(&sink.url)).await;
    fx.start_worker();
    for person in ["alice", "bob", "alice", "bob"] {
        fx.trail
            .record(Event::new(EventKind::SigninSucceeded).subject(person))
            .await;
    }
    let ids: Vec<i64> = fx
        .rows()
        .await
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    let (alice, bob) = ([ids[0], ids[2]], [ids[1], ids[3]]);

    advance_until(&fx, 2, "bob's events delivered", || delivered(&log) == bob).await;
    let asked = asked_per_key(&log);
    assert!(asked["alice"].iter().all(|id| *id == alice[0]), "{asked:?}");

    alice_refused.store(false, Ordering::SeqCst);
    advance_until(&fx, 5, "alice's events delivered", || {
        delivered(&log).len() == 4
    })
    .await;
    assert_eq!(delivered(&log)[2..], alice, "alice's in order, once each");
}

#[tokio::test]
async fn an_event_claimed_again_during_its_attempt_is_not_sent_twice() {
    // The receiver holds the first request while the clock passes its claim
    // (`events.timeout` 10 s plus a margin): the worker claims the event
    // again, and must not send it a second time.
    let (sink, release) = WebhookSink::held("/events").await;
    let mut fx = StandaloneTrail::new(events_to(&sink.url)).await;
    fx.start_worker();
    fx.trail
        .record(Event::new(EventKind::SigninSucceeded).subject("carol"))
        .await;
    sink.wait_for_requests(1).await;
    fx.clock.advance(60);
    // The worker looks at the outbox every 20 ms.
    tokio::time::sleep(Duration::from_millis(300)).await;
    release.send(true).unwrap();

    eventually(Duration::from_secs(5), "the event delivered", || {
        fx.metrics
            .render()
            .contains("gatehouse_event_deliveries_total{result=\"delivered\"}")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(sink.received().len(), 1, "sent once");
}
