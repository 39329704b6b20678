//! Refusals are cached too: a flood of one garbage or revoked token costs
//! one introspection per `negative_cache_ttl`, and the cache stays bounded.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512_256};

use super::{flood, machine_token};
use crate::helpers::TestApp;
use gatehouse::infra::data_dir::DataDir;

/// A token Hydra never issued but whose signature it would accept: signed
/// with the supervised Hydra's system secret, as fosite signs (HMAC-SHA512/256
/// of the key under SHA-256 of the secret). Hydra calls it inactive.
fn signed_garbage(app: &TestApp, key: &str) -> String {
    let secret_file = DataDir::new(&app.config.data_dir).hydra_system_secret();
    let secret = std::fs::read_to_string(secret_file).unwrap();
    let signing_key = Sha256::digest(secret.trim().as_bytes());
    let mut mac = Hmac::<Sha512_256>::new_from_slice(&signing_key).unwrap();
    mac.update(key.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("ory_at_{}.{signature}", URL_SAFE_NO_PAD.encode(key))
}

#[tokio::test]
async fn a_flood_of_one_bad_token_costs_one_introspection() {
    let app = TestApp::spawn_with(|c| {
        c.forward_auth.negative_cache_ttl = Duration::from_secs(60);
        c.forward_auth.cache_max_entries = 100;
    })
    .await;
    let forward_auth = app.state.forward_auth.clone();
    let calls = || forward_auth.introspection_calls();

    // Signed like Hydra's, so Hydra is asked (once).
    let before = calls();
    flood(&app, &signed_garbage(&app, "garbage"), 2_000, 401).await;
    assert_eq!(calls() - before, 1, "2,000 requests of one garbage token");

    // A revoked token: Hydra calls it inactive once, the cache after that.
    let good = machine_token(&app, "read").await;
    let revoked = machine_token(&app, "read").await;
    revoked.revoke(&app).await;
    let before = calls();
    flood(&app, &revoked.access, 2_000, 401).await;
    assert_eq!(calls() - before, 1, "2,000 requests of one revoked token");

    // Many different bad tokens: each costs its one introspection, but the
    // refusals kept stay within cache_max_entries, and they never push a
    // good answer out.
    flood(&app, &good.access, 1, 200).await;
    let good_cached = calls();
    for i in 0..300 {
        flood(&app, &signed_garbage(&app, &format!("garbage-{i}")), 1, 401).await;
        assert!(forward_auth.refused_entries() <= 100);
    }
    flood(&app, &good.access, 100, 200).await;
    assert_eq!(calls() - good_cached, 300, "the good token stayed cached");
}

#[tokio::test]
async fn a_refusal_is_asked_again_after_its_window() {
    let app =
        TestApp::spawn_with(|c| c.forward_auth.negative_cache_ttl = Duration::from_secs(1)).await;
    let forward_auth = app.state.forward_auth.clone();
    let before = forward_auth.introspection_calls();
    let garbage = signed_garbage(&app, "garbage");
    flood(&app, &garbage, 2, 401).await;
    assert_eq!(forward_auth.introspection_calls() - before, 1);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    flood(&app, &garbage, 1, 401).await;
    assert_eq!(forward_auth.introspection_calls() - before, 2);
}

/// Tokens Hydra cannot have issued (not `ory_at_<key>.<signature>` nor a
/// JWT's three parts, or not signed with its secret) are refused without
/// asking it, however many differ.
#[tokio::test]
async fn a_flood_of_tokens_no_hydra_issued_costs_no_introspection() {
    let app = TestApp::spawn().await;
    let forward_auth = app.state.forward_auth.clone();
    let good = machine_token(&app, "read").await;
    let (key, signature) = good.access.split_once('.').unwrap();
    let before = forward_auth.introspection_calls();
    for i in 0..200 {
        let random = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let mut other = signature.to_string();
        other.replace_range(
            i % 40..i % 40 + 1,
            if other[i % 40..].starts_with('A') {
                "B"
            } else {
                "A"
            },
        );
        for token in [
            // Shaped like Hydra's, with a signature it did not make.
            format!("ory_at_{random}.{random}"),
            format!("{key}.{other}"),
            format!("ory_at_{random}.{signature}"),
            format!("garbage-{i}"),
            format!("ory_rt_{i}.x"),
            format!("ory_at_{i}"),
            format!("a.b.c.{i}"),
            format!("ory_at_{i}.x={i}"),
            format!("ory_at_{i}.{}", "x".repeat(9000)),
        ] {
            flood(&app, &token, 1, 401).await;
        }
    }
    assert_eq!(forward_auth.introspection_calls(), before);
    assert_eq!(forward_auth.refused_entries(), 0, "nothing to remember");
    // The real token still passes.
    flood(&app, &good.access, 3, 200).await;
    assert_eq!(forward_auth.introspection_calls(), before + 1);
}
