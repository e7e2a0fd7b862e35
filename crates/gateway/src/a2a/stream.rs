//! Streaming: `SendStreamingMessage` and `SubscribeToTask` as SSE, ending with the task.

use std::convert::Infallible;
use std::time::Duration;

use a2a::{
    A2AError, SendMessageRequest, SendMessageResponse, StreamResponse, Task, TaskStatusUpdateEvent,
};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use countersign_store::A2aTask;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::AppState;

use super::{is_final, owned_task, send, storage_failed, task_of};

/// SSE of the task's stream: the task first, then its status (and artifacts) as they change,
/// closing at a terminal state. The stream stays open through `AUTH_REQUIRED`: the decision
/// arrives out of band (A2A §7.6.1). `frame` wraps each payload for the binding.
pub(super) fn stream(
    state: AppState,
    task: A2aTask,
    first: Task,
    frame: impl Fn(StreamResponse) -> Event + Send + 'static,
) -> Response {
    let (tx, rx) = mpsc::channel::<Result<Event, Infallible>>(16);
    let mut events = state.events.subscribe();
    let mut stopping = state.stopping.clone();
    tokio::spawn(async move {
        let done = is_final(&first);
        let mut last = first.status.state.clone();
        if tx
            .send(Ok(frame(StreamResponse::Task(first))))
            .await
            .is_err()
            || done
        {
            return;
        }
        // The first pass looks again at once: the subscription was taken after the first
        // read, so a decision in between would otherwise never be streamed.
        let mut recheck = true;
        loop {
            if !recheck {
                let received = tokio::select! {
                    received = events.recv() => received,
                    _ = stopping.wait_for(|s| *s) => return,
                };
                match received {
                    Ok(event) if event.request_id != task.request_id => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    _ => {}
                }
            }
            recheck = false;
            let Ok(Some(stored)) = state.store.request(&task.request_id).await else {
                return;
            };
            let Ok(now) = task_of(&state, &task, &stored).await else {
                return;
            };
            if now.status.state == last {
                continue;
            }
            last = now.status.state.clone();
            let finished = is_final(&now);
            for artifact in now.artifacts.clone().unwrap_or_default() {
                let update = a2a::TaskArtifactUpdateEvent {
                    task_id: now.id.clone(),
                    context_id: now.context_id.clone(),
                    artifact,
                    append: None,
                    last_chunk: Some(true),
                    metadata: None,
                };
                if tx
                    .send(Ok(frame(StreamResponse::ArtifactUpdate(update))))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            let update = TaskStatusUpdateEvent {
                task_id: now.id.clone(),
                context_id: now.context_id.clone(),
                status: now.status,
                metadata: None,
            };
            if tx
                .send(Ok(frame(StreamResponse::StatusUpdate(update))))
                .await
                .is_err()
                || finished
            {
                return;
            }
        }
    });
    Sse::new(ReceiverStream::new(rx))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// A message-only answer as a stream: the message, then the end.
pub(super) fn stream_once(
    payload: StreamResponse,
    frame: impl Fn(StreamResponse) -> Event,
) -> Response {
    Sse::new(tokio_stream::once(Ok::<_, Infallible>(frame(payload)))).into_response()
}

/// `SendStreamingMessage`: the task's stream, or the one message when no task was made.
pub(super) async fn send_streaming(
    state: AppState,
    workflow: &str,
    request: SendMessageRequest,
    frame: impl Fn(StreamResponse) -> Event + Send + 'static,
) -> Result<Response, A2AError> {
    match send(&state, workflow, request).await? {
        SendMessageResponse::Task(first) => {
            let task = state
                .store
                .a2a_task(&first.id)
                .await
                .map_err(storage_failed)?
                .ok_or_else(|| A2AError::internal("the task vanished"))?;
            Ok(stream(state, task, first, frame))
        }
        SendMessageResponse::Message(message) => {
            Ok(stream_once(StreamResponse::Message(message), frame))
        }
    }
}

/// `SubscribeToTask`: the stream of a task that has not ended.
pub(super) async fn subscribe(
    state: AppState,
    workflow: &str,
    task_id: &str,
    frame: impl Fn(StreamResponse) -> Event + Send + 'static,
) -> Result<Response, A2AError> {
    let (task, stored) = owned_task(&state, workflow, task_id).await?;
    let first = task_of(&state, &task, &stored).await?;
    if is_final(&first) {
        return Err(A2AError::unsupported_operation(
            "the task is already in a terminal state",
        ));
    }
    Ok(stream(state, task, first, frame))
}
