//! Rate-limit counters (migration V15): how many events (a code sent, a
//! wrong try) each limited key had, per time bucket, so that a limit's
//! check reads a bounded number of rows however busy the key is.
//!
//! Each event is counted in three buckets at once: its second, its minute
//! and its hour. A window "events at or after `a`" is then summed exactly,
//! to the second: the seconds from `a` to the next full minute, the minutes
//! to the next full hour, and the hours after that; at most 59 + 59 + 25
//! rows for a day-long window, and fewer for a window that starts on a
//! minute or an hour (the adaptive cap starts at midnight: only hours). When
//! a limit is reached, the event that must leave the window first is found
//! by walking down from the bucket it is in (hour, then minute, then
//! second), so "retry after" is exact too. The rows replaced one row per
//! event (`rate_limit_events`), whose count walked every event in the
//! window: a country's day was every code sent to it that day.
//!
//! Refunds subtract the event from its three buckets again; the clean-up
//! job removes buckets that ended before the longest window.

use std::fmt::Write as _;

use super::sql::{args, Value};
use super::{Db, StoreError};

/// The bucket widths, coarsest first: an hour, a minute, a second.
const WIDTHS: [i64; 3] = [3600, 60, 1];

fn floor_to(at: i64, width: i64) -> i64 {
    at - at.rem_euclid(width)
}

fn ceil_to(at: i64, width: i64) -> i64 {
    floor_to(at + width - 1, width)
}

/// Takes back one event of `kind` for `key` at `at` (a refund) from its
/// second, minute and hour; a bucket never goes below zero.
pub(super) fn remove_event(db: &Db, kind: &str, key: &str, at: i64) -> Result<(), StoreError> {
    let [hour, minute, second] = WIDTHS.map(|width| floor_to(at, width));
    db.execute(
        "UPDATE rate_limit_counters
         SET hits = CASE WHEN hits > 1 THEN hits - 1 ELSE 0 END
         WHERE kind = ?1 AND key = ?2 AND ((width = 3600 AND bucket = ?3)
           OR (width = 60 AND bucket = ?4) OR (width = 1 AND bucket = ?5))",
        args![kind, key, hour, minute, second],
    )?;
    Ok(())
}

/// Counts one event at `at` for each of `keys` (kind, key; no two the
/// same), in one statement: one statement journal and one trip for all of
/// them, where a statement each was a sixth of the store thread's time
/// under load.
pub(super) fn add_event(db: &Db, keys: &[(&str, &str)], at: i64) -> Result<(), StoreError> {
    if keys.is_empty() {
        return Ok(());
    }
    let [hour, minute, second] = WIDTHS.map(|width| floor_to(at, width));
    let mut sql =
        String::from("INSERT INTO rate_limit_counters (kind, key, width, bucket, hits) VALUES ");
    let mut values: Vec<Value> = vec![hour.into(), minute.into(), second.into()];
    for (i, &(kind, key)) in keys.iter().enumerate() {
        let (k, n) = (values.len() + 1, values.len() + 2);
        let comma = if i == 0 { "" } else { ", " };
        let _ = write!(
            sql,
            "{comma}(?{k}, ?{n}, 3600, ?1, 1), (?{k}, ?{n}, 60, ?2, 1), (?{k}, ?{n}, 1, ?3, 1)"
        );
        values.extend([kind.into(), key.into()]);
    }
    sql.push_str(
        " ON CONFLICT (kind, key, width, bucket)
         DO UPDATE SET hits = rate_limit_counters.hits + excluded.hits",
    );
    db.execute(&sql, &values)?;
    Ok(())
}

/// Events of `kind` for `key` at or after `since`: exact, to the second.
pub(super) fn count_since(db: &Db, kind: &str, key: &str, since: i64) -> Result<i64, StoreError> {
    let (minutes_from, hours_from) = (ceil_to(since, 60), ceil_to(since, 3600));
    // Three range reads on the primary key (an OR of the three would not
    // use it); SUM is NUMERIC on PostgreSQL: cast back.
    let row = db.query_row(
        "SELECT CAST(
           (SELECT COALESCE(SUM(hits), 0) FROM rate_limit_counters
            WHERE kind = ?1 AND key = ?2 AND width = 1 AND bucket >= ?3 AND bucket < ?4)
         + (SELECT COALESCE(SUM(hits), 0) FROM rate_limit_counters
            WHERE kind = ?1 AND key = ?2 AND width = 60 AND bucket >= ?4 AND bucket < ?5)
         + (SELECT COALESCE(SUM(hits), 0) FROM rate_limit_counters
            WHERE kind = ?1 AND key = ?2 AND width = 3600 AND bucket >= ?5)
         AS BIGINT)",
        args![kind, key, since, minutes_from, hours_from],
    )?;
    row.map_or(Ok(0), |row| row.get(0))
}

