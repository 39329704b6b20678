-- One row that /readyz rewrites while the store is marked unhealthy (a
-- write failed, e.g. the disk was full): a write that succeeds again marks
-- the store healthy. Never written otherwise.
CREATE TABLE store_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at INTEGER NOT NULL
);
