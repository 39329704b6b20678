//! A cached answer is asked about again between half and three quarters of
//! `cache_ttl`, in the background: requests keep the answer meanwhile, so
//! none waits for Hydra when it would have expired, a flood makes one
//! refresh, and a token revoked meanwhile is refused from the refresh on.

use std::time::{Duration, Instant};

use super::{flood, machine_token};
use crate::helpers::TestApp;

/// Waits until `done` holds (at most 3 s).
async fn wait_for(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(3), "no {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn sleep_until(at: Instant) {
    tokio::time::sleep_until(at.into()).await;
}

#[tokio::test]
async fn a_cached_answer_is_asked_again_before_it_expires_once_for_a_flood() {
    let app = TestApp::spawn_with(|c| c.forward_auth.cache_ttl = Duration::from_secs(4)).await;
    let forward_auth = app.state.forward_auth.clone();
    let token = machine_token(&app, "read").await;
    let before = forward_auth.introspection_calls();
    let cached_at = Instant::now();
    flood(&app, &token.access, 1, 200).await;
    assert_eq!(forward_auth.introspection_calls(), before + 1);

    // Past three quarters of the window: 100 requests, all answered from
    // the cache, and one of them starts the one refresh.
    sleep_until(cached_at + Duration::from_millis(3_200)).await;
    flood(&app, &token.access, 100, 200).await;
    let calls = || forward_auth.introspection_calls();
    wait_for("refresh", || calls() == before + 2).await;

    // Past the first answer's expiry the refreshed one holds: nobody asks.
    sleep_until(cached_at + Duration::from_millis(4_500)).await;
    flood(&app, &token.access, 50, 200).await;
    assert_eq!(
        forward_auth.introspection_calls(),
        before + 2,
        "one refresh for the flood, none after the first answer's expiry"
    );
}

#[tokio::test]
async fn a_token_revoked_while_cached_is_refused_from_its_refresh_on() {
    let ttl = Duration::from_secs(6);
    let app = TestApp::spawn_with(|c| c.forward_auth.cache_ttl = ttl).await;
    let forward_auth = app.state.forward_auth.clone();
    let token = machine_token(&app, "read").await;
    let before = forward_auth.introspection_calls();
    let cached_at = Instant::now();
    flood(&app, &token.access, 1, 200).await;
    token.revoke(&app).await;

    // Within cache_ttl the cached answer still holds (what the setting
    // promises); the first request past three quarters starts the refresh.
    sleep_until(cached_at + Duration::from_millis(4_600)).await;
    flood(&app, &token.access, 1, 200).await;
    wait_for("refusal", || forward_auth.refused_entries() == 1).await;
    assert_eq!(forward_auth.cached_entries(), 0, "the good answer is gone");
    flood(&app, &token.access, 20, 401).await;
    assert!(
        cached_at.elapsed() < ttl,
        "refused before the old answer expired"
    );
    assert_eq!(
        forward_auth.introspection_calls(),
        before + 2,
        "the refusal is kept"
    );
}
