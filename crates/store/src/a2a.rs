//! A2A tasks (each names one request) and withdrawal, which A2A calls cancelling a task.

use countersign_wire::Timestamp;
use countersign_wire::api::{EventKind, GatewayEvent, RequestState};

use crate::Store;
use crate::error::{Result, corrupt};
use crate::events::{EventRow, append_event, state_of};
use crate::outbox::enqueue_final_delivery;
use crate::rows::Column as _;

/// The most push configs one task may have.
pub const MAX_PUSH_CONFIGS: i64 = 10;

/// A task as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct A2aTask {
    /// Task id (server-generated).
    pub task_id: String,
    /// The request it is.
    pub request_id: String,
    /// A2A context id.
    pub context_id: String,
    /// The workflow that owns it.
    pub workflow: String,
}

/// Where a task's final state is pushed, as a workflow registered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushConfig {
    /// The task.
    pub task_id: String,
    /// Its id, unique within the task.
    pub config_id: String,
    /// Receiver URL.
    pub url: String,
    /// Sent back as `X-A2A-Notification-Token`, so the receiver can tell it is ours.
    pub token: Option<String>,
    /// `Authorization: {scheme} {credentials}` for the receiver.
    pub auth_scheme: Option<String>,
    /// Credentials for `auth_scheme`; never read back out to clients.
    pub auth_credentials: Option<String>,
}

/// Outcome of [`Store::put_push_config`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushWrite {
    /// Stored (or replaced, for the same id); pushed at once if the task had already ended.
    Stored,
    /// The task already has [`MAX_PUSH_CONFIGS`].
    TooMany,
}

/// Which of a workflow's tasks to list.
#[derive(Clone, Debug, Default)]
pub struct TaskFilter {
    /// Only this A2A context.
    pub context_id: Option<String>,
    /// Only requests in these states (`None`: any).
    pub states: Option<Vec<RequestState>>,
    /// Only tasks whose state began at or after this time.
    pub updated_since: Option<Timestamp>,
}

/// Where a page of tasks ends: the next page starts after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskCursor {
    /// When the last task on the page entered its state.
    pub updated_at: Timestamp,
    /// Its id (ties on time are broken by id).
    pub task_id: String,
}

/// A listed task and when it entered its present state.
#[derive(Clone, Debug)]
pub struct ListedTask {
    /// The task.
    pub task: A2aTask,
    /// When its present state began.
    pub updated_at: Timestamp,
}

/// Outcome of [`Store::withdraw`].
#[derive(Clone, Debug)]
pub enum WithdrawWrite {
    /// Withdrawn now, with its event.
    Withdrawn(GatewayEvent),
    /// It was no longer open.
    NotOpen(RequestState),
}

fn push_config_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<PushConfig> {
    Ok(PushConfig {
        task_id: row.col("task_id")?,
        config_id: row.col("config_id")?,
        url: row.col("url")?,
        token: row.col("token")?,
        auth_scheme: row.col("auth_scheme")?,
        auth_credentials: row.col("auth_credentials")?,
    })
}

/// Queues a push of `request_id`'s final state (`delivery_prefix` is `{request}:{state}`) to
/// its task's configs, or to one of them.
pub(crate) async fn enqueue_pushes(
    tx: &mut sqlx::SqliteConnection,
    request_id: &str,
    delivery_prefix: &str,
    only_config: Option<&str>,
    at: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT OR IGNORE INTO outbox (delivery_id, request_id, url, body, attempts, next_attempt_at, created_at, channel, task_id, config_id)
         SELECT ? || ':push:' || c.task_id || ':' || c.config_id, t.request_id, c.url, '', 0, ?, ?, 'a2a_push', c.task_id, c.config_id
         FROM a2a_push_configs c JOIN a2a_tasks t ON t.task_id = c.task_id
         WHERE t.request_id = ? AND (? IS NULL OR c.config_id = ?)",
    )
    .bind(delivery_prefix)
    .bind(at)
    .bind(at)
    .bind(request_id)
    .bind(only_config)
    .bind(only_config)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

fn task_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<A2aTask> {
    Ok(A2aTask {
        task_id: row.col("task_id")?,
        request_id: row.col("request_id")?,
        context_id: row.col("context_id")?,
        workflow: row.col("workflow")?,
    })
}

