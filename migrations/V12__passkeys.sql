-- Passkeys (WebAuthn, issue 20). Timestamps are unix seconds.
--
-- Each person gets one random user handle (what authenticators keep and
-- hand back at a discoverable sign-in), never their id or number.
CREATE TABLE passkey_users (
    subject      TEXT PRIMARY KEY NOT NULL,
    user_handle  BLOB NOT NULL UNIQUE   -- 16 random bytes (a UUID)
) STRICT;

-- A passkey: webauthn-rs's `Passkey` as JSON (public key, counter, backup
-- flags), its signature counter and transports also in columns of their
-- own for the operator's eye.
CREATE TABLE passkeys (
    credential_id  BLOB PRIMARY KEY NOT NULL,
    subject        TEXT NOT NULL,
    user_handle    BLOB NOT NULL,
    name           TEXT NOT NULL,
    passkey        TEXT NOT NULL,
    counter        INTEGER NOT NULL DEFAULT 0,
    transports     TEXT NOT NULL DEFAULT '[]',  -- JSON list
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER
) STRICT;
CREATE INDEX passkeys_by_subject ON passkeys (subject);

-- A registration or sign-in ceremony in progress: webauthn-rs's state, on
-- the server only, used once. `binding` is what it belongs to (a grant's
-- subject, a login challenge).
CREATE TABLE webauthn_ceremonies (
    id          TEXT PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL,       -- 'register', 'sign_in'
    binding     TEXT NOT NULL,
    state       TEXT NOT NULL,       -- JSON
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX webauthn_ceremonies_by_expiry ON webauthn_ceremonies (expires_at);
