//! What gatehouse remembers about each login or consent challenge it has
//! seen, for the challenge's lifetime: when it was first seen (so pages can
//! say how long is left and codes never outlive it), the client's original
//! authorization URL (to start again), and the answer already given (so a
//! double submit, reload or back button lands where the first one did).
//!
//! Hydra v2.3 challenges are stateless and carry no expiry we can read, so
//! gatehouse keeps this itself, in its database (`store::login_challenges`):
//! with several instances on one PostgreSQL, the steps of one sign-in may
//! reach different instances and each knows what the others saw. An
//! answered challenge is forgotten soon after: the answer only serves a
//! double submit or a reload; the clean-up job removes what is forgotten.
//!
//! These are comforts: when the database fails here, the flow goes on
//! without them (the steps that need the database fail on their own).

use sha2::{Digest, Sha256};

use crate::infra::clock::Clock;
use crate::store::{login_challenges, Store};

/// Longer authorization URLs are not kept (the flow still works, without
/// the offer to start again): the row stays small whatever a client sends.
const MAX_URL_BYTES: usize = 8 * 1024;
/// How long an answer is kept for a double submit, reload or back button.
const ANSWER_KEPT_SECONDS: i64 = 120;
/// How long an unanswered challenge is kept past its deadline, to offer
/// starting again to a person who comes back to the page late.
const EXPIRED_KEPT_SECONDS: i64 = 3600;

#[derive(Clone)]
pub struct ChallengeMemory {
    store: Store,
    lifetime: i64,
    clock: Clock,
}

impl ChallengeMemory {
    /// `lifetime`: Hydra's `login_consent_request_ttl`, in seconds.
    pub fn new(store: Store, lifetime: i64, clock: Clock) -> ChallengeMemory {
        ChallengeMemory {
            store,
            lifetime,
            clock,
        }
    }

    /// Records a challenge on first sight (by any instance); returns when it
    /// expires.
    pub async fn seen(&self, challenge: &str, request_url: &str) -> i64 {
        let deadline = self.clock.now() + self.lifetime;
        let url = match request_url.len() <= MAX_URL_BYTES {
            true => request_url.to_string(),
            false => String::new(),
        };
        let key = key(challenge);
        let seen = self
            .store
            .run(move |db| {
                let forget_at = deadline + EXPIRED_KEPT_SECONDS;
                login_challenges::seen(db, &key, &url, deadline, forget_at)
            })
            .await;
        seen.unwrap_or_else(|error| {
            tracing::warn!(%error, "the challenge memory is unavailable; going on without it");
            deadline
        })
    }

    pub async fn deadline(&self, challenge: &str) -> Option<i64> {
        self.find(challenge).await.map(|c| c.deadline)
    }

    /// The client's original authorization URL, to start the flow again.
    pub async fn request_url(&self, challenge: &str) -> Option<String> {
        self.find(challenge)
            .await
            .map(|c| c.request_url)
            .filter(|url| !url.is_empty())
    }

    /// Where the first answer to this challenge sent the browser.
    pub async fn answer(&self, challenge: &str) -> Option<String> {
        self.find(challenge).await.and_then(|c| c.answer)
    }

    /// Keeps the first answer to a challenge seen before, for a short while.
    pub async fn remember_answer(&self, challenge: &str, redirect_to: &str) {
        let forget_at = self.clock.now() + ANSWER_KEPT_SECONDS;
        let (key, answer) = (key(challenge), redirect_to.to_string());
        let kept = self
            .store
            .run(move |db| login_challenges::answer(db, &key, &answer, forget_at))
            .await;
        if let Err(error) = kept {
            tracing::warn!(%error, "a challenge's answer could not be remembered");
        }
    }

    async fn find(&self, challenge: &str) -> Option<login_challenges::Remembered> {
        let (key, now) = (key(challenge), self.clock.now());
        let found = self
            .store
            .run(move |db| login_challenges::find(db, &key, now))
            .await;
        found.unwrap_or_else(|error| {
            tracing::warn!(%error, "the challenge memory is unavailable; going on without it");
            None
        })
    }
}

/// Challenges are bearer secrets: keep only their hash.
fn key(challenge: &str) -> String {
    hex::encode(Sha256::digest(challenge.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(clock: &Clock, lifetime: i64) -> (ChallengeMemory, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("g.sqlite")).unwrap();
        (ChallengeMemory::new(store, lifetime, clock.clone()), dir)
    }

    #[tokio::test]
    async fn remembers_first_sight_url_and_answer() {
        let clock = Clock::manual(1000);
        let (memory, _dir) = memory(&clock, 600);
        assert_eq!(memory.seen("c1", "https://id/oauth2/auth?x").await, 1600);
        clock.advance(200);
        assert_eq!(
            memory.seen("c1", "ignored").await,
            1600,
            "first sight counts"
        );
        assert_eq!(
            memory.request_url("c1").await.as_deref(),
            Some("https://id/oauth2/auth?x")
        );
        assert_eq!(memory.answer("c1").await, None);
        memory.remember_answer("c1", "https://id/next").await;
        memory.remember_answer("c1", "https://id/second").await;
        assert_eq!(
            memory.answer("c1").await.as_deref(),
            Some("https://id/next"),
            "the first answer stays"
        );
        assert_eq!(memory.deadline("c2").await, None);
        memory.remember_answer("c2", "nowhere").await;
        assert_eq!(
            memory.answer("c2").await,
            None,
            "unknown challenges stay unknown"
        );
    }

    #[tokio::test]
    async fn answered_challenges_are_forgotten_soon_and_long_urls_are_not_kept() {
        let clock = Clock::manual(0);
        let (memory, _dir) = memory(&clock, 1800);
        memory.seen("answered", "https://id/auth").await;
        memory.remember_answer("answered", "https://id/next").await;
        memory.seen("open", "https://id/auth").await;
        clock.advance(ANSWER_KEPT_SECONDS - 1);
        assert!(
            memory.answer("answered").await.is_some(),
            "kept for a reload"
        );
        clock.advance(2);
        assert!(
            memory.answer("answered").await.is_none(),
            "forgotten after use"
        );
        assert!(memory.request_url("open").await.is_some(), "open ones stay");
        clock.advance(1800 + EXPIRED_KEPT_SECONDS - ANSWER_KEPT_SECONDS - 2);
        assert!(
            memory.request_url("open").await.is_some(),
            "an expired one, to start again"
        );
        clock.advance(1);
        assert_eq!(memory.request_url("open").await, None, "then forgotten");

        let url = "x".repeat(MAX_URL_BYTES + 1);
        assert_eq!(memory.seen("big", &url).await, clock.now() + 1800);
        assert_eq!(memory.request_url("big").await, None, "not kept");
        assert!(memory.deadline("big").await.is_some(), "the challenge is");
    }
}
