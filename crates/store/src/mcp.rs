//! MCP tasks (each names one request) and the single use of MCP `requestState`s.

use countersign_wire::Timestamp;

use crate::Store;
use crate::error::Result;
use crate::rows::Column as _;

/// A task as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct McpTask {
    /// Task id (server-generated, unguessable).
    pub task_id: String,
    /// The request it is.
    pub request_id: String,
    /// The workflow that owns it.
    pub workflow: String,
    /// When it was created.
    pub created_at: Timestamp,
}

fn task_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<McpTask> {
    Ok(McpTask {
        task_id: row.col("task_id")?,
        request_id: row.col("request_id")?,
        workflow: row.col("workflow")?,
        created_at: row.col("created_at")?,
    })
}

impl Store {
    /// The task of `request_id`, created with `task_id` if it has none yet (a repeated call
    /// for the same request gets the same task).
    pub async fn mcp_task_for(
        &self,
        request_id: &str,
        task_id: &str,
        workflow: &str,
        at: Timestamp,
    ) -> Result<McpTask> {
        sqlx::query(
            "INSERT OR IGNORE INTO mcp_tasks (task_id, request_id, workflow, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(task_id)
        .bind(request_id)
        .bind(workflow)
        .bind(at)
        .execute(&self.write)
        .await?;
        let row = sqlx::query("SELECT * FROM mcp_tasks WHERE request_id = ?")
            .bind(request_id)
            .fetch_one(&self.write)
            .await?;
        task_from_row(&row)
    }

    /// A task by id.
    pub async fn mcp_task(&self, task_id: &str) -> Result<Option<McpTask>> {
        sqlx::query("SELECT * FROM mcp_tasks WHERE task_id = ?")
            .bind(task_id)
            .fetch_optional(&self.read)
            .await?
            .as_ref()
            .map(task_from_row)
            .transpose()
    }

    /// Spends a `requestState` by its nonce: true the first time, false ever after.
    pub async fn spend_request_state(
        &self,
        nonce: &str,
        request_id: &str,
        at: Timestamp,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT OR IGNORE INTO mcp_spent_states (nonce, request_id, spent_at) VALUES (?, ?, ?)",
        )
        .bind(nonce)
        .bind(request_id)
        .bind(at)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
