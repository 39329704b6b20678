-- A code belongs to the sign-in flow that asked for it (a browser's login
-- challenge or a headless session), not to the phone: another flow can
-- neither use it, burn it with wrong tries, nor replace it with a new code.
-- Codes issued before this migration belong to no flow and simply expire.
ALTER TABLE otp_challenges ADD COLUMN flow TEXT NOT NULL DEFAULT '';
CREATE INDEX otp_challenges_by_flow ON otp_challenges (flow, created_at);