impl Store {
    /// The task of `request_id`, created with `task_id` and `context_id` if it has none yet.
    pub async fn a2a_task_for(
        &self,
        request_id: &str,
        task_id: &str,
        context_id: &str,
        workflow: &str,
        at: Timestamp,
    ) -> Result<A2aTask> {
        sqlx::query("INSERT OR IGNORE INTO a2a_tasks (task_id, request_id, context_id, workflow, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(task_id)
            .bind(request_id)
            .bind(context_id)
            .bind(workflow)
            .bind(at)
            .execute(&self.write)
            .await?;
        let row = sqlx::query("SELECT * FROM a2a_tasks WHERE request_id = ?")
            .bind(request_id)
            .fetch_one(&self.write)
            .await?;
        task_from_row(&row)
    }

    /// A task by id.
    pub async fn a2a_task(&self, task_id: &str) -> Result<Option<A2aTask>> {
        sqlx::query("SELECT * FROM a2a_tasks WHERE task_id = ?")
            .bind(task_id)
            .fetch_optional(&self.read)
            .await?
            .as_ref()
            .map(task_from_row)
            .transpose()
    }

    /// One page of a workflow's tasks, most recently changed first (the time each entered its
    /// present state), with the number matching the filter across all pages. The cursor is
    /// the last row of the previous page.
    pub async fn a2a_task_page(
        &self,
        workflow: &str,
        filter: &TaskFilter,
        after: Option<&TaskCursor>,
        limit: u32,
    ) -> Result<(Vec<ListedTask>, i64)> {
        // A waiting task changed when its request arrived; an ended one when it ended.
        const LISTED: &str = concat!(
            "WITH listed AS (
            SELECT t.*, r.state,
                CASE WHEN r.state IN ",
            open_states!(),
            " THEN r.received_at
                     ELSE COALESCE((SELECT MIN(e.at) FROM events e
                                    WHERE e.request_id = t.request_id AND e.state = r.state),
                                   r.received_at) END AS updated_at
            FROM a2a_tasks t JOIN requests r ON r.request_id = t.request_id
            WHERE t.workflow = ?1 AND (?2 IS NULL OR t.context_id = ?2))
          SELECT * FROM listed
          WHERE (?3 IS NULL OR state IN (SELECT value FROM json_each(?3)))
            AND (?4 IS NULL OR updated_at >= ?4)"
        );
        let states = filter.states.as_ref().map(|states| {
            serde_json::Value::from(states.iter().map(|s| s.as_str()).collect::<Vec<_>>())
                .to_string()
        });
        let rows = sqlx::query(&format!(
            "{LISTED} AND (?5 IS NULL OR (updated_at, task_id) < (?5, ?6))
             ORDER BY updated_at DESC, task_id DESC LIMIT ?7"
        ))
        .bind(workflow)
        .bind(&filter.context_id)
        .bind(&states)
        .bind(filter.updated_since)
        .bind(after.map(|c| &c.updated_at))
        .bind(after.map(|c| &c.task_id))
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM ({LISTED})"))
            .bind(workflow)
            .bind(&filter.context_id)
            .bind(&states)
            .bind(filter.updated_since)
            .fetch_one(&self.read)
            .await?;
        let page = rows
            .iter()
            .map(|row| {
                Ok(ListedTask {
                    task: task_from_row(row)?,
                    updated_at: row.col("updated_at")?,
                })
            })
            .collect::<Result<_>>()?;
        Ok((page, total))
    }

