-- Supervision: the escalation queue, quorum approvals and what each event is about.
-- Forward-only: never edit this file once applied; add a new one.

-- Why a request is in the supervisors' queue: one row per (request, reason). A row stays
-- after it is handled (`closed_at`) so an overdue request is not raised again at a level it
-- already reached.
CREATE TABLE escalations (
    request_id  TEXT NOT NULL REFERENCES requests(request_id),
    reason      TEXT NOT NULL,            -- blocked_by_findings | overdue | by_reviewer | by_workflow | awaiting_second_approver
    level       INTEGER NOT NULL DEFAULT 0,
    notify      TEXT NOT NULL DEFAULT '[]', -- JSON array: role:supervisor or identities
    note        TEXT NOT NULL DEFAULT '',
    raised_by   TEXT NOT NULL,
    raised_at   TEXT NOT NULL,
    closed_at   TEXT,
    PRIMARY KEY (request_id, reason)
);

-- The reviewer a supervisor handed the request to.
ALTER TABLE requests ADD COLUMN assigned_to TEXT;

-- Structured detail of an event (escalation reason, override, export range…), sealed into
-- the audit log with it; and for decision events, the decision they record (a quorum means
-- several decisions per request).
ALTER TABLE events ADD COLUMN detail TEXT;
ALTER TABLE events ADD COLUMN decision_jti TEXT;
