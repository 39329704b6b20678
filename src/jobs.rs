//! Clean-up jobs on a cron schedule: expired or used OTP challenges and
//! headless sessions, rate-limit rows older than the longest window, used
//! proofs of work whose challenge expired, texts sent over a day ago that a
//! delivery receipt no longer needs, audit rows older than
//! `audit.retention`, events not delivered within `events.max_age`, and
//! the offers of another sign-in method that ran out (grants, declines,
//! set-ups of an authenticator app abandoned a day ago).

use std::time::Duration;

use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

use crate::config::Config;
use crate::infra::clock::Clock;
use crate::store::{self, Store, StoreError};
use crate::store::{
    audit, codes, credentials, event_outbox, login_challenges, login_sessions, passkeys, proofs,
    receipts, sessions,
};

/// The clean-up job's lock (`store::exclusively`).
const CLEAN_UP: &str = "clean-up";

/// Rate-limit rows are needed for the longest window, a day
/// (`sms.policy.max_per_country_per_day`).
const LONGEST_LIMIT_WINDOW: i64 = 86_400;
/// Verified counts are needed for the adaptive ceiling's 14 days.
const VERIFIED_DAYS_KEPT: i64 = 15;
/// Audit rows removed per trip to the store: a backlog of millions (a
/// shorter retention, a first purge) never holds it for long.
const AUDIT_BATCH: usize = 5_000;

/// How long the audit trail keeps what (`audit.retention`, `events.max_age`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub audit: Duration,
    pub events: Duration,
}

impl Retention {
    pub fn from_config(config: &Config) -> Retention {
        Retention {
            audit: config.audit.retention,
            events: config.events.max_age,
        }
    }
}

impl Default for Retention {
    fn default() -> Self {
        Retention::from_config(&Config::default())
    }
}

/// Rows removed by one purge.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub challenges: usize,
    pub rate_limit_buckets: usize,
    pub headless_sessions: usize,
    pub audit_events: usize,
    /// Events given up: not delivered within `events.max_age`.
    pub events_given_up: usize,
    pub spent_proofs: usize,
    pub sms_receipts: usize,
    /// Offers of another method, abandoned set-ups and ceremonies, and
    /// the proofs of login sessions past their time.
    pub method_offers: usize,
    /// Login and consent challenges past their time.
    pub login_challenges: usize,
}

/// Removes rows nobody can use any more (or that are past their
/// retention) and logs how many.
pub async fn purge_expired(
    store: &Store,
    clock: &Clock,
    retention: &Retention,
) -> Result<Purged, StoreError> {
    let now = clock.now();
    let events_before = now - retention.events.as_secs() as i64;
    // Several instances on one PostgreSQL: each trip runs only where the
    // clean-up lock is free, so one instance purges and the others skip.
    let purged = store
        .run(move |conn| {
            store::exclusively(conn, CLEAN_UP, |conn| {
                let days_before = now / 86_400 - VERIFIED_DAYS_KEPT;
                let otp = codes::purge(conn, now, now - LONGEST_LIMIT_WINDOW, days_before)?;
                Ok(Purged {
                    challenges: otp.challenges,
                    rate_limit_buckets: otp.rate_limit_buckets,
                    headless_sessions: sessions::purge(conn, now)?,
                    events_given_up: event_outbox::purge(conn, events_before)?,
                    audit_events: 0,
                    spent_proofs: proofs::purge(conn, now)?,
                    // A receipt comes within minutes; a day is plenty.
                    sms_receipts: receipts::purge(conn, now - LONGEST_LIMIT_WINDOW)?,
                    method_offers: credentials::purge(conn, now, now - 86_400)?
                        + passkeys::purge(conn, now)?
                        + login_sessions::purge(conn, now)?,
                    login_challenges: login_challenges::purge(conn, now)?,
                })
            })
        })
        .await?;
    let Some(mut purged) = purged else {
        tracing::debug!("another instance is purging expired rows");
        return Ok(Purged::default());
    };
    let audit_before = now - retention.audit.as_secs() as i64;
    loop {
        let removed = store
            .run(move |conn| {
                store::exclusively(conn, CLEAN_UP, |conn| {
                    audit::purge(conn, audit_before, AUDIT_BATCH)
                })
            })
            .await?
            .unwrap_or(0);
        purged.audit_events += removed;
        if removed < AUDIT_BATCH {
            break;
        }
    }
    if purged.events_given_up > 0 {
        tracing::warn!(
            events = purged.events_given_up,
            "events not delivered within events.max_age were given up"
        );
    }
    tracing::info!(
        otp_challenges = purged.challenges,
        rate_limit_buckets = purged.rate_limit_buckets,
        headless_sessions = purged.headless_sessions,
        audit_events = purged.audit_events,
        spent_proofs = purged.spent_proofs,
        sms_receipts = purged.sms_receipts,
        method_offers = purged.method_offers,
        login_challenges = purged.login_challenges,
        "purged expired rows"
    );
    Ok(purged)
}

/// Starts the scheduler; the returned handle stops it.
pub async fn start(
    store: Store,
    clock: Clock,
    schedule: &str,
    retention: Retention,
) -> Result<JobScheduler, JobSchedulerError> {
    let scheduler = JobScheduler::new().await?;
    let job = Job::new_async(schedule, move |_, _| {
        let store = store.clone();
        let clock = clock.clone();
        Box::pin(async move {
            if let Err(error) = purge_expired(&store, &clock, &retention).await {
                tracing::error!(%error, "purge job failed; it will run again on schedule");
            }
        })
    })?;
    scheduler.add(job).await?;
    scheduler.start().await?;
    Ok(scheduler)
}
