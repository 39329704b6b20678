-- Proofs of work already used (bot_challenge.kind = "proof_of_work"): each
-- challenge gatehouse issues is good for one code. A challenge is kept here
-- until it expires (after that it is refused as expired anyway), then the
-- clean-up job removes it. Kept in the database so that a restart does not
-- let a used proof in again.
CREATE TABLE spent_proofs (
    salt        TEXT PRIMARY KEY NOT NULL,  -- the challenge's random part, hex
    expires_at  INTEGER NOT NULL            -- the challenge's expiry, unix seconds
) STRICT, WITHOUT ROWID;
CREATE INDEX spent_proofs_by_expiry ON spent_proofs (expires_at);
