-- Text messages on their way to the SMS gateway. A request that asks for a
-- code only stores its message here and answers at once; a background worker
-- delivers it, retrying with backoff, so members and strangers get the same
-- answer in the same time whatever the gateway does. A message dies with its
-- code (deleted, used or superseded).
CREATE TABLE sms_outbox (
    challenge_id     TEXT PRIMARY KEY NOT NULL
                     REFERENCES otp_challenges (id) ON DELETE CASCADE,
    -- nonce || ChaCha20-Poly1305(phone, code, text) under a key derived from
    -- the server secret: the database alone does not give the codes away.
    sealed           BLOB NOT NULL,
    -- The rate-limit rows the send counted, refunded if it is never delivered.
    refund_event_ids TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,  -- failed attempts so far
    next_attempt_at  INTEGER NOT NULL,            -- unix seconds
    -- Set while a worker is sending it, so no other worker sends it too.
    claimed_until    INTEGER
) STRICT;
CREATE INDEX sms_outbox_due ON sms_outbox (next_attempt_at);
