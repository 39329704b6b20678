//! OTP challenges and the rate-limit events that throttle them.
//!
//! Policy (how long, how many) lives in `crate::signin::otp`; this module only
//! stores and atomically changes rows.

use super::sql::{args, Begin, Row};
use super::{rate_limits, Db, StoreError};

/// A challenge about to be stored.
pub struct NewChallenge<'a> {
    pub id: &'a str,
    /// The sign-in flow the code belongs to.
    pub flow: &'a str,
    pub phone: &'a str,
    pub code_hash: &'a [u8],
    pub created_at: i64,
    pub expires_at: i64,
    pub max_attempts: u32,
    /// The sealed text message to queue with it (none when no message is
    /// sent: closed sign-up and a stranger's number).
    pub message: Option<&'a [u8]>,
    /// The message is claimed until then (unix seconds) by this process's
    /// outbox worker, which is handed it at once; None: it waits for a claim.
    pub claimed_until: Option<i64>,
}

/// A stored challenge, as verification needs it.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub id: String,
    pub code_hash: Vec<u8>,
    pub expires_at: i64,
    pub attempts: u32,
    pub max_attempts: u32,
    pub consumed: bool,
}

/// A sliding-window limit: at most `max` events for `key` within `window` seconds.
#[derive(Debug, Clone)]
pub struct WindowLimit<L> {
    pub name: L,
    pub kind: &'static str,
    pub key: String,
    pub window: i64,
    pub max: u32,
    /// False: only reported when reached (`sms.policy.mode = "monitor"`).
    pub enforced: bool,
}

/// A limit that is reached, and how many seconds until it frees up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceeded<L> {
    pub name: L,
    pub retry_after: i64,
}

/// Checks the limits, and when no enforced one is reached records one event
/// per key, supersedes the flow's previous challenges (never another flow's)
/// and stores the new one (and queues its message), all in one transaction.
/// Returns the unenforced limits that were reached.
///
/// Two requests for the same phone (or network, country, flow) must not
/// both see room under a limit: on SQLite the transaction takes the write
/// lock first; on PostgreSQL it takes an advisory lock per limited key and
/// the flow, so a request on another instance waits until this one has
/// written its events (row locks cannot do it: the rows that would be
/// counted do not exist yet).
pub fn issue_challenge<L: Clone>(
    db: &mut Db,
    challenge: &NewChallenge<'_>,
    limits: &[WindowLimit<L>],
) -> Result<Result<Vec<L>, Exceeded<L>>, StoreError> {
    let now = challenge.created_at;
    db.transaction(Begin::Immediate, |tx| {
        let mut keys: Vec<(&str, &str)> =
            limits.iter().map(|l| (l.kind, l.key.as_str())).collect();
        keys.sort_unstable();
        keys.dedup();
        tx.lock_keys(keys.iter().copied().chain([("flow", challenge.flow)]))?;
        let (worst, reported) = reached(tx, limits, now)?;
        if let Some(exceeded) = worst {
            return Ok(Err(exceeded));
        }
        rate_limits::add_event(tx, &keys, now)?;
        tx.execute(
            "UPDATE otp_challenges SET superseded = 1 WHERE flow = ?1 AND superseded = 0",
            args![challenge.flow],
        )?;
        tx.execute(
            "INSERT INTO otp_challenges (id, flow, phone, code_hash, created_at, expires_at, max_attempts)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            args![
                challenge.id,
                challenge.flow,
                challenge.phone,
                challenge.code_hash,
                challenge.created_at,
                challenge.expires_at,
                challenge.max_attempts
            ],
        )?;
        if let Some(sealed) = challenge.message {
            let refund = rate_limits::refund_note(now, keys.iter().copied());
            let claimed_until = challenge.claimed_until;
            super::outbox::enqueue(tx, challenge.id, sealed, &refund, now, claimed_until)?;
        }
        Ok(Ok(reported))
    })
}

/// Of the `limits` that are reached, the one that frees up last; None when
/// each has room. Only reads: [`issue_challenge`] checks them again in its
/// transaction.
pub fn limit_reached<L: Clone>(
    db: &Db,
    limits: &[WindowLimit<L>],
    now: i64,
) -> Result<Option<Exceeded<L>>, StoreError> {
    Ok(reached(db, limits, now)?.0)
}

