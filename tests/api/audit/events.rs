//! `[events] url` against a real gatehouse: each event arrives signed, and
//! a sign-in answers as fast while the receiver hangs as while it is up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::response::IntoResponse;
use serde_json::Value;

use super::{audit_rows, events_to, EVENTS_SECRET};
use crate::helpers::http_browser::HttpBrowser;
use crate::helpers::sink::{signature_accepted, unix_now};
use crate::helpers::world::{trusted, World};
use crate::helpers::{eventually, free_port, WebhookSink};

/// A receiver that answers 200 while `up`, and never answers otherwise.
async fn receiver(up: Arc<AtomicBool>) -> WebhookSink {
    WebhookSink::answering("/events", move |_, _| {
        let up = up.load(Ordering::SeqCst);
        async move {
            if !up {
                std::future::pending::<()>().await;
            }
            axum::http::StatusCode::OK.into_response()
        }
    })
    .await
}

async fn scrape(url: &str) -> String {
    reqwest::get(url).await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn events_arrive_signed_and_a_sign_in_never_waits_for_the_receiver() {
    let up = Arc::new(AtomicBool::new(true));
    let receiver = receiver(up.clone()).await;
    let port = free_port();
    let world = World::with(|config| {
        config.events = events_to(&receiver.url);
        config.events.timeout = Duration::from_secs(30);
        config.metrics.listen = Some(([127, 0, 0, 1], port).into());
    })
    .await;
    let client = world.client(trusted()).await;

    let phone = "+12015550621";
    let started = Instant::now();
    world
        .sign_in(&HttpBrowser::new(), &client, phone, "openid", false)
        .await;
    let with_receiver_up = started.elapsed();
    let received = receiver.wait_for_requests(3).await;
    let rows = audit_rows(&world.app.config).await;
    assert_eq!(received.len(), rows.len(), "one request per event");
    for (request, row) in received.iter().zip(&rows) {
        let signature = request.headers["x-gatehouse-signature"].to_str().unwrap();
        assert!(
            signature_accepted(EVENTS_SECRET, signature, &request.body, unix_now()),
            "{signature}"
        );
        let event: Value = request.json();
        assert_eq!(event["id"], row["id"]);
        assert_eq!(event["kind"], row["kind"]);
        assert_eq!(event["subject"], row["subject"]);
        assert_eq!(event["client_id"], client.id.as_str());
        assert!(event["time"].as_str().unwrap().ends_with('Z'), "{event}");
        let body = String::from_utf8(request.body.clone()).unwrap();
        assert!(!body.contains("2015550621"), "the number in clear: {body}");
    }
    let kinds: Vec<String> = received
        .iter()
        .map(|r| r.json()["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["code_sent", "signin_succeeded", "consent_granted"]);
    let metrics_url = format!("http://127.0.0.1:{port}/metrics");
    let metrics = scrape(&metrics_url).await;
    assert!(
        metrics.contains("gatehouse_audit_events_total{kind=\"signin_succeeded\",result=\"ok\"} 1"),
        "{metrics}"
    );

    // The receiver stops answering: the next sign-in goes just as well.
    up.store(false, Ordering::SeqCst);
    let started = Instant::now();
    world
        .sign_in(
            &HttpBrowser::new(),
            &client,
            "+12015550622",
            "openid",
            false,
        )
        .await;
    let with_receiver_down = started.elapsed();
    assert!(
        with_receiver_down < with_receiver_up + Duration::from_secs(3),
        "down: {with_receiver_down:?}, up: {with_receiver_up:?}"
    );
    // Its events wait in the outbox, measured for the metrics.
    let mut last = String::new();
    for _ in 0..50 {
        last = scrape(&metrics_url).await;
        if last.contains("gatehouse_events_outbox_depth 3") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(last.contains("gatehouse_events_outbox_depth 3"), "{last}");
    assert!(
        last.contains("gatehouse_events_outbox_oldest_age_seconds"),
        "{last}"
    );
    eventually(Duration::from_secs(5), "the receiver was asked", || {
        receiver.received().len() > 3
    })
    .await;
}
