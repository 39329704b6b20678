//! Wall-clock time in unix seconds, replaceable in tests so that expiry and
//! rate-limit windows can be checked without waiting.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    pub fn system() -> Clock {
        Clock { manual: None }
    }

    /// A clock that stands still at `now` until [`Clock::advance`] moves it.
    pub fn manual(now: i64) -> Clock {
        Clock {
            manual: Some(Arc::new(AtomicI64::new(now))),
        }
    }

    pub fn now(&self) -> i64 {
        match &self.manual {
            Some(now) => now.load(Ordering::SeqCst),
            None => self.now_millis() / 1000,
        }
    }

    /// The same time in unix milliseconds, for windows shorter than a few
    /// seconds (a manual clock counts whole seconds).
    pub fn now_millis(&self) -> i64 {
        match &self.manual {
            Some(now) => now.load(Ordering::SeqCst).saturating_mul(1000),
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0),
        }
    }

    /// Moves a manual clock forward (a system clock ignores it).
    pub fn advance(&self, seconds: i64) {
        if let Some(now) = &self.manual {
            now.fetch_add(seconds, Ordering::SeqCst);
        }
    }
}