/// The enforced limit reached that frees up last (None when each has
/// room), and the unenforced ones that are reached.
fn reached<L: Clone>(
    conn: &Db,
    limits: &[WindowLimit<L>],
    now: i64,
) -> Result<(Option<Exceeded<L>>, Vec<L>), StoreError> {
    let mut worst: Option<Exceeded<L>> = None;
    let mut reported = Vec::new();
    for limit in limits {
        if let Some(retry_after) = retry_after(conn, limit, now)? {
            if !limit.enforced {
                reported.push(limit.name.clone());
            } else if worst.as_ref().is_none_or(|w| retry_after > w.retry_after) {
                worst = Some(Exceeded {
                    name: limit.name.clone(),
                    retry_after,
                });
            }
        }
    }
    Ok((worst, reported))
}

/// Seconds until `limit` has room again, or None when it has room now.
fn retry_after<L>(conn: &Db, limit: &WindowLimit<L>, now: i64) -> Result<Option<i64>, StoreError> {
    // Events inside the window: `at > now - window`.
    let since = now - limit.window + 1;
    let need = i64::from(limit.max).max(1);
    if rate_limits::count_since(conn, limit.kind, &limit.key, since)? < need {
        return Ok(None);
    }
    // The event that must leave the window before one more fits.
    let blocking = rate_limits::nth_newest(conn, limit.kind, &limit.key, since, need)?;
    Ok(blocking.map(|at| (at + limit.window - now).max(1)))
}

/// The flow's current challenge (the newest, not superseded) for `phone`,
/// whatever its state. A flow whose code went to another number has none.
pub fn current_challenge(
    db: &Db,
    flow: &str,
    phone: &str,
) -> Result<Option<Challenge>, StoreError> {
    db.query_row(
        "SELECT id, code_hash, expires_at, attempts, max_attempts, consumed_at IS NOT NULL
         FROM otp_challenges WHERE flow = ?1 AND phone = ?2 AND superseded = 0
         ORDER BY created_at DESC LIMIT 1",
        args![flow, phone],
    )?
    .map(|row: Row| {
        Ok(Challenge {
            id: row.get(0)?,
            code_hash: row.get(1)?,
            expires_at: row.get(2)?,
            attempts: row.get(3)?,
            max_attempts: row.get(4)?,
            consumed: row.get(5)?,
        })
    })
    .transpose()
}

/// Counts a wrong try; returns the tries used so far, or None when the code
/// was already dead or consumed (the count never goes past the maximum).
pub fn record_wrong_attempt(db: &Db, id: &str) -> Result<Option<u32>, StoreError> {
    db.query_row(
        "UPDATE otp_challenges SET attempts = attempts + 1
         WHERE id = ?1 AND consumed_at IS NULL AND attempts < max_attempts
         RETURNING attempts",
        args![id],
    )?
    .map(|row| row.get(0))
    .transpose()
}

/// Records a failed verification for `phone` (the per-account limit counts
/// these across all flows).
pub fn record_failure(db: &Db, phone: &str, now: i64) -> Result<(), StoreError> {
    record_event(db, FAILURE_KIND, phone, now)
}

/// Seconds until `phone` may try a code again, when it has had `max`
/// failed verifications within `window` seconds; None while it may.
pub fn failures_exceeded(
    db: &Db,
    phone: &str,
    max: u32,
    window: i64,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    let limit = WindowLimit {
        name: (),
        kind: FAILURE_KIND,
        key: phone.to_string(),
        window,
        max,
        enforced: true,
    };
    retry_after(db, &limit, now)
}

/// Records one event of `kind` for `key` (a limit's count, as
/// [`WindowLimit`] reads them).
pub fn record_event(db: &Db, kind: &str, key: &str, now: i64) -> Result<(), StoreError> {
    rate_limits::add_event(db, &[(kind, key)], now)
}

/// Events of `kind` for `key` after `since`.
pub fn count_events(db: &Db, kind: &str, key: &str, since: i64) -> Result<u32, StoreError> {
    let count = rate_limits::count_since(db, kind, key, since + 1)?;
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
}

/// The rate-limit events that count failed verifications, per phone.
const FAILURE_KIND: &str = "verify_failure";

