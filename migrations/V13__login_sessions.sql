-- How each of Hydra's login sessions was proved (issue 20): a remembered
-- sign-in reports the amr and acr of the sign-in that made the session,
-- not a guess. Keyed by Hydra's login session id (the id_token's `sid`).
-- Timestamps are unix seconds.
CREATE TABLE login_sessions (
    session_id  TEXT PRIMARY KEY NOT NULL,
    subject     TEXT NOT NULL,
    amr         TEXT NOT NULL,      -- JSON list (RFC 8176 values)
    acr         TEXT NOT NULL,      -- '' when no level applies
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX login_sessions_by_expiry ON login_sessions (expires_at);
