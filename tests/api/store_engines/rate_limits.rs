//! The rate-limit counters (migration V15) against the plain definition
//! they replace: "the events after `now - window`", counted one by one. A
//! few hundred events scattered over two days (bursts within a second,
//! across minute and hour edges, some refunded) are asked about at many
//! moments and window lengths, on both engines; every count and every
//! "retry after" must be exactly what the row-per-event store said.

use gatehouse::store::codes::{self, WindowLimit};

use super::{fresh, ENGINES};

/// An hour-aligned start (1_800_000_000 is a multiple of 3600).
const T0: i64 = 1_800_000_000;

/// A small deterministic generator (xorshift): the same events every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: i64) -> i64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as i64
    }
}

/// Event times: bursts in one second, runs near minute and hour edges,
/// and scattered ones over two days.
fn event_times() -> Vec<i64> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut times = Vec::new();
    for _ in 0..120 {
        times.push(T0 + rng.below(2 * 86_400));
    }
    for edge in [T0 + 3_600, T0 + 7_260, T0 + 86_400] {
        for _ in 0..30 {
            times.push(edge - 90 + rng.below(180));
        }
    }
    times.extend(std::iter::repeat_n(T0 + 5_000, 12));
    times
}

/// What the old store answered: `at > now - window`, the `max`th newest.
fn expected(events: &[i64], now: i64, window: i64, max: u32) -> (u32, Option<i64>) {
    let mut inside: Vec<i64> = events
        .iter()
        .copied()
        .filter(|&at| at > now - window)
        .collect();
    inside.sort_unstable_by(|a, b| b.cmp(a));
    let nth = inside.get(max as usize - 1);
    let retry = nth.map(|at| (at + window - now).max(1));
    (inside.len() as u32, retry)
}

#[tokio::test]
async fn counters_answer_exactly_as_counting_each_event_did_on_both_engines() {
    let times = event_times();
    let mut rng = Rng(42);
    // Every seventh event is refunded (a text that was never delivered).
    let refunded: Vec<bool> = (0..times.len()).map(|i| i % 7 == 3).collect();
    let kept: Vec<i64> = times
        .iter()
        .zip(&refunded)
        .filter(|(_, &r)| !r)
        .map(|(&at, _)| at)
        .collect();
    let mut questions = Vec::new();
    // Moments at random, and moments when an event is just inside the
    // window (its first second) or has just left it.
    let mut moments: Vec<i64> = (0..40).map(|_| T0 + rng.below(2 * 86_400 + 600)).collect();
    for window in [30, 3_600, 86_400] {
        for _ in 0..6 {
            let at = times[rng.below(times.len() as i64) as usize];
            moments.extend([at + window - 1, at + window]);
        }
    }
    for now in moments {
        let midnight_window = now - now.div_euclid(86_400) * 86_400 + 1;
        for window in [
            1,
            30,
            59,
            60,
            61,
            599,
            3_599,
            3_600,
            7_200,
            86_400,
            midnight_window,
        ] {
            let max = 1 + rng.below(40) as u32;
            questions.push((now, window, max));
        }
    }
    for engine in ENGINES {
        let db = fresh(engine).await;
        let (events, refunds, asked) = (times.clone(), refunded.clone(), questions.clone());
        let answers = db
            .store
            .run(move |db| {
                let phone_limit = |key: &str| WindowLimit {
                    name: (),
                    kind: "phone",
                    key: key.to_string(),
                    window: 3600,
                    max: 1,
                    enforced: true,
                };
                for (&at, &refund) in events.iter().zip(&refunds) {
                    codes::record_event(db, "phone", "+12015550123", at)?;
                    codes::record_failure(db, "+12015550123", at)?;
                    // Another key's events must not count.
                    codes::record_event(db, "phone", "+12015550199", at)?;
                    if refund {
                        let limits = [phone_limit("+12015550123")];
                        codes::refund_unsent(db, "no-such-code", at, &limits)?;
                    }
                }
                let mut answers = Vec::new();
                for (now, window, max) in asked {
                    let counted = codes::count_events(db, "phone", "+12015550123", now - window)?;
                    let failures = codes::failures_exceeded(db, "+12015550123", max, window, now)?;
                    answers.push((now, window, max, counted, failures));
                }
                Ok(answers)
            })
            .await
            .unwrap();
        for (now, window, max, counted, failures) in answers {
            let (kept_count, _) = expected(&kept, now, window, max);
            assert_eq!(
                counted,
                kept_count,
                "{engine:?}: refunded events are not counted (now {}, window {window})",
                now - T0
            );
            let (all_count, retry) = expected(&times, now, window, max);
            assert_eq!(
                failures,
                retry,
                "{engine:?}: now {}, window {window}, max {max} ({all_count} inside)",
                now - T0
            );
        }
    }
}

#[tokio::test]
async fn a_cap_refuses_the_one_too_many_within_any_window_on_both_engines() {
    // A cap of 3 an hour, tried every 13 minutes plus a burst: whatever
    // hour an attacker picks, it never holds more than 3 codes.
    for engine in ENGINES {
        let db = fresh(engine).await;
        let accepted = db
            .store
            .run(|db| {
                let limits = [WindowLimit {
                    name: (),
                    kind: "country",
                    key: "US".to_string(),
                    window: 3600,
                    max: 3,
                    enforced: true,
                }];
                let mut accepted = Vec::new();
                let mut tries: Vec<i64> = (0..40).map(|n| T0 + 1_799 + n * 13 * 60).collect();
                tries.extend([T0 + 9_000, T0 + 9_000, T0 + 9_001, T0 + 12_599, T0 + 12_600]);
                tries.sort_unstable();
                for (n, at) in tries.into_iter().enumerate() {
                    let id = format!("c{n}");
                    let challenge = super::challenge(&id, &id, "+12015550123", at, false);
                    if codes::issue_challenge(db, &challenge, &limits)?.is_ok() {
                        accepted.push(at);
                    }
                }
                Ok(accepted)
            })
            .await
            .unwrap();
        assert!(accepted.len() > 6, "{engine:?}: the cap let some through");
        for (i, &start) in accepted.iter().enumerate() {
            let within = accepted[i..]
                .iter()
                .filter(|&&at| at < start + 3600)
                .count();
            assert!(
                within <= 3,
                "{engine:?}: {within} codes in the hour from {}",
                start - T0
            );
        }
    }
}
