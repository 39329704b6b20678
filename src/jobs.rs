//! Clean-up jobs on a cron schedule: expired or used OTP challenges and
//! headless sessions, rate-limit rows older than the longest window, used
//! proofs of work whose challenge expired, and texts sent over a day ago
//! that a delivery receipt no longer needs.

use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

use crate::infra::clock::Clock;
use crate::store::codes;
use crate::store::proofs;
use crate::store::receipts;
use crate::store::sessions;
use crate::store::{Store, StoreError};

/// Rate-limit rows are needed for the longest window, a day
/// (`sms.policy.max_per_country_per_day`).
const LONGEST_LIMIT_WINDOW: i64 = 86_400;
/// Verified counts are needed for the adaptive ceiling's 14 days.
const VERIFIED_DAYS_KEPT: i64 = 15;

/// Rows removed by one purge.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub challenges: usize,
    pub rate_limit_events: usize,
    pub headless_sessions: usize,
    pub spent_proofs: usize,
    pub sms_receipts: usize,
}

/// Removes rows nobody can use any more and logs how many.
pub async fn purge_expired(store: &Store, clock: &Clock) -> Result<Purged, StoreError> {
    let now = clock.now();
    let purged = store
        .run(move |conn| {
            let days_before = now / 86_400 - VERIFIED_DAYS_KEPT;
            let otp = codes::purge(conn, now, now - LONGEST_LIMIT_WINDOW, days_before)?;
            Ok(Purged {
                challenges: otp.challenges,
                rate_limit_events: otp.rate_limit_events,
                headless_sessions: sessions::purge(conn, now)?,
                spent_proofs: proofs::purge(conn, now)?,
                // A receipt comes within minutes; a day is plenty.
                sms_receipts: receipts::purge(conn, now - LONGEST_LIMIT_WINDOW)?,
            })
        })
        .await?;
    tracing::info!(
        otp_challenges = purged.challenges,
        rate_limit_events = purged.rate_limit_events,
        headless_sessions = purged.headless_sessions,
        spent_proofs = purged.spent_proofs,
        sms_receipts = purged.sms_receipts,
        "purged expired rows"
    );
    Ok(purged)
}

/// Starts the scheduler; the returned handle stops it.
pub async fn start(
    store: Store,
    clock: Clock,
    schedule: &str,
) -> Result<JobScheduler, JobSchedulerError> {
    let scheduler = JobScheduler::new().await?;
    let job = Job::new_async(schedule, move |_, _| {
        let store = store.clone();
        let clock = clock.clone();
        Box::pin(async move {
            if let Err(error) = purge_expired(&store, &clock).await {
                tracing::error!(%error, "purge job failed; it will run again on schedule");
            }
        })
    })?;
    scheduler.add(job).await?;
    scheduler.start().await?;
    Ok(scheduler)
}
