//! What gatehouse remembers about each login or consent challenge it has
//! seen, for the challenge's lifetime: when it was first seen (so pages can
//! say how long is left and codes never outlive it), the client's original
//! authorization URL (to start again), and the answer already given (so a
//! double submit, reload or back button lands where the first one did).
//!
//! Hydra v2.3 challenges are stateless and carry no expiry we can read, so
//! this is kept in memory; after a restart a challenge is treated as new.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

/// Enough for every sign-in in flight on one machine; beyond it new
/// challenges are simply not remembered (the flows still work).
const MAX_ENTRIES: usize = 100_000;

#[derive(Clone)]
pub struct ChallengeMemory {
    entries: Arc<Mutex<HashMap<[u8; 32], Entry>>>,
    lifetime: i64,
}

#[derive(Clone)]
struct Entry {
    deadline: i64,
    request_url: String,
    answer: Option<String>,
}

impl ChallengeMemory {
    /// `lifetime`: Hydra's `login_consent_request_ttl`, in seconds.
    pub fn new(lifetime: i64) -> ChallengeMemory {
        ChallengeMemory {
            entries: Arc::default(),
            lifetime,
        }
    }

    /// Records a challenge on first sight; returns when it expires.
    pub fn seen(&self, challenge: &str, request_url: &str, now: i64) -> i64 {
        let mut entries = self.lock();
        if let Some(entry) = entries.get(&key(challenge)) {
            return entry.deadline;
        }
        let deadline = now + self.lifetime;
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.deadline > now);
        }
        if entries.len() < MAX_ENTRIES {
            entries.insert(
                key(challenge),
                Entry {
                    deadline,
                    request_url: request_url.to_string(),
                    answer: None,
                },
            );
        }
        deadline
    }

    pub fn deadline(&self, challenge: &str) -> Option<i64> {
        self.lock().get(&key(challenge)).map(|e| e.deadline)
    }

    /// The client's original authorization URL, to start the flow again.
    pub fn request_url(&self, challenge: &str) -> Option<String> {
        self.lock()
            .get(&key(challenge))
            .map(|e| e.request_url.clone())
            .filter(|url| !url.is_empty())
    }

    /// Where the first answer to this challenge sent the browser.
    pub fn answer(&self, challenge: &str) -> Option<String> {
        self.lock()
            .get(&key(challenge))
            .and_then(|e| e.answer.clone())
    }

    pub fn remember_answer(&self, challenge: &str, redirect_to: &str) {
        if let Some(entry) = self.lock().get_mut(&key(challenge)) {
            entry.answer = Some(redirect_to.to_string());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Entry>> {
        // A panic while holding the lock cannot leave an entry half-written.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Challenges are bearer secrets: keep only their hash.
fn key(challenge: &str) -> [u8; 32] {
    Sha256::digest(challenge.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_first_sight_url_and_answer() {
        let memory = ChallengeMemory::new(600);
        assert_eq!(memory.seen("c1", "https://id/oauth2/auth?x", 1000), 1600);
        assert_eq!(
            memory.seen("c1", "ignored", 1200),
            1600,
            "first sight counts"
        );
        assert_eq!(
            memory.request_url("c1").as_deref(),
            Some("https://id/oauth2/auth?x")
        );
        assert_eq!(memory.answer("c1"), None);
        memory.remember_answer("c1", "https://id/next");
        assert_eq!(memory.answer("c1").as_deref(), Some("https://id/next"));
        assert_eq!(memory.deadline("c2"), None);
        memory.remember_answer("c2", "nowhere");
        assert_eq!(memory.answer("c2"), None, "unknown challenges stay unknown");
    }
}
