//! Running flows on N workers for a while, and what came of it.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::flows::{FlowResult, StepInfo};

/// Error messages kept per scenario (all errors are counted).
const KEPT_ERRORS: usize = 5;

/// Latencies in microseconds, sorted when read.
#[derive(Default, Debug, Clone)]
pub struct Samples(Vec<u32>);

impl Samples {
    fn push(&mut self, d: Duration) {
        self.0.push(d.as_micros().min(u128::from(u32::MAX)) as u32);
    }

    fn merge(&mut self, other: Samples) {
        self.0.extend(other.0);
    }

    /// p50, p90 and p99 in milliseconds (nearest rank).
    pub fn percentiles(&mut self) -> Option<[f64; 3]> {
        if self.0.is_empty() {
            return None;
        }
        self.0.sort_unstable();
        let at = |q: f64| {
            let rank = ((q * self.0.len() as f64).ceil() as usize).clamp(1, self.0.len());
            f64::from(self.0[rank - 1]) / 1000.0
        };
        Some([at(0.50), at(0.90), at(0.99)])
    }
}

/// The outcome of one worker, or of all of them merged.
#[derive(Default, Debug)]
pub struct Outcome {
    pub flows: u64,
    pub errors: u64,
    pub first_errors: Vec<String>,
    pub total: Samples,
    /// One entry per step of the scenario, in [`StepInfo`] order.
    pub steps: Vec<Samples>,
    pub elapsed: Duration,
}

impl Outcome {
    fn record(&mut self, started: Instant, result: FlowResult, steps: &[StepInfo]) {
        match result {
            Ok(timings) => {
                self.flows += 1;
                self.total.push(started.elapsed());
                self.steps.resize_with(steps.len(), Samples::default);
                for (name, duration) in timings {
                    if let Some(i) = steps.iter().position(|s| s.name == name) {
                        self.steps[i].push(duration);
                    }
                }
            }
            Err(message) => {
                self.errors += 1;
                if self.first_errors.len() < KEPT_ERRORS {
                    self.first_errors.push(message);
                }
            }
        }
    }

    /// Adds up two runs (of the same scenario), their times too.
    pub fn merge(&mut self, other: Outcome) {
        self.elapsed += other.elapsed;
        self.flows += other.flows;
        self.errors += other.errors;
        for message in other.first_errors {
            if self.first_errors.len() < KEPT_ERRORS {
                self.first_errors.push(message);
            }
        }
        self.total.merge(other.total);
        self.steps
            .resize_with(other.steps.len().max(self.steps.len()), Samples::default);
        for (mine, theirs) in self.steps.iter_mut().zip(other.steps) {
            mine.merge(theirs);
        }
    }

    /// A scenario that could not start: one error, no flows.
    pub fn setup_failed(message: String) -> Outcome {
        Outcome {
            errors: 1,
            first_errors: vec![message],
            ..Outcome::default()
        }
    }

    pub fn flows_per_s(&self) -> f64 {
        self.flows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Runs `flow(worker)` on `concurrency` workers, each starting flows until
/// `duration` is over; flows under way then are finished and counted, and
/// the rate is taken over the whole time.
pub async fn run<F, Fut>(
    concurrency: usize,
    duration: Duration,
    steps: &'static [StepInfo],
    flow: F,
) -> Outcome
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = FlowResult> + Send,
{
    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|worker| {
            let flow = flow.clone();
            tokio::spawn(async move {
                let mut outcome = Outcome::default();
                while Instant::now() < deadline {
                    let flow_started = Instant::now();
                    let result = flow(worker).await;
                    outcome.record(flow_started, result, steps);
                }
                outcome
            })
        })
        .collect();
    let mut all = Outcome::default();
    for worker in workers {
        match worker.await {
            Ok(outcome) => all.merge(outcome),
            Err(e) => {
                all.errors += 1;
                all.first_errors.push(format!("worker failed: {e}"));
            }
        }
    }
    all.elapsed = started.elapsed();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut samples = Samples::default();
        for ms in 1..=100u64 {
            samples.push(Duration::from_millis(ms));
        }
        assert_eq!(samples.percentiles(), Some([50.0, 90.0, 99.0]));
        assert_eq!(Samples::default().percentiles(), None);
    }
}
