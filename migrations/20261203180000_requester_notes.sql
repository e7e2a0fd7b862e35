-- Notes from the requesting workflow: follow-up messages sent while a request waits for a
-- person (A2A messages naming the task). Untrusted text shown to reviewers; each is also
-- sealed in the audit log through its `requester_note` event. Never part of what a decision
-- signs. One note per (request, message id): a retried message is not added twice.
CREATE TABLE requester_notes (
    request_id  TEXT NOT NULL REFERENCES requests(request_id),
    message_id  TEXT NOT NULL,
    text        TEXT NOT NULL,
    at          TEXT NOT NULL,
    event_id    INTEGER NOT NULL REFERENCES events(id),
    PRIMARY KEY (request_id, message_id)
);
