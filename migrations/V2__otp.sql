-- One-time code challenges. The code itself is never stored: `code_hash` is
-- HMAC-SHA256(server secret, id || ":" || code).
CREATE TABLE otp_challenges (
    id            TEXT PRIMARY KEY NOT NULL,    -- random, 128 bits, hex
    phone         TEXT NOT NULL,                -- E.164
    code_hash     BLOB NOT NULL,
    created_at    INTEGER NOT NULL,             -- unix seconds
    expires_at    INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,   -- wrong tries so far
    max_attempts  INTEGER NOT NULL,
    consumed_at   INTEGER,                      -- set once, by the winning verification
    superseded    INTEGER NOT NULL DEFAULT 0    -- a newer code was issued for the phone
) STRICT;
CREATE INDEX otp_challenges_by_phone ON otp_challenges (phone, created_at);
CREATE INDEX otp_challenges_by_expiry ON otp_challenges (expires_at);

-- Abuse limits: one row per code sent, per limited key (a phone or a client
-- network). Sliding windows are counted from these rows, so they survive restarts.
CREATE TABLE rate_limit_events (
    id     INTEGER PRIMARY KEY,
    kind   TEXT NOT NULL,                       -- 'phone' or 'ip'
    key    TEXT NOT NULL,
    at     INTEGER NOT NULL                     -- unix seconds
) STRICT;
CREATE INDEX rate_limit_events_by_key ON rate_limit_events (kind, key, at);
CREATE INDEX rate_limit_events_by_time ON rate_limit_events (at);