/// The time of the `nth` newest event of `kind` for `key` at or after
/// `since` (1: the newest); None when there are fewer.
pub(super) fn nth_newest(
    db: &Db,
    kind: &str,
    key: &str,
    since: i64,
    nth: i64,
) -> Result<Option<i64>, StoreError> {
    let (minutes_from, hours_from) = (ceil_to(since, 60), ceil_to(since, 3600));
    // Newest first: whole hours, then the minutes and the seconds before them.
    let spans = [
        (3600, hours_from, i64::MAX),
        (60, minutes_from, hours_from),
        (1, since, minutes_from),
    ];
    let mut need = nth.max(1);
    for (width, from, until) in spans {
        if let Some(bucket) = find(db, kind, key, width, from, until, &mut need)? {
            return drill(db, kind, key, width, bucket, need).map(Some);
        }
    }
    Ok(None)
}

/// The bucket of `width` in `[from, until)`, newest first, that holds the
/// `need`th newest event; `need` is left as the rank within that bucket
/// (or, when none does, lowered by the events seen).
fn find(
    db: &Db,
    kind: &str,
    key: &str,
    width: i64,
    from: i64,
    until: i64,
    need: &mut i64,
) -> Result<Option<i64>, StoreError> {
    if from >= until {
        return Ok(None);
    }
    let rows = db.query(
        "SELECT bucket, hits FROM rate_limit_counters
         WHERE kind = ?1 AND key = ?2 AND width = ?3 AND bucket >= ?4 AND bucket < ?5
         ORDER BY bucket DESC",
        args![kind, key, width, from, until],
    )?;
    for row in rows {
        let (bucket, hits): (i64, i64) = (row.get(0)?, row.get(1)?);
        if hits >= *need {
            return Ok(Some(bucket));
        }
        *need -= hits;
    }
    Ok(None)
}

/// The second, within the bucket of `width` at `bucket`, of its `need`th
/// newest event. Were the finer buckets ever short of it, the bucket's last
/// second is taken: "retry after" errs long, never short.
fn drill(
    db: &Db,
    kind: &str,
    key: &str,
    width: i64,
    bucket: i64,
    mut need: i64,
) -> Result<i64, StoreError> {
    let (mut width, mut bucket) = (width, bucket);
    while width > 1 {
        let finer = if width == 3600 { 60 } else { 1 };
        match find(db, kind, key, finer, bucket, bucket + width, &mut need)? {
            Some(inner) => (width, bucket) = (finer, inner),
            None => return Ok(bucket + width - 1),
        }
    }
    Ok(bucket)
}

/// Removes the buckets that ended at or before `before`; how many.
pub(super) fn purge(db: &Db, before: i64) -> Result<usize, StoreError> {
    let mut removed = 0;
    for width in WIDTHS {
        removed += db.execute(
            "DELETE FROM rate_limit_counters WHERE width = ?1 AND bucket <= ?2",
            args![width, before - width + 1],
        )?;
    }
    Ok(removed)
}

/// What a queued message keeps to refund its send: when it was counted,
/// then each `kind` and `key`, one a line.
pub(super) fn refund_note<'a>(
    at: i64,
    keys: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut note = at.to_string();
    for (kind, key) in keys {
        note.push('\n');
        note.push_str(kind);
        note.push('\t');
        note.push_str(key);
    }
    note
}

/// Gives back the send `note` ([`refund_note`]) counted. A note written
/// before V15 (row ids) refunds nothing: those rows are gone.
pub(super) fn refund(db: &Db, note: &str) -> Result<(), StoreError> {
    let mut lines = note.lines();
    let Some(at) = lines.next().and_then(|at| at.parse::<i64>().ok()) else {
        return Ok(());
    };
    for (kind, key) in lines.filter_map(|line| line.split_once('\t')) {
        remove_event(db, kind, key, at)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_floored_and_ceiled_to_their_width() {
        assert_eq!(floor_to(3_661, 60), 3_660);
        assert_eq!(ceil_to(3_661, 60), 3_720);
        assert_eq!(ceil_to(3_660, 60), 3_660);
        assert_eq!(ceil_to(3_601, 3600), 7_200);
        assert_eq!(floor_to(-1, 60), -60);
    }
}
