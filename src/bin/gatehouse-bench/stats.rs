//! Running flows on N workers for a while, and what came of it.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::flows::{FlowResult, StepInfo};

/// Error messages kept per scenario (all errors are counted).
const KEPT_ERRORS: usize = 5;

/// How often the pacer of [`run_paced`] releases the flows that came due.
const PACER_STEP: Duration = Duration::from_micros(100);

/// How long after its end a paced run still starts flows that came due
/// late; the ones left are errors.
const LATE_GRACE: Duration = Duration::from_secs(2);

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
    let mut all = gather(workers).await;
    all.elapsed = started.elapsed();
    all
}

/// Offered load, as wrk2 runs it: `rate` flows a second for `duration`, on
/// `concurrency` workers. Each flow is due at its own time; its latency
/// counts from then, so a flow that waited for a free worker counts the
/// wait (no coordinated omission). A flow that could not start before the
/// end is an error: the offered rate was not kept.
pub async fn run_paced<F, Fut>(
    concurrency: usize,
    duration: Duration,
    rate: u32,
    steps: &'static [StepInfo],
    flow: F,
) -> Outcome
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = FlowResult> + Send,
{
    let rate = f64::from(rate.max(1));
    let total = (duration.as_secs_f64() * rate) as u64;
    let started = Instant::now();
    let due = Arc::new(Semaphore::new(0));
    let ticket = Arc::new(AtomicU64::new(0));
    // A thread of its own: tokio's timers tick by the millisecond, which
    // would release the flows in bursts of rate / 1000.
    let pacer = {
        let due = due.clone();
        std::thread::spawn(move || {
            let mut released = 0u64;
            while released < total {
                let now = (started.elapsed().as_secs_f64() * rate) as u64;
                let now = now.min(total);
                due.add_permits((now - released) as usize);
                released = now;
                std::thread::sleep(PACER_STEP);
            }
            // Wakes each worker once more, to find there is no flow left.
            due.add_permits(concurrency);
        })
    };
    let deadline = started + duration + LATE_GRACE;
    let workers: Vec<_> = (0..concurrency)
        .map(|worker| {
            let (flow, due, ticket) = (flow.clone(), due.clone(), ticket.clone());
            tokio::spawn(async move {
                let mut outcome = Outcome::default();
                loop {
                    let Ok(permit) = due.acquire().await else {
                        break;
                    };
                    permit.forget();
                    let n = ticket.fetch_add(1, Ordering::Relaxed);
                    if n >= total || Instant::now() > deadline {
                        break;
                    }
                    let at = started + Duration::from_secs_f64(n as f64 / rate);
                    let result = flow(worker).await;
                    outcome.record(at, result, steps);
                }
                outcome
            })
        })
        .collect();
    let mut all = gather(workers).await;
    let _ = pacer.join();
    all.elapsed = started.elapsed();
    let missed = total.saturating_sub(all.flows + all.errors);
    if missed > 0 {
        all.errors += missed;
        all.first_errors.insert(
            0,
            format!("{missed} of {total} flows due never started: the rate was not kept"),
        );
    }
    all
}

/// The workers' outcomes, added up; a worker that died is an error.
async fn gather(workers: Vec<tokio::task::JoinHandle<Outcome>>) -> Outcome {
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

    async fn ok_after(wait: Duration) -> FlowResult {
        tokio::time::sleep(wait).await;
        Ok(vec![("verify", wait)])
    }

    const STEP: &[StepInfo] = &[StepInfo {
        name: "verify",
        owner: crate::flows::Owner::Verifier,
        route: None,
    }];

    #[tokio::test]
    async fn a_paced_run_starts_each_flow_due() {
        let period = Duration::from_millis(300);
        let outcome = run_paced(4, period, 200, STEP, |_| ok_after(Duration::ZERO)).await;
        assert_eq!((outcome.flows, outcome.errors), (60, 0));
    }

    /// One worker, 5 ms a flow, 1,000 due a second: the 100th flow is due
    /// at 99 ms and cannot start before 99 x 5 ms, so its latency counts
    /// the wait (at least 390 ms); a closed loop would say 5 ms.
    #[tokio::test]
    async fn a_paced_flow_counts_its_wait_for_a_worker() {
        let period = Duration::from_millis(100);
        let slow = |_| ok_after(Duration::from_millis(5));
        let mut outcome = run_paced(1, period, 1_000, STEP, slow).await;
        assert_eq!((outcome.flows, outcome.errors), (100, 0));
        let [_, _, p99] = outcome.total.percentiles().unwrap();
        assert!(p99 >= 390.0, "p99 {p99} ms");
    }

    #[tokio::test]
    async fn flows_a_paced_run_could_not_start_are_errors() {
        // 10 flows of 400 ms each, due in 100 ms, with 2 s of grace: at
        // most 6 start in time.
        let period = Duration::from_millis(100);
        let slow = |_| ok_after(Duration::from_millis(400));
        let outcome = run_paced(1, period, 100, STEP, slow).await;
        assert!(outcome.flows <= 6, "{} flows", outcome.flows);
        assert_eq!(outcome.flows + outcome.errors, 10);
        assert!(outcome.first_errors[0].contains("never started"));
    }
}
