-- Sign-in methods next to the SMS code (issue 20). Timestamps are unix
-- seconds.
--
-- Authenticator apps (TOTP, RFC 6238). The shared secret is sealed
-- (ChaCha20-Poly1305, a key derived from the server secret, bound to the
-- row's id); `last_step` is the last time step a code was accepted for,
-- so a code is taken once per step. A row stays unconfirmed until the
-- person typed a first code from the app.
CREATE TABLE totp_credentials (
    id             TEXT PRIMARY KEY NOT NULL,  -- random, hex
    subject        TEXT NOT NULL,              -- the directory's user id
    name           TEXT NOT NULL,
    secret_sealed  BLOB NOT NULL,
    confirmed      INTEGER NOT NULL DEFAULT 0,
    last_step      INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER
) STRICT;
CREATE INDEX totp_credentials_by_subject ON totp_credentials (subject);

-- A short window after a sign-in in which the person may set up another
-- method: the browser holds the token (a cookie), the row its hash.
CREATE TABLE enrolment_grants (
    token_hash   BLOB PRIMARY KEY NOT NULL,  -- SHA-256 of the cookie's token
    subject      TEXT NOT NULL,
    continue_to  TEXT NOT NULL,              -- where the sign-in goes on (Hydra)
    expires_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX enrolment_grants_by_expiry ON enrolment_grants (expires_at);

-- People who said "not now" to the offer: not asked again until `until`.
CREATE TABLE declined_offers (
    subject  TEXT PRIMARY KEY NOT NULL,
    until    INTEGER NOT NULL
) STRICT;