/// Consumes a live challenge in one statement: of many concurrent callers
/// exactly one gets `true`, on any number of instances (PostgreSQL makes a
/// second UPDATE of the row wait for the first and re-check its WHERE on
/// the row as the first left it).
pub fn consume(db: &Db, id: &str, now: i64) -> Result<bool, StoreError> {
    let changed = db.execute(
        "UPDATE otp_challenges SET consumed_at = ?2
         WHERE id = ?1 AND consumed_at IS NULL AND superseded = 0
           AND attempts < max_attempts AND expires_at > ?2",
        args![id, now],
    )?;
    Ok(changed == 1)
}

/// A code delegate (`otp.issuer`) could not send `challenge_id`'s code:
/// removes the challenge and gives back the sends it counted (one event per
/// kind and key of `limits`, at its `created_at`), so the person is
/// charged nothing.
pub fn refund_unsent<L>(
    db: &mut Db,
    challenge_id: &str,
    created_at: i64,
    limits: &[WindowLimit<L>],
) -> Result<(), StoreError> {
    db.transaction(Begin::Immediate, |tx| {
        tx.execute(
            "DELETE FROM otp_challenges WHERE id = ?1",
            args![challenge_id],
        )?;
        let mut keys: Vec<(&str, &str)> = limits.iter().map(|l| (l.kind, l.key.as_str())).collect();
        keys.sort_unstable();
        keys.dedup();
        for (kind, key) in keys {
            rate_limits::remove_event(tx, kind, key, created_at)?;
        }
        Ok(())
    })
}

/// Gives back a try taken with [`record_wrong_attempt`] before a code
/// delegate was asked, when it could not answer.
pub fn release_attempt(db: &Db, id: &str) -> Result<(), StoreError> {
    db.execute(
        "UPDATE otp_challenges SET attempts = attempts - 1 WHERE id = ?1 AND attempts > 0",
        args![id],
    )?;
    Ok(())
}

/// [`consume`] for a try already counted (a code delegate approved it): the
/// cap was checked when the try was taken.
pub fn consume_tried(db: &Db, id: &str, now: i64) -> Result<bool, StoreError> {
    let changed = db.execute(
        "UPDATE otp_challenges SET consumed_at = ?2
         WHERE id = ?1 AND consumed_at IS NULL AND superseded = 0 AND expires_at > ?2",
        args![id, now],
    )?;
    Ok(changed == 1)
}

/// Counts a verified code to `country` on `day` (unix days).
pub fn record_verified(db: &Db, country: &str, day: i64) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO sms_verified_days (country, day, verified) VALUES (?1, ?2, 1)
         ON CONFLICT (country, day) DO UPDATE SET verified = sms_verified_days.verified + 1",
        args![country, day],
    )?;
    Ok(())
}

/// Verified codes to `country`: on its busiest day from `first_day` to
/// `today`, and on `today`.
pub fn verified_days(
    db: &Db,
    country: &str,
    first_day: i64,
    today: i64,
) -> Result<(u32, u32), StoreError> {
    // SUM of integers is a NUMERIC on PostgreSQL: cast back.
    let row = db.query_row(
        "SELECT COALESCE(MAX(verified), 0),
                CAST(COALESCE(SUM(CASE WHEN day = ?3 THEN verified ELSE 0 END), 0) AS BIGINT)
         FROM sms_verified_days WHERE country = ?1 AND day BETWEEN ?2 AND ?3",
        args![country, first_day, today],
    )?;
    match row {
        Some(row) => Ok((row.get(0)?, row.get(1)?)),
        None => Ok((0, 0)),
    }
}

/// Rows removed by a purge.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub challenges: usize,
    /// Rate-limit counters (a second's, a minute's or an hour's) removed.
    pub rate_limit_buckets: usize,
}

/// Deletes challenges that can no longer be used (expired, consumed or
/// superseded), rate-limit counts of events at or before `events_before` and verified
/// counts of days before `days_before`.
pub fn purge(
    db: &Db,
    now: i64,
    events_before: i64,
    days_before: i64,
) -> Result<Purged, StoreError> {
    db.execute(
        "DELETE FROM sms_verified_days WHERE day < ?1",
        args![days_before],
    )?;
    let challenges = db.execute(
        "DELETE FROM otp_challenges
         WHERE expires_at <= ?1 OR consumed_at IS NOT NULL OR superseded = 1",
        args![now],
    )?;
    Ok(Purged {
        challenges,
        rate_limit_buckets: rate_limits::purge(db, events_before)?,
    })
}
