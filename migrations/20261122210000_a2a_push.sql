-- A2A push-notification configs: receivers a workflow registers for a task's final state.
-- They are delivered from the same durable outbox as webhooks. Forward-only.
CREATE TABLE a2a_push_configs (
    task_id           TEXT NOT NULL REFERENCES a2a_tasks(task_id),
    config_id         TEXT NOT NULL,
    url               TEXT NOT NULL,
    token             TEXT,
    auth_scheme       TEXT,
    auth_credentials  TEXT,
    created_at        TEXT NOT NULL,
    PRIMARY KEY (task_id, config_id)
);

-- What an outbox row delivers: 'webhook' (the request's callback, body stored) or 'a2a_push'
-- (the task as it ended, rendered by the gateway at each attempt from the final state).
ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'webhook';
ALTER TABLE outbox ADD COLUMN task_id TEXT;
ALTER TABLE outbox ADD COLUMN config_id TEXT;
