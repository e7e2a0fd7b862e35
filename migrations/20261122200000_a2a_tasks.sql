-- A2A: a request submitted over A2A is also a task. One record: the task points at the request;
-- states, decisions and events stay the request's. Forward-only.
CREATE TABLE a2a_tasks (
    task_id     TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL UNIQUE REFERENCES requests(request_id),
    context_id  TEXT NOT NULL,
    workflow    TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX a2a_tasks_by_workflow ON a2a_tasks(workflow, created_at);
