-- The audit trail: one row per event (a code sent, a sign-in, a consent, a
-- logout, an operator's command). Phone numbers are kept masked, plus a
-- keyed hash (HMAC-SHA256 under a key derived from the server secret, cut
-- to 16 bytes) so that an operator can search by the full number; no code,
-- token or secret is ever stored. Rows older than audit.retention are
-- purged by the clean-up job.
CREATE TABLE audit_events (
    id             INTEGER PRIMARY KEY,
    at             INTEGER NOT NULL,   -- unix seconds
    kind           TEXT NOT NULL,      -- code_sent, signin_succeeded, ...
    result         TEXT NOT NULL,      -- ok, refused, error
    reason         TEXT,
    subject        TEXT,
    phone_masked   TEXT,
    phone_hash     BLOB,
    client_id      TEXT,
    client_address TEXT,
    user_agent     TEXT,               -- cut to 200 characters
    method         TEXT,               -- sms, exchange, remembered, ...
    request_id     TEXT
) STRICT;
CREATE INDEX audit_events_by_time ON audit_events (at);
CREATE INDEX audit_events_by_subject ON audit_events (subject) WHERE subject IS NOT NULL;
CREATE INDEX audit_events_by_phone ON audit_events (phone_hash) WHERE phone_hash IS NOT NULL;

-- Events on their way to `[events] url`, queued in the transaction that
-- writes their row. One event per ordering key (the subject, else the
-- phone's hash) is sent at a time, oldest first, so a receiver sees each
-- person's events in order; a failing one holds back only its own key's.
CREATE TABLE event_outbox (
    event_id        INTEGER PRIMARY KEY
                    REFERENCES audit_events (id) ON DELETE CASCADE,
    ordering_key    TEXT,              -- NULL: in no order with any other
    created_at      INTEGER NOT NULL,  -- unix seconds
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER
) STRICT;
CREATE INDEX event_outbox_by_key ON event_outbox (ordering_key, event_id);
