//! The A2A operations over stored requests: send, get, cancel, list (with cursor pages).

use a2a::{
    A2AError, Message, Part, PartContent, Role, SendMessageRequest, SendMessageResponse, Task,
    TaskState,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use countersign_store::{TaskCursor, TaskFilter, WithdrawWrite};
use countersign_wire::api::{ErrorCode, RequestState};
use countersign_wire::{REQUEST_SCHEMA, Timestamp};
use serde_json::Value;

use crate::AppState;
use crate::notes::{NoteRefused, add_note};

use super::{
    ALL_REQUEST_STATES, INPUT_MODES, owned_task, push, storage_failed, task_of, task_state,
};

/// `SendMessage`: the data part's DelegationRequest becomes a request and its task.
pub(super) async fn send(
    state: &AppState,
    workflow: &str,
    request: SendMessageRequest,
) -> Result<SendMessageResponse, A2AError> {
    // Data (the request) and text (a person or agent asking what to send) are understood.
    let unsupported = request.message.parts.iter().any(|p| {
        p.media_type
            .as_deref()
            .is_some_and(|m| !INPUT_MODES.contains(&m.split(';').next().unwrap_or(m).trim()))
    });
    if unsupported {
        return Err(A2AError::content_type_not_supported());
    }
    // Checked before anything is stored: a bad receiver must not leave a request behind.
    let inline_push = request
        .configuration
        .as_ref()
        .and_then(|c| c.task_push_notification_config.clone())
        .map(push::PendingConfig::check)
        .transpose()?;
    // A message naming a task continues it: a note for the reviewer (the A2A spec: an agent
    // SHOULD take follow-ups while a task waits in AUTH_REQUIRED).
    if let Some(task_id) = &request.message.task_id {
        let task = follow_up(state, workflow, task_id, &request.message).await?;
        if let Some(config) = inline_push {
            config.store(state, &task.id).await?;
        }
        return Ok(SendMessageResponse::Task(task));
    }
    let data = request.message.parts.iter().find_map(|p| match &p.content {
        PartContent::Data(value)
            if value.get("schema").and_then(Value::as_str) == Some(REQUEST_SCHEMA) =>
        {
            Some(value)
        }
        _ => None,
    });
    let Some(data) = data else {
        // Nothing to approve: answer with a message saying what this agent takes.
        let mut reply = Message::new(
            Role::Agent,
            vec![Part::text(format!(
                "Send a Countersign DelegationRequest ({REQUEST_SCHEMA}) in a data part: a \
                 person will review its delegation chain and sign a decision."
            ))],
        );
        reply.context_id = Some(
            request
                .message
                .context_id
                .clone()
                .unwrap_or_else(a2a::new_context_id),
        );
        return Ok(SendMessageResponse::Message(reply));
    };
    let bytes = serde_json::to_vec(data).map_err(|e| A2AError::invalid_params(e.to_string()))?;
    let stored = crate::intake::receive(state, workflow.to_owned(), &bytes)
        .await
        .map_err(|failure| match failure.code() {
            ErrorCode::Internal => A2AError::internal("the gateway failed"),
            _ => A2AError::invalid_params(failure.message().to_owned()),
        })?;
    let at = state.clock.timestamp();
    let task = state
        .store
        .a2a_task_for(
            &stored.request_id,
            &a2a::new_task_id(),
            &request
                .message
                .context_id
                .clone()
                .unwrap_or_else(a2a::new_context_id),
            workflow,
            at,
        )
        .await
        .map_err(storage_failed)?;
    if task.workflow != workflow {
        return Err(A2AError::invalid_params(
            "that request id is already used by another request; send it under a new id",
        ));
    }
    if let Some(config) = inline_push {
        config.store(state, &task.task_id).await?;
    }
    Ok(SendMessageResponse::Task(
        task_of(state, &task, &stored).await?,
    ))
}

/// A follow-up message on a waiting task becomes a note from the requester: shown to the
/// reviewer as untrusted text and sealed in the audit log, never part of what is signed. What
/// a reviewer signs was fixed at intake, so a follow-up cannot carry a request.
async fn follow_up(
    state: &AppState,
    workflow: &str,
    task_id: &str,
    message: &Message,
) -> Result<Task, A2AError> {
    let (task, stored) = owned_task(state, workflow, task_id).await?;
    if message
        .context_id
        .as_ref()
        .is_some_and(|c| *c != task.context_id)
    {
        return Err(A2AError::invalid_params(format!(
            "contextId is not the context of task {task_id}"
        )));
    }
    let mut texts = Vec::new();
    for part in &message.parts {
        match &part.content {
            PartContent::Text(text) => texts.push(text.as_str()),
            PartContent::Data(value)
                if value.get("schema").and_then(Value::as_str) == Some(REQUEST_SCHEMA) =>
            {
                return Err(A2AError::invalid_params(
                    "a follow-up cannot change what a reviewer signs: send a new request under \
                     a new id",
                ));
            }
            _ => {
                return Err(A2AError::invalid_params(
                    "a follow-up is a note for the reviewer: send it as text parts",
                ));
            }
        }
    }
    let added = add_note(
        state,
        workflow,
        &stored.request_id,
        &message.message_id,
        texts.join("\n"),
    )
    .await
    .map_err(storage_failed)?;
    if let Err(refused) = added {
        return Err(match refused {
            NoteRefused::Ended(_) => A2AError::unsupported_operation(format!(
                "task {task_id} has ended: it takes no further messages"
            )),
            refused => A2AError::invalid_params(refused.message()),
        });
    }
    task_of(state, &task, &stored).await
}

/// `GetTask`.
pub(super) async fn get(state: &AppState, workflow: &str, task_id: &str) -> Result<Task, A2AError> {
    let (task, stored) = owned_task(state, workflow, task_id).await?;
    task_of(state, &task, &stored).await
}

/// `CancelTask`: the workflow withdraws its pending request.
pub(super) async fn cancel(
    state: &AppState,
    workflow: &str,
    task_id: &str,
) -> Result<Task, A2AError> {
    let (task, stored) = owned_task(state, workflow, task_id).await?;
    let now = state.clock.now();
    let write = state
        .store
        .withdraw(&stored.request_id, workflow, now.into())
        .await
        .map_err(storage_failed)?;
    match write {
        WithdrawWrite::Withdrawn(event) => {
            state.publish([event]);
            state.wake_workers.notify_waiters();
        }
        // Cancelling a cancelled task is idempotent; any other end is final.
        WithdrawWrite::NotOpen(RequestState::Withdrawn) => {}
        WithdrawWrite::NotOpen(_) => return Err(A2AError::task_not_cancelable(task_id)),
    }
    let stored = state
        .store
        .request(&stored.request_id)
        .await
        .map_err(storage_failed)?
        .ok_or_else(|| A2AError::task_not_found(task_id))?;
    task_of(state, &task, &stored).await
}

/// A page token: where the page ended, opaque to clients.
pub(super) fn page_token(cursor: &TaskCursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}\n{}", cursor.updated_at, cursor.task_id))
}

