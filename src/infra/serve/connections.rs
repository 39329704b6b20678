//! The client connections a listener holds: at most a cap, each with its
//! requests in flight and the time it last moved a byte. A connection past
//! the cap closes the oldest idle one (no request in flight), as nginx
//! reuses keep-alive connections when it runs short: idle sockets, however
//! many a client opens, never lock out a new request.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Every open connection of one listener, oldest first.
#[derive(Clone)]
pub struct Connections {
    inner: Arc<Inner>,
}

struct Inner {
    open: Mutex<BTreeMap<u64, Arc<State>>>,
    next_id: AtomicU64,
    cap: usize,
    /// Times are kept as milliseconds since this instant.
    epoch: Instant,
}

/// One connection's bookkeeping.
struct State {
    in_flight: AtomicUsize,
    last_active_ms: AtomicU64,
    closed_for_room: Notify,
}

/// A connection's place among the open ones; dropping it frees the place.
pub struct Slot {
    id: u64,
    state: Arc<State>,
    connections: Arc<Inner>,
}

/// A request in flight on a connection; the connection is busy until it drops.
pub struct Busy {
    slot: Arc<SlotRef>,
}

/// What a [`Busy`] needs of its slot (shared with the request's task).
pub struct SlotRef {
    state: Arc<State>,
    connections: Arc<Inner>,
}

impl Connections {
    pub fn new(cap: usize) -> Connections {
        Connections {
            inner: Arc::new(Inner {
                open: Mutex::new(BTreeMap::new()),
                next_id: AtomicU64::new(0),
                cap: cap.max(1),
                epoch: Instant::now(),
            }),
        }
    }

    /// A place for a new connection. At the cap, the oldest idle connection
    /// is told to close; `None` when every one is busy with a request.
    pub fn admit(&self) -> Option<Slot> {
        let inner = &self.inner;
        let mut open = inner.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.len() >= inner.cap {
            let idle = open
                .iter()
                .find(|(_, state)| state.in_flight.load(Ordering::Acquire) == 0)
                .map(|(id, _)| *id)?;
            if let Some(state) = open.remove(&idle) {
                state.closed_for_room.notify_one();
            }
        }
        let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(State {
            in_flight: AtomicUsize::new(0),
            last_active_ms: AtomicU64::new(inner.now_ms()),
            closed_for_room: Notify::new(),
        });
        open.insert(id, state.clone());
        Some(Slot {
            id,
            state,
            connections: inner.clone(),
        })
    }

    /// How many connections are open now.
    pub fn len(&self) -> usize {
        self.inner.open.lock().map(|open| open.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

impl Slot {
    /// What the connection's I/O and requests report activity to.
    pub fn handle(&self) -> Arc<SlotRef> {
        Arc::new(SlotRef {
            state: self.state.clone(),
            connections: self.connections.clone(),
        })
    }

    /// Completes when a newer connection needed this one's place.
    pub async fn closed_for_room(&self) {
        self.state.closed_for_room.notified().await;
    }

    /// Completes once the connection has been idle (no request in flight,
    /// no byte moved) for `limit`.
    pub async fn idle_for(&self, limit: Duration) {
        let handle = self.handle();
        loop {
            let quiet = handle.quiet_for();
            let busy = handle.state.in_flight.load(Ordering::Acquire) > 0;
            if !busy && quiet >= limit {
                return;
            }
            // Busy: look again in a while; idle: when the limit would be up.
            let wait = if busy { limit } else { limit - quiet };
            tokio::time::sleep(wait.max(Duration::from_millis(100))).await;
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .connections
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        open.remove(&self.id);
    }
}

impl SlotRef {
    /// A byte moved.
    pub fn touch(&self) {
        let now = self.connections.now_ms();
        self.state.last_active_ms.store(now, Ordering::Relaxed);
    }

    /// A request starts; the connection is not idle until it ends.
    pub fn busy(self: &Arc<Self>) -> Busy {
        self.state.in_flight.fetch_add(1, Ordering::AcqRel);
        Busy { slot: self.clone() }
    }

    fn quiet_for(&self) -> Duration {
        let last = self.state.last_active_ms.load(Ordering::Relaxed);
        Duration::from_millis(self.connections.now_ms().saturating_sub(last))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.slot.touch();
        self.slot.state.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn past_the_cap_the_oldest_idle_connection_makes_room() {
        let connections = Connections::new(2);
        let first = connections.admit().unwrap();
        let second = connections.admit().unwrap();
        let first_busy = first.handle().busy();
        // The first is busy, so the second (idle) is the one to go.
        let third = connections.admit().expect("room was made");
        assert_eq!(connections.len(), 2);
        tokio::time::timeout(Duration::from_secs(1), second.closed_for_room())
            .await
            .expect("the idle connection was told to close");
        // Everyone busy: no room, nobody told to close.
        let _third_busy = third.handle().busy();
        assert!(connections.admit().is_none());
        drop(first_busy);
        assert!(connections.admit().is_some(), "the first is idle again");
        drop((first, second, third));
        assert!(connections.is_empty());
    }

    #[tokio::test]
    async fn idle_counts_only_without_requests_and_bytes() {
        let connections = Connections::new(4);
        let slot = connections.admit().unwrap();
        let busy = slot.handle().busy();
        let limit = Duration::from_millis(200);
        let idle = tokio::time::timeout(Duration::from_millis(600), slot.idle_for(limit)).await;
        assert!(
            idle.is_err(),
            "a connection with a request in flight is not idle"
        );
        drop(busy);
        tokio::time::timeout(Duration::from_secs(2), slot.idle_for(limit))
            .await
            .expect("idle once the request ended");
    }
}
