-- What gatehouse remembers about each login or consent challenge it has
-- seen (issue 21): in the database, so that the steps of one sign-in may
-- reach different instances. `key` is the challenge's SHA-256, hex (a
-- challenge is a bearer secret); times are unix seconds. The clean-up job
-- removes a row once `forget_at` has passed.
CREATE TABLE login_challenges (
    key          TEXT PRIMARY KEY NOT NULL,
    deadline     INTEGER NOT NULL,   -- when the challenge expires (first sight + Hydra's TTL)
    forget_at    INTEGER NOT NULL,   -- an hour past the deadline, or soon after the first answer
    request_url  TEXT NOT NULL,      -- the client's authorization URL ('' when too long)
    answer       TEXT                -- where the first answer sent the browser
) STRICT, WITHOUT ROWID;
CREATE INDEX login_challenges_by_forget_at ON login_challenges (forget_at);
