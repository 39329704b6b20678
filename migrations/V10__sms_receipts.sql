-- Texts a provider took, kept for a day so that its delivery receipt can be
-- matched to the code it carried: `failed` withdraws the code (if still
-- unused) and refunds the send early; both feed the delivery metrics per
-- provider and country. The phone number is not kept, only its country.
CREATE TABLE sms_receipts (
    provider         TEXT NOT NULL,     -- 'twilio', 'vonage', ...
    message_id       TEXT NOT NULL,     -- the provider's id for the message
    challenge_id     TEXT NOT NULL,     -- the code it carried (may be gone)
    country          TEXT NOT NULL,     -- ISO code of the number, or 'none'
    -- The rate-limit rows the send counted, refunded if it fails.
    refund_event_ids TEXT NOT NULL,
    sent_at          INTEGER NOT NULL,  -- unix seconds
    status           TEXT NOT NULL DEFAULT 'sent',  -- sent, delivered, failed
    updated_at       INTEGER,
    PRIMARY KEY (provider, message_id)
) STRICT;
CREATE INDEX sms_receipts_by_time ON sms_receipts (sent_at);
