//! Answers about tokens, kept by the token's SHA-256 for a while and
//! bounded in size, so a flood of made-up tokens cannot grow memory.

use std::collections::HashMap;
use std::sync::Mutex;

pub type TokenHash = [u8; 32];

pub struct TtlCache<V> {
    /// Token hash -> (answer, unix second until which it holds).
    entries: Mutex<HashMap<TokenHash, (V, i64)>>,
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
    pub fn get(&self, key: &TokenHash, now: i64) -> Option<V> {
        self.lock()
            .get(key)
            .filter(|(_, until)| *until > now)
            .map(|(value, _)| value.clone())
    }

    /// Keeps `value` until `until`; when full, expired entries go first,
    /// and if every entry is still live, all of them (start over rather
    /// than grow).
    pub fn insert(&self, key: TokenHash, value: V, until: i64, now: i64) {
        if until <= now {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= self.max_entries && !entries.contains_key(&key) {
            entries.retain(|_, (_, until)| *until > now);
            if entries.len() >= self.max_entries {
                entries.clear();
            }
        }
        entries.insert(key, (value, until));
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TokenHash, (V, i64)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_expire() {
        let cache = TtlCache::new(3);
        cache.insert([1; 32], "a", 10, 0);
        assert_eq!(cache.get(&[1; 32], 9), Some("a"));
        assert_eq!(cache.get(&[1; 32], 10), None, "expired at its second");
        cache.insert([2; 32], "dead on arrival", 5, 5);
        assert_eq!(cache.len(), 1, "an answer already past is not kept");
    }

    #[test]
    fn the_size_stays_bounded() {
        let cache = TtlCache::new(3);
        for i in 0..100u8 {
            cache.insert([i; 32], "x", 20, 1);
            assert!(cache.len() <= 3);
        }
        let full = TtlCache::new(3);
        full.insert([1; 32], "old", 10, 0);
        full.insert([2; 32], "old", 10, 0);
        full.insert([3; 32], "live", 30, 0);
        full.insert([4; 32], "new", 30, 15);
        assert_eq!(full.len(), 2, "expired entries make room first");
        assert_eq!(full.get(&[3; 32], 16), Some("live"));
        assert_eq!(full.get(&[4; 32], 16), Some("new"));
    }
}
