-- The gateway's durable state. Forward-only: never edit this file once applied; add a new one.

-- Workflows that may submit requests; their bearer credentials are stored only as SHA-256.
CREATE TABLE workflows (
    name        TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

-- People who use consoles, and their Ed25519 keys (kid = RFC 7638 thumbprint).
CREATE TABLE reviewers (
    identity      TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    roles         TEXT NOT NULL, -- JSON array of reviewer | supervisor | auditor
    tiers         TEXT NOT NULL, -- JSON array of low | medium | high | critical
    enrolled_at   TEXT NOT NULL
);
CREATE TABLE reviewer_keys (
    kid          TEXT PRIMARY KEY,
    identity     TEXT NOT NULL REFERENCES reviewers(identity),
    jwk          TEXT NOT NULL,
    enrolled_at  TEXT NOT NULL
);

-- Every request received with a usable request_id, including refused ones, so a repeated
-- submission gets the same answer. `body` is kept exactly as submitted.
CREATE TABLE requests (
    request_id      TEXT PRIMARY KEY,
    workflow        TEXT NOT NULL,
    state           TEXT NOT NULL,
    tier            TEXT NOT NULL,
    txn             TEXT NOT NULL,
    expires_at      INTEGER NOT NULL, -- seconds since the epoch, for the expiry sweep
    expires_at_text TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    request_digest  TEXT NOT NULL,
    body            TEXT NOT NULL,
    report          TEXT NOT NULL,    -- VerificationReport JSON, with gateway findings
    parties         TEXT NOT NULL,    -- JSON array: principal and chain identities (may not decide)
    callback_url    TEXT,
    intake_status   INTEGER NOT NULL  -- HTTP status of the intake answer, replayed for duplicates
);
CREATE INDEX requests_open_by_expiry ON requests(state, expires_at);

-- Refusals of bodies without a usable request_id.
CREATE TABLE intake_refusals (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow        TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    request_digest  TEXT,
    report          TEXT NOT NULL
);

-- Hop jtis seen, for REPLAYED_JTI across requests.
CREATE TABLE hop_jtis (
    jti         TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL,
    hop         INTEGER NOT NULL
);

-- Accepted decisions. jti is the primary key: a decision is single-use.
CREATE TABLE decisions (
    jti         TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL REFERENCES requests(request_id),
    decision    TEXT NOT NULL,
    decided_by  TEXT NOT NULL,
    reason      TEXT NOT NULL,
    decided_at  TEXT NOT NULL,
    jws         TEXT NOT NULL
);
CREATE INDEX decisions_by_request ON decisions(request_id);

-- Console token jtis, remembered until they expire (single-use tokens).
CREATE TABLE console_token_jtis (
    jti         TEXT PRIMARY KEY,
    expires_at  INTEGER NOT NULL
);

-- The event log: consoles subscribe to it (SSE ids are `id`), and it records every step.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    state       TEXT NOT NULL,
    at          TEXT NOT NULL,
    actor       TEXT
);
CREATE INDEX events_by_request ON events(request_id);

-- Webhook deliveries, durable so a crash or a receiver outage loses nothing.
CREATE TABLE outbox (
    delivery_id      TEXT PRIMARY KEY,
    request_id       TEXT NOT NULL,
    url              TEXT NOT NULL,
    body             TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    delivered_at     TEXT,
    last_error       TEXT,
    created_at       TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox(delivered_at, next_attempt_at);

-- What workflows report they did with a decision.
CREATE TABLE receipts (
    request_id     TEXT PRIMARY KEY REFERENCES requests(request_id),
    status         TEXT NOT NULL,
    executed_at    TEXT NOT NULL,
    detail         TEXT NOT NULL,
    result_digest  TEXT,
    recorded_at    TEXT NOT NULL
);
