-- Headless sign-in sessions: one per request-otp call of a native app, used
-- once by verify-otp. The session id handed to the app is never stored, only
-- its SHA-256, so a copy of the database cannot be used to finish a sign-in.
CREATE TABLE headless_sessions (
    id_hash          BLOB PRIMARY KEY NOT NULL,   -- SHA-256 of the session id (256 random bits)
    client_id        TEXT NOT NULL,
    phone            TEXT NOT NULL,               -- E.164
    state            TEXT NOT NULL,               -- OAuth2 state sent to /oauth2/auth
    nonce            TEXT NOT NULL,               -- OIDC nonce, checked in the id_token
    code_verifier    TEXT NOT NULL,               -- PKCE verifier; never leaves the server
    login_challenge  TEXT NOT NULL,
    hydra_cookies    TEXT NOT NULL,               -- JSON object: Hydra's cookies, name -> value
    created_at       INTEGER NOT NULL,            -- unix seconds
    expires_at       INTEGER NOT NULL,
    consumed_at      INTEGER                      -- set once: signed in, or its code died
) STRICT;
CREATE INDEX headless_sessions_by_expiry ON headless_sessions (expires_at);
