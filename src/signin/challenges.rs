//! What gatehouse remembers about each login or consent challenge it has
//! seen, for the challenge's lifetime: when it was first seen (so pages can
//! say how long is left and codes never outlive it), the client's original
//! authorization URL (to start again), and the answer already given (so a
//! double submit, reload or back button lands where the first one did).
//!
//! Hydra v2.3 challenges are stateless and carry no expiry we can read, so
//! this is kept in memory; after a restart a challenge is treated as new.
//! Memory is bounded in bytes, and an answered challenge is forgotten soon
//! after: the answer only serves a double submit or a reload.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::infra::clock::Clock;

/// Hydra's URLs carry kilobyte-long verifiers; this many bytes of them
/// cover thousands of sign-ins in flight. Beyond it new challenges are
/// simply not remembered (the flows still work, without those comforts).
const MAX_BYTES: usize = 8 * 1024 * 1024;
/// How long an answer is kept for a double submit, reload or back button.
const ANSWER_KEPT_SECONDS: i64 = 120;
/// Expired entries are swept every this many new challenges.
const SWEEP_EVERY: u32 = 512;

#[derive(Clone)]
pub struct ChallengeMemory {
    inner: Arc<Mutex<Memory>>,
    lifetime: i64,
    clock: Clock,
}

#[derive(Default)]
struct Memory {
    entries: HashMap<[u8; 32], Entry>,
    /// Bytes held, roughly: the URLs are the bulk of it.
    bytes: usize,
    inserts_since_sweep: u32,
}

struct Entry {
    /// When the challenge itself expires (Hydra's request TTL).
    deadline: i64,
    /// When this entry is dropped: the deadline, or soon after an answer.
    forget_at: i64,
    request_url: String,
    answer: Option<String>,
}

/// The map's own bytes per entry (key, times, string headers), roughly.
const ENTRY_OVERHEAD: usize = 128;

impl Entry {
    fn bytes(&self) -> usize {
        ENTRY_OVERHEAD + self.request_url.len() + self.answer.as_ref().map_or(0, String::len)
    }
}

impl Memory {
    fn sweep(&mut self, now: i64) {
        self.entries.retain(|_, e| e.forget_at > now);
        self.bytes = self.entries.values().map(Entry::bytes).sum();
        self.inserts_since_sweep = 0;
    }
}

impl ChallengeMemory {
    /// `lifetime`: Hydra's `login_consent_request_ttl`, in seconds.
    pub fn new(lifetime: i64, clock: Clock) -> ChallengeMemory {
        ChallengeMemory {
            inner: Arc::default(),
            lifetime,
            clock,
        }
    }

    /// Records a challenge on first sight; returns when it expires.
    pub fn seen(&self, challenge: &str, request_url: &str) -> i64 {
        let now = self.clock.now();
        let mut memory = self.lock();
        if let Some(entry) = memory.entries.get(&key(challenge)) {
            return entry.deadline;
        }
        let deadline = now + self.lifetime;
        memory.inserts_since_sweep += 1;
        let size = ENTRY_OVERHEAD + request_url.len();
        if memory.inserts_since_sweep >= SWEEP_EVERY || memory.bytes + size > MAX_BYTES {
            memory.sweep(now);
        }
        if memory.bytes + size <= MAX_BYTES {
            memory.bytes += size;
            memory.entries.insert(
                key(challenge),
                Entry {
                    deadline,
                    forget_at: deadline,
                    request_url: request_url.to_string(),
                    answer: None,
                },
            );
        }
        deadline
    }

    pub fn deadline(&self, challenge: &str) -> Option<i64> {
        self.lock().entries.get(&key(challenge)).map(|e| e.deadline)
    }

    /// The client's original authorization URL, to start the flow again.
    pub fn request_url(&self, challenge: &str) -> Option<String> {
        self.lock()
            .entries
            .get(&key(challenge))
            .map(|e| e.request_url.clone())
            .filter(|url| !url.is_empty())
    }

    /// Where the first answer to this challenge sent the browser.
    pub fn answer(&self, challenge: &str) -> Option<String> {
        self.lock()
            .entries
            .get(&key(challenge))
            .and_then(|e| e.answer.clone())
    }

    pub fn remember_answer(&self, challenge: &str, redirect_to: &str) {
        let now = self.clock.now();
        let mut memory = self.lock();
        let fits = memory.bytes + redirect_to.len() <= MAX_BYTES;
        let Some(entry) = memory.entries.get_mut(&key(challenge)) else {
            return;
        };
        entry.forget_at = entry.forget_at.min(now + ANSWER_KEPT_SECONDS);
        if fits && entry.answer.is_none() {
            entry.answer = Some(redirect_to.to_string());
            memory.bytes += redirect_to.len();
        }
    }

    /// Bytes held now, roughly (for tests).
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        // A panic while holding the lock cannot leave an entry half-written.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
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
        let clock = Clock::manual(1000);
        let memory = ChallengeMemory::new(600, clock.clone());
        assert_eq!(memory.seen("c1", "https://id/oauth2/auth?x"), 1600);
        clock.advance(200);
        assert_eq!(memory.seen("c1", "ignored"), 1600, "first sight counts");
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

    #[test]
    fn answered_challenges_are_forgotten_soon_and_memory_is_bounded() {
        let clock = Clock::manual(0);
        let memory = ChallengeMemory::new(1800, clock.clone());
        memory.seen("answered", "https://id/auth");
        memory.remember_answer("answered", "https://id/next");
        memory.seen("open", "https://id/auth");
        clock.advance(ANSWER_KEPT_SECONDS - 1);
        assert!(memory.answer("answered").is_some(), "kept for a reload");
        clock.advance(2);
        // Sweeps come with new challenges.
        for i in 0..SWEEP_EVERY {
            memory.seen(&format!("c{i}"), "u");
        }
        assert!(memory.answer("answered").is_none(), "forgotten after use");
        assert!(memory.request_url("open").is_some(), "open ones stay");

        // Kilobyte URLs: memory stops growing at the bound.
        let url = "x".repeat(4096);
        for i in 0..(MAX_BYTES / 4096 + 100) {
            memory.seen(&format!("big{i}"), &url);
        }
        assert!(memory.bytes() <= MAX_BYTES, "{}", memory.bytes());
        assert!(memory.bytes() > MAX_BYTES - 2 * (4096 + ENTRY_OVERHEAD));
    }
}
