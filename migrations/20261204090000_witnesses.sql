-- Witness cosignatures (c2sp.org/tlog-cosignature lines) on the log's checkpoints, and per
-- witness the size of the latest checkpoint it cosigned: where the next add-checkpoint starts.
CREATE TABLE audit_cosignatures (
    size     INTEGER NOT NULL REFERENCES audit_checkpoints (size),
    witness  TEXT NOT NULL,
    line     TEXT NOT NULL,
    PRIMARY KEY (size, witness)
);

CREATE TABLE audit_witnesses (
    witness  TEXT PRIMARY KEY,
    size     INTEGER NOT NULL
);
