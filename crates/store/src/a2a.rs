//! A2A tasks (each names one request) and withdrawal, which A2A calls cancelling a task.

use countersign_wire::api::{EventKind, GatewayEvent, RequestState};
use sqlx::Row;

use crate::{EventRow, Result, Store, append_event, enqueue_final_delivery, state_of};

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

/// Outcome of [`Store::withdraw`].
#[derive(Clone, Debug)]
pub enum WithdrawWrite {
    /// Withdrawn now, with its event.
    Withdrawn(GatewayEvent),
    /// It was no longer open.
    NotOpen(RequestState),
}

fn task_from_row(row: &sqlx::sqlite::SqliteRow) -> A2aTask {
    A2aTask {
        task_id: row.get("task_id"),
        request_id: row.get("request_id"),
        context_id: row.get("context_id"),
        workflow: row.get("workflow"),
    }
}

impl Store {
    /// The task of `request_id`, created with `task_id` and `context_id` if it has none yet.
    pub async fn a2a_task_for(
        &self,
        request_id: &str,
        task_id: &str,
        context_id: &str,
        workflow: &str,
        at: &str,
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
        Ok(task_from_row(&row))
    }

    /// A task by id.
    pub async fn a2a_task(&self, task_id: &str) -> Result<Option<A2aTask>> {
        Ok(sqlx::query("SELECT * FROM a2a_tasks WHERE task_id = ?")
            .bind(task_id)
            .fetch_optional(&self.read)
            .await?
            .as_ref()
            .map(task_from_row))
    }

    /// A workflow's tasks, newest first, optionally in one context.
    pub async fn a2a_tasks(
        &self,
        workflow: &str,
        context_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<A2aTask>> {
        Ok(sqlx::query(
            "SELECT * FROM a2a_tasks WHERE workflow = ? AND (? IS NULL OR context_id = ?) ORDER BY created_at DESC, task_id LIMIT ?",
        )
        .bind(workflow)
        .bind(context_id)
        .bind(context_id)
        .bind(limit)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(task_from_row)
        .collect())
    }

    /// The workflow withdraws an open request: it can no longer be approved; waiters,
    /// consoles and the webhook are told.
    pub async fn withdraw(
        &self,
        request_id: &str,
        workflow: &str,
        now_s: i64,
        at: &str,
    ) -> Result<WithdrawWrite> {
        let mut tx = self.write.begin().await?;
        let callback: Option<Option<String>> = sqlx::query_scalar(
            "UPDATE requests SET state = 'withdrawn' WHERE request_id = ? AND state IN ('pending', 'escalated') RETURNING callback_url",
        )
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
        if let Some(url) = callback {
            enqueue_final_delivery(
                &mut tx,
                request_id,
                &url,
                RequestState::Withdrawn,
                None,
                now_s,
                at,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(WithdrawWrite::Withdrawn(event))
    }
}
