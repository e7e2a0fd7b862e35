//! A request seen as an A2A task: its state, artifacts and history, and who may see it.

use a2a::{A2AError, Artifact, Message, Part, Role, Task, TaskState, TaskStatus};
use chrono::{DateTime, Utc};
use countersign_store::{A2aTask, StoredRequest};
use countersign_wire::api::RequestState;
use serde_json::{Value, json};

use crate::AppState;
use crate::decisions::outcome;

use super::{EXTENSION_URI, storage_failed};

/// The task a request is, at this moment.
pub(super) async fn task_of(
    state: &AppState,
    task: &A2aTask,
    stored: &StoredRequest,
) -> Result<Task, A2AError> {
    let at = state_since(state, stored).await?;
    let outcome = outcome(state, stored)
        .await
        .map_err(|_| A2AError::internal("cannot read the decision"))?;
    let agent_says = |text: String, data: Value| {
        let mut message = Message::new(Role::Agent, vec![Part::text(text), Part::data(data)]);
        // One id per state, so the same state reads the same every time (and a retried push
        // carries the same body).
        message.message_id = format!("{}-{}", task.task_id, stored.state.as_str());
        message.task_id = Some(task.task_id.clone());
        message.context_id = Some(task.context_id.clone());
        message
    };
    let summary = json!({
        "requestId": stored.request_id,
        "state": stored.state.as_str(),
        "requestDigest": stored.request_digest,
        "expiresAt": stored.expires_at,
    });
    let (message, artifacts) = match stored.state {
        RequestState::Pending | RequestState::Escalated => (
            Some(agent_says(
                "Waiting for a human reviewer's signed decision.".into(),
                summary,
            )),
            None,
        ),
        RequestState::Approved | RequestState::Rejected => {
            let decision = json!({
                "requestId": stored.request_id,
                "decision": if stored.state == RequestState::Approved { "approve" } else { "reject" },
                "decisionJws": outcome.decision_jws,
                "approvals": outcome.approvals,
            });
            let artifact = Artifact {
                artifact_id: format!("{}-decision", task.task_id),
                name: Some("decision".into()),
                description: Some(
                    "The reviewer's decision JWS; verify it against the gateway's JWKS".into(),
                ),
                parts: vec![Part::data(decision)],
                metadata: None,
                extensions: Some(vec![EXTENSION_URI.into()]),
            };
            (None, Some(vec![artifact]))
        }
        RequestState::Refused => {
            let report = Artifact {
                artifact_id: format!("{}-report", task.task_id),
                name: Some("verification-report".into()),
                description: Some("Why the delegation chain was refused".into()),
                parts: vec![Part::data(
                    serde_json::to_value(&stored.report).unwrap_or(Value::Null),
                )],
                metadata: None,
                extensions: Some(vec![EXTENSION_URI.into()]),
            };
            (
                Some(agent_says(
                    "The delegation chain was refused at intake.".into(),
                    summary,
                )),
                Some(vec![report]),
            )
        }
        RequestState::Expired => (
            Some(agent_says(
                "Nobody decided in time; the request expired.".into(),
                summary,
            )),
            None,
        ),
        RequestState::Withdrawn => (None, None),
    };
    Ok(Task {
        id: task.task_id.clone(),
        context_id: task.context_id.clone(),
        status: TaskStatus {
            state: task_state(stored.state),
            message,
            timestamp: Some(at),
        },
        artifacts,
        history: None,
        metadata: None,
    })
}

/// When the task entered its present state (see [`crate::decisions::since`]).
pub(super) async fn state_since(
    state: &AppState,
    stored: &StoredRequest,
) -> Result<DateTime<Utc>, A2AError> {
    crate::decisions::since(state, stored)
        .await
        .map(|at| at.datetime())
        .map_err(storage_failed)
}

/// A task and its request, if `workflow` owns it.
pub(super) async fn owned_task(
    state: &AppState,
    workflow: &str,
    id: &str,
) -> Result<(A2aTask, StoredRequest), A2AError> {
    let task = state
        .store
        .a2a_task(id)
        .await
        .map_err(storage_failed)?
        .filter(|t| t.workflow == workflow)
        .ok_or_else(|| A2AError::task_not_found(id))?;
    let stored = state
        .store
        .request(&task.request_id)
        .await
        .map_err(storage_failed)?
        .ok_or_else(|| A2AError::task_not_found(id))?;
    Ok((task, stored))
}

pub(super) fn is_final(task: &Task) -> bool {
    matches!(
        task.status.state,
        TaskState::Completed | TaskState::Rejected | TaskState::Failed | TaskState::Canceled
    )
}

/// The task state a request's state is.
pub(super) fn task_state(state: RequestState) -> TaskState {
    match state {
        RequestState::Pending | RequestState::Escalated => TaskState::AuthRequired,
        RequestState::Approved => TaskState::Completed,
        RequestState::Rejected | RequestState::Refused => TaskState::Rejected,
        RequestState::Expired => TaskState::Failed,
        RequestState::Withdrawn => TaskState::Canceled,
    }
}

pub(super) const ALL_REQUEST_STATES: [RequestState; 7] = [
    RequestState::Pending,
    RequestState::Escalated,
    RequestState::Approved,
    RequestState::Rejected,
    RequestState::Refused,
    RequestState::Expired,
    RequestState::Withdrawn,
];
