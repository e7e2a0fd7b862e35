-- "Not now": requests this reviewer put aside until a time of their choosing. The queue hides
-- them until then; the gateway knows nothing of it, so its deadlines keep running.
CREATE TABLE snoozes (
    request_id TEXT PRIMARY KEY,
    until      TEXT NOT NULL,
    snoozed_at TEXT NOT NULL
);
