-- Users: the people gatehouse signs in. `id` is the stable, opaque OIDC subject.
CREATE TABLE users (
    id              TEXT PRIMARY KEY NOT NULL,
    phone           TEXT NOT NULL UNIQUE,          -- E.164
    given_name      TEXT,
    family_name     TEXT,
    email           TEXT,
    email_verified  INTEGER NOT NULL DEFAULT 0,
    phone_verified  INTEGER NOT NULL DEFAULT 0,
    street_address  TEXT,
    locality        TEXT,
    region          TEXT,
    postal_code     TEXT,
    country         TEXT,
    disabled        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,              -- unix seconds
    updated_at      INTEGER NOT NULL
) STRICT;
