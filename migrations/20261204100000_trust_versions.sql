-- Every version of the agents' trust store the gateway verified chains against, by the
-- sha256 of its RFC 8785 form; each arrival's sealed event names the version in force, so an
-- auditor re-verifies an old record against the keys trusted when it was received.
CREATE TABLE trust_versions (
    digest         TEXT PRIMARY KEY,
    body           TEXT NOT NULL,
    first_used_at  TEXT NOT NULL
);
