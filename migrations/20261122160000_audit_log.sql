-- The tamper-evident audit log: every event, sealed in order into an RFC 9162 Merkle tree,
-- with signed C2SP checkpoints. `seq` is the leaf index; `entry` holds the exact bytes hashed.
CREATE TABLE audit_entries (
    seq        INTEGER PRIMARY KEY,
    event_id   INTEGER NOT NULL UNIQUE,
    entry      TEXT NOT NULL,
    leaf_hash  BLOB NOT NULL
);

-- Every signed checkpoint, as the signed note (text and signature lines).
CREATE TABLE audit_checkpoints (
    size       INTEGER PRIMARY KEY,
    note       TEXT NOT NULL,
    signed_at  TEXT NOT NULL
);
