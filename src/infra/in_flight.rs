//! The attempts an outbox worker has running, each sending one outbox row.
//!
//! A row's claim is timed to outlast its attempt, but a slow store write
//! after the answer can outlive it: the row is then claimed again while its
//! attempt still runs. `InFlight` starts no second attempt for a row whose
//! first one runs, so a text or an event never goes out twice at once.

use std::collections::HashMap;
use std::future::Future;

use tokio::task::{self, JoinError, JoinSet};

pub struct InFlight<K, T> {
    attempts: JoinSet<T>,
    rows: HashMap<task::Id, K>,
}

impl<K, T> Default for InFlight<K, T> {
    fn default() -> InFlight<K, T> {
        InFlight {
            attempts: JoinSet::new(),
            rows: HashMap::new(),
        }
    }
}

impl<K: PartialEq, T: Send + 'static> InFlight<K, T> {
    pub fn len(&self) -> usize {
        self.attempts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.attempts.is_empty()
    }

    /// Starts `attempt` for `row`, unless an attempt for it runs already.
    pub fn start(&mut self, row: K, attempt: impl Future<Output = T> + Send + 'static) {
        if !self.rows.values().any(|running| *running == row) {
            let handle = self.attempts.spawn(attempt);
            self.rows.insert(handle.id(), row);
        }
    }

    /// An attempt that has finished already, if any: `Some(None)` when it
    /// panicked.
    pub fn try_finished(&mut self) -> Option<Option<T>> {
        let done = self.attempts.try_join_next_with_id()?;
        Some(self.forget(done))
    }

    /// The next attempt to finish (`None` when none runs; `Some(None)` when
    /// it panicked).
    pub async fn finished(&mut self) -> Option<Option<T>> {
        let done = self.attempts.join_next_with_id().await?;
        Some(self.forget(done))
    }

    fn forget(&mut self, done: Result<(task::Id, T), JoinError>) -> Option<T> {
        let (attempt, outcome) = match done {
            Ok((attempt, outcome)) => (attempt, Some(outcome)),
            Err(error) => (error.id(), None),
        };
        self.rows.remove(&attempt);
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_row_runs_once_at_a_time_and_again_after_it_finished() {
        let mut in_flight = InFlight::default();
        let (release, wait) = tokio::sync::oneshot::channel::<()>();
        in_flight.start(7, async move { wait.await.map(|()| 7).unwrap_or(0) });
        in_flight.start(7, async { 70 });
        in_flight.start(8, async { 8 });
        assert_eq!(in_flight.len(), 2, "row 7's second attempt not started");

        assert_eq!(in_flight.finished().await, Some(Some(8)));
        in_flight.start(7, async { 70 });
        assert_eq!(in_flight.len(), 1, "row 7 still runs");
        release.send(()).unwrap();
        assert_eq!(in_flight.finished().await, Some(Some(7)));

        in_flight.start(7, async { 71 });
        assert_eq!(
            in_flight.finished().await,
            Some(Some(71)),
            "row 7 free again"
        );
        assert_eq!(in_flight.finished().await, None);
        assert_eq!(in_flight.try_finished(), None);
    }

    #[tokio::test]
    async fn a_panicked_attempt_frees_its_row() {
        let mut in_flight = InFlight::default();
        fn fails() -> u8 {
            panic!("the attempt fails")
        }
        in_flight.start("a", async { fails() });
        assert_eq!(in_flight.finished().await, Some(None));
        in_flight.start("a", async { 1 });
        assert_eq!(in_flight.finished().await, Some(Some(1)));
    }
}