    /// The workflow withdraws an open request: it can no longer be approved; waiters,
    /// consoles and the webhook are told.
    pub async fn withdraw(
        &self,
        request_id: &str,
        workflow: &str,
        at: Timestamp,
    ) -> Result<WithdrawWrite> {
        let mut tx = self.write.begin().await?;
        let callback: Option<Option<String>> = sqlx::query_scalar(concat!(
            "UPDATE requests SET state = 'withdrawn' WHERE request_id = ? AND state IN ",
            open_states!(),
            " RETURNING callback_url"
        ))
        .bind(request_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(callback) = callback else {
            let current = state_of(&mut tx, request_id)
                .await?
                .unwrap_or(RequestState::Refused);
            return Ok(WithdrawWrite::NotOpen(current));
        };
        let event = append_event(
            &mut tx,
            EventRow::new(
                EventKind::RequestWithdrawn,
                request_id,
                RequestState::Withdrawn,
                at,
                Some(workflow),
            ),
        )
        .await?;
        sqlx::query(
            "UPDATE escalations SET closed_at = ? WHERE request_id = ? AND closed_at IS NULL",
        )
        .bind(at)
        .bind(request_id)
        .execute(&mut *tx)
        .await?;
        enqueue_final_delivery(
            &mut tx,
            request_id,
            callback.as_deref(),
            RequestState::Withdrawn,
            None,
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(WithdrawWrite::Withdrawn(event))
    }

    /// Registers (or replaces, by id) a push config. A task that has already ended is pushed
    /// at once; otherwise the push is queued with the final state, in the same transaction.
    pub async fn put_push_config(&self, config: &PushConfig, at: Timestamp) -> Result<PushWrite> {
        let mut tx = self.write.begin().await?;
        let others: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM a2a_push_configs WHERE task_id = ? AND config_id != ?",
        )
        .bind(&config.task_id)
        .bind(&config.config_id)
        .fetch_one(&mut *tx)
        .await?;
        if others >= MAX_PUSH_CONFIGS {
            return Ok(PushWrite::TooMany);
        }
        sqlx::query(
            "INSERT INTO a2a_push_configs (task_id, config_id, url, token, auth_scheme, auth_credentials, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (task_id, config_id) DO UPDATE SET url = excluded.url, token = excluded.token,
                 auth_scheme = excluded.auth_scheme, auth_credentials = excluded.auth_credentials",
        )
        .bind(&config.task_id)
        .bind(&config.config_id)
        .bind(&config.url)
        .bind(&config.token)
        .bind(&config.auth_scheme)
        .bind(&config.auth_credentials)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        // A replaced config starts afresh: nothing stays queued for its old receiver, and an
        // ended task is pushed again to the new one (the audit log keeps the earlier delivery).
        sqlx::query("DELETE FROM outbox WHERE task_id = ? AND config_id = ?")
            .bind(&config.task_id)
            .bind(&config.config_id)
            .execute(&mut *tx)
            .await?;
        let request_id: String =
            sqlx::query_scalar("SELECT request_id FROM a2a_tasks WHERE task_id = ?")
                .bind(&config.task_id)
                .fetch_one(&mut *tx)
                .await?;
        let state = state_of(&mut tx, &request_id)
            .await?
            .unwrap_or(RequestState::Refused);
        if !matches!(state, RequestState::Pending | RequestState::Escalated) {
            let prefix = format!("{request_id}:{}", state.as_str());
            enqueue_pushes(&mut tx, &request_id, &prefix, Some(&config.config_id), at).await?;
        }
        tx.commit().await?;
        Ok(PushWrite::Stored)
    }

    /// One push config of a task.
    pub async fn push_config(&self, task_id: &str, config_id: &str) -> Result<Option<PushConfig>> {
        sqlx::query("SELECT * FROM a2a_push_configs WHERE task_id = ? AND config_id = ?")
            .bind(task_id)
            .bind(config_id)
            .fetch_optional(&self.read)
            .await?
            .as_ref()
            .map(push_config_from_row)
            .transpose()
    }

    /// A task's push configs, oldest first.
    pub async fn push_configs(&self, task_id: &str) -> Result<Vec<PushConfig>> {
        sqlx::query(
            "SELECT * FROM a2a_push_configs WHERE task_id = ? ORDER BY created_at, config_id",
        )
        .bind(task_id)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(push_config_from_row)
        .collect()
    }

    /// Deletes a push config and any push still queued for it; false if there was none.
    pub async fn delete_push_config(&self, task_id: &str, config_id: &str) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let deleted =
            sqlx::query("DELETE FROM a2a_push_configs WHERE task_id = ? AND config_id = ?")
                .bind(task_id)
                .bind(config_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        sqlx::query(
            "DELETE FROM outbox WHERE task_id = ? AND config_id = ? AND delivered_at IS NULL",
        )
        .bind(task_id)
        .bind(config_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(deleted > 0)
    }

    /// When the request entered `state` (its first event in that state).
    pub async fn entered_state_at(
        &self,
        request_id: &str,
        state: RequestState,
    ) -> Result<Option<Timestamp>> {
        let at: Option<String> = sqlx::query_scalar(
            "SELECT at FROM events WHERE request_id = ? AND state = ? ORDER BY id LIMIT 1",
        )
        .bind(request_id)
        .bind(state.as_str())
        .fetch_optional(&self.read)
        .await?;
        at.map(|at| Timestamp::parse(&at).map_err(|e| corrupt("event time", e)))
            .transpose()
    }
}
