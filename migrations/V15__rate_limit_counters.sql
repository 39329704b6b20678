-- Abuse limits as counters (issue 25): events per limited key and time
-- bucket, each event counted in its second, its minute and its hour, so a
-- limit sums a few dozen rows instead of every event in its window (see
-- src/store/rate_limits.rs). Replaces one row per event.
CREATE TABLE rate_limit_counters (
    kind    TEXT NOT NULL,       -- 'phone', 'ip', 'country', 'all', ...
    key     TEXT NOT NULL,
    width   INTEGER NOT NULL,    -- the bucket's length in seconds: 1, 60 or 3600
    bucket  INTEGER NOT NULL,    -- its start, unix seconds, a multiple of width
    hits    INTEGER NOT NULL,    -- events in it
    PRIMARY KEY (kind, key, width, bucket)
) STRICT, WITHOUT ROWID;
CREATE INDEX rate_limit_counters_by_age ON rate_limit_counters (width, bucket);

INSERT INTO rate_limit_counters (kind, key, width, bucket, hits)
SELECT kind, key, 3600, at - at % 3600, COUNT(*) FROM rate_limit_events
GROUP BY kind, key, at - at % 3600;
INSERT INTO rate_limit_counters (kind, key, width, bucket, hits)
SELECT kind, key, 60, at - at % 60, COUNT(*) FROM rate_limit_events
GROUP BY kind, key, at - at % 60;
INSERT INTO rate_limit_counters (kind, key, width, bucket, hits)
SELECT kind, key, 1, at, COUNT(*) FROM rate_limit_events
GROUP BY kind, key, at;

-- Texts queued before this version name the rows they counted by id; those
-- rows are gone, so such a text refunds nothing (it is at most a day old).
DROP TABLE rate_limit_events;
