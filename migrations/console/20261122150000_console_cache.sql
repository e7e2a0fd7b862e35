-- The desktop console's local cache: what the reviewer last saw from the gateway, and the
-- decisions signed while it was unreachable. Separate database from the gateway's.

-- Latest known copy of each request record (as the gateway serves it).
CREATE TABLE records (
    request_id TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    record     TEXT NOT NULL,  -- RequestRecord as JSON
    updated_at TEXT NOT NULL
);

-- Decisions signed by this console, in order; `outcome` stays NULL until the gateway answers.
CREATE TABLE deliveries (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL,
    decision   TEXT NOT NULL,  -- approve | reject
    jws        TEXT NOT NULL,
    queued_at  TEXT NOT NULL,
    outcome    TEXT,           -- DecideOutcome as JSON
    settled_at TEXT
);
CREATE INDEX deliveries_unsettled ON deliveries (id) WHERE outcome IS NULL;

-- The gateway's trust store as last fetched, so names and local re-verification work offline.
CREATE TABLE trust (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    store      TEXT NOT NULL,  -- TrustStore as JSON
    fetched_at TEXT NOT NULL
);
