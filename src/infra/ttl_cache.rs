//! Answers about bearer secrets (tokens, login challenges), kept by the
//! secret's SHA-256 for a while and bounded in size, so a flood of made-up
//! secrets cannot grow memory.
//!
//! An answer may name a time from which it is asked again ahead of its
//! expiry: the first lookup after that time is told to refresh it (and only
//! that one), while every lookup keeps getting the answer until it expires.
//! Times are in the one unit a cache's owner picks (forward auth: unix
//! milliseconds; the login requests: unix seconds).

use std::collections::HashMap;
use std::sync::Mutex;

/// A bearer secret's SHA-256: the secret itself is never kept.
pub type SecretHash = [u8; 32];

struct Entry<V> {
    value: V,
    /// The answer holds until then.
    until: i64,
    /// From then on the next lookup refreshes it; `None` when it is not to
    /// be refreshed, or a lookup already took that on.
    refresh_at: Option<i64>,
}

/// A live answer, and whether this lookup is the one to refresh it.
#[derive(Debug, PartialEq)]
pub struct Hit<V> {
    pub value: V,
    pub refresh: bool,
}

pub struct TtlCache<V> {
    entries: Mutex<HashMap<SecretHash, Entry<V>>>,
    max_entries: usize,
}

impl<V: Clone> TtlCache<V> {
    pub fn new(max_entries: usize) -> TtlCache<V> {
        TtlCache {
            entries: Mutex::default(),
            max_entries,
        }
    }

    /// The answer for `key` if it still holds at `now`.
    pub fn get(&self, key: &SecretHash, now: i64) -> Option<Hit<V>> {
        let mut entries = self.lock();
        let entry = entries.get_mut(key).filter(|entry| entry.until > now)?;
        let refresh = entry.refresh_at.is_some_and(|at| at <= now);
        if refresh {
            entry.refresh_at = None;
        }
        Some(Hit {
            value: entry.value.clone(),
            refresh,
        })
    }

    /// Keeps `value` until `until`, to be refreshed from `refresh_at`; when
    /// full, expired entries go first, and if every entry is still live,
    /// all of them (start over rather than grow).
    pub fn insert(&self, key: SecretHash, value: V, until: i64, refresh_at: Option<i64>, now: i64) {
        if until <= now {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= self.max_entries && !entries.contains_key(&key) {
            entries.retain(|_, entry| entry.until > now);
            if entries.len() >= self.max_entries {
                entries.clear();
            }
        }
        let entry = Entry {
            value,
            until,
            refresh_at,
        };
        entries.insert(key, entry);
    }

    pub fn remove(&self, key: &SecretHash) {
        self.lock().remove(key);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SecretHash, Entry<V>>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value<V>(hit: Option<Hit<V>>) -> Option<V> {
        hit.map(|hit| hit.value)
    }

    #[test]
    fn answers_expire() {
        let cache = TtlCache::new(3);
        cache.insert([1; 32], "a", 10, None, 0);
        assert_eq!(value(cache.get(&[1; 32], 9)), Some("a"));
        assert_eq!(value(cache.get(&[1; 32], 10)), None, "expired at its time");
        cache.insert([2; 32], "dead on arrival", 5, None, 5);
        assert_eq!(cache.len(), 1, "an answer already past is not kept");
        cache.remove(&[1; 32]);
        assert!(cache.is_empty());
    }

    #[test]
    fn one_lookup_is_told_to_refresh_and_all_keep_the_answer() {
        let cache = TtlCache::new(3);
        cache.insert([1; 32], "a", 10, Some(6), 0);
        let fresh = Hit {
            value: "a",
            refresh: false,
        };
        assert_eq!(cache.get(&[1; 32], 5), Some(fresh), "not yet");
        let first = cache.get(&[1; 32], 6).unwrap();
        assert!(first.refresh, "the first lookup from its time");
        for now in [6, 7, 9] {
            let later = cache.get(&[1; 32], now).unwrap();
            assert_eq!((later.value, later.refresh), ("a", false), "at {now}");
        }
        // The refreshed answer is refreshed again from its own time.
        cache.insert([1; 32], "b", 20, Some(16), 9);
        assert!(!cache.get(&[1; 32], 15).unwrap().refresh);
        assert!(cache.get(&[1; 32], 16).unwrap().refresh);
        cache.insert([2; 32], "never", 20, None, 0);
        assert!(!cache.get(&[2; 32], 19).unwrap().refresh);
    }

    #[test]
    fn the_size_stays_bounded() {
        let cache = TtlCache::new(3);
        for i in 0..100u8 {
            cache.insert([i; 32], "x", 20, None, 1);
            assert!(cache.len() <= 3);
        }
        let full = TtlCache::new(3);
        full.insert([1; 32], "old", 10, None, 0);
        full.insert([2; 32], "old", 10, None, 0);
        full.insert([3; 32], "live", 30, None, 0);
        full.insert([4; 32], "new", 30, None, 15);
        assert_eq!(full.len(), 2, "expired entries make room first");
        assert_eq!(value(full.get(&[3; 32], 16)), Some("live"));
        assert_eq!(value(full.get(&[4; 32], 16)), Some("new"));
    }
}
