-- MCP: a request asked for over MCP with the Tasks extension is also a task (the task points at
-- the request; states, decisions and events stay the request's), and every `requestState` the
-- gateway issued to a client without Tasks is spent once. Forward-only.
CREATE TABLE mcp_tasks (
    task_id     TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL UNIQUE REFERENCES requests(request_id),
    workflow    TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE TABLE mcp_spent_states (
    nonce       TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL REFERENCES requests(request_id),
    spent_at    TEXT NOT NULL
);
