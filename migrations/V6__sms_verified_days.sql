-- Verified codes per country and UTC day, for sms.policy's adaptive ceiling:
-- a country may get only so many unverified codes a day, scaled to its
-- busiest day of verified ones in the last 14. Sends are counted in
-- rate_limit_events (kind 'country'), so an undelivered code is refunded.
CREATE TABLE sms_verified_days (
    country   TEXT NOT NULL,     -- ISO 3166 code, or 'none'
    day       INTEGER NOT NULL,  -- unix seconds / 86400
    verified  INTEGER NOT NULL,
    PRIMARY KEY (country, day)
) STRICT;