pub(super) fn cursor_of(token: &str) -> Result<TaskCursor, A2AError> {
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| {
            let (at, id) = text.split_once('\n')?;
            Some(TaskCursor {
                updated_at: Timestamp::parse(at).ok()?,
                task_id: id.to_owned(),
            })
        })
        .ok_or_else(|| A2AError::invalid_params("pageToken is not one this agent gave out"))
}

/// `ListTasks`: the calling workflow's tasks, most recently changed first, a page at a time
/// (A2A §3.1.4: cursor pagination; artifacts only when asked for).
pub(super) async fn list(
    state: &AppState,
    workflow: &str,
    request: a2a::ListTasksRequest,
) -> Result<a2a::ListTasksResponse, A2AError> {
    let size = request.page_size.unwrap_or(50);
    let limit = u32::try_from(size)
        .ok()
        .filter(|n| (1..=100).contains(n))
        .ok_or_else(|| A2AError::invalid_params("pageSize must be between 1 and 100"))?;
    let filter = TaskFilter {
        context_id: request.context_id.filter(|c| !c.is_empty()),
        states: request
            .status
            .filter(|s| *s != TaskState::Unspecified)
            .map(|wanted| {
                ALL_REQUEST_STATES
                    .into_iter()
                    .filter(|r| task_state(*r) == wanted)
                    .collect()
            }),
        updated_since: request.status_timestamp_after.map(Timestamp::from),
    };
    let after = match request.page_token.as_deref().filter(|t| !t.is_empty()) {
        Some(token) => Some(cursor_of(token)?),
        None => None,
    };
    // One more than the page, to know whether another page follows.
    let (mut rows, total) = state
        .store
        .a2a_task_page(workflow, &filter, after.as_ref(), limit + 1)
        .await
        .map_err(storage_failed)?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_page_token = match rows.last() {
        Some(last) if more => page_token(&TaskCursor {
            updated_at: last.updated_at,
            task_id: last.task.task_id.clone(),
        }),
        _ => String::new(),
    };
    let mut tasks = Vec::with_capacity(rows.len());
    for row in &rows {
        if let Some(stored) = state
            .store
            .request(&row.task.request_id)
            .await
            .map_err(storage_failed)?
        {
            let mut task = task_of(state, &row.task, &stored).await?;
            if request.include_artifacts != Some(true) {
                task.artifacts = None;
            }
            tasks.push(task);
        }
    }
    Ok(a2a::ListTasksResponse {
        tasks,
        next_page_token,
        page_size: size,
        total_size: i32::try_from(total).unwrap_or(i32::MAX),
    })
}
