//! The gateway as an A2A 1.0 agent, "human approval": an unmodified A2A client sends a
//! DelegationRequest in a data part and gets back a task that waits in `AUTH_REQUIRED` while a
//! person decides, then ends `COMPLETED` (approved) or `REJECTED` with the signed decision JWS
//! as an artifact. The task *is* the request: it is verified, queued, escalated, decided,
//! audited and exported exactly as one submitted over REST.
//!
//! This is the only module that touches the A2A types (`a2a-lf`, pinned exactly). The card is
//! at `/.well-known/agent-card.json`; JSON-RPC is served at `/` ([`jsonrpc`]) and HTTP+JSON
//! under `/a2a` ([`rest`]), both over the same operations here. Push-notification configs
//! ([`push`]) are delivered from the durable outbox, like webhooks.

mod jsonrpc;
mod push;
mod rest;

pub(crate) use jsonrpc::rpc;
pub(crate) use push::push_notification;
pub(crate) use rest::routes;

use std::convert::Infallible;
use std::time::Duration;

use a2a::{
    A2AError, AgentCapabilities, AgentCard, AgentExtension, AgentInterface, AgentSkill, Artifact,
    HttpAuthSecurityScheme, Message, Part, PartContent, Role, SecurityScheme, SendMessageRequest,
    SendMessageResponse, StreamResponse, Task, TaskState, TaskStatus, TaskStatusUpdateEvent,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use countersign_store::{A2aTask, StoredRequest, TaskCursor, TaskFilter, WithdrawWrite};
use countersign_wire::REQUEST_SCHEMA;
use countersign_wire::api::{ErrorCode, RequestState};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::AppState;
use crate::decisions::outcome;

/// The Countersign extension: what the data part holds and what the artifacts carry.
pub const EXTENSION_URI: &str = "https://countersign.dev/a2a/ext/human-approval/v1";
/// Media types a message part may have.
const INPUT_MODES: [&str; 2] = ["application/json", "text/plain"];
/// The protocol version this agent speaks.
pub const PROTOCOL_VERSION: &str = a2a::VERSION;
/// Where the HTTP+JSON binding is mounted.
pub const REST_PREFIX: &str = "/a2a";

/// The agent card: one skill, JSON-RPC, bearer authentication like every workflow call.
fn agent_card(base_url: &str) -> AgentCard {
    let mut params = std::collections::HashMap::new();
    params.insert("requestSchema".to_owned(), json!(REQUEST_SCHEMA));
    params.insert(
        "decision".to_owned(),
        json!({
            "artifact": "decision",
            "jwsTyp": countersign_wire::DECISION_TYP,
            "jwks": format!("{base_url}.well-known/jwks.json"),
        }),
    );
    let mut schemes = std::collections::HashMap::new();
    schemes.insert(
        "workflowBearer".to_owned(),
        SecurityScheme::HttpAuth(HttpAuthSecurityScheme {
            scheme: "Bearer".into(),
            description: Some(
                "The workflow credential the gateway operator issued (cswf_…)".into(),
            ),
            bearer_format: None,
        }),
    );
    AgentCard {
        name: "Countersign human approval".into(),
        description: "A person reviews an AI agent's delegated, high-impact action, with its \
                      verified delegation chain, and signs the decision."
            .into(),
        version: env!("CARGO_PKG_VERSION").into(),
        supported_interfaces: vec![
            AgentInterface::new(base_url, a2a::TRANSPORT_PROTOCOL_JSONRPC),
            AgentInterface::new(
                format!("{}{REST_PREFIX}", base_url.trim_end_matches('/')),
                a2a::TRANSPORT_PROTOCOL_HTTP_JSON,
            ),
        ],
        capabilities: AgentCapabilities {
            streaming: Some(true),
            push_notifications: Some(true),
            extensions: Some(vec![AgentExtension {
                uri: EXTENSION_URI.into(),
                description: Some(
                    "The message's data part is a Countersign DelegationRequest; the decision \
                     artifact carries the reviewer's signed decision JWS"
                        .into(),
                ),
                required: Some(false),
                params: Some(params),
            }]),
            extended_agent_card: Some(false),
        },
        default_input_modes: INPUT_MODES.iter().map(|m| (*m).to_owned()).collect(),
        default_output_modes: vec!["application/json".into()],
        skills: vec![AgentSkill {
            id: "human-approval".into(),
            name: "Human approval of a delegated action".into(),
            description: "Send a DelegationRequest; the task waits in AUTH_REQUIRED for a \
                          reviewer, then completes with the signed approval or is rejected."
                .into(),
            tags: vec![
                "approval".into(),
                "human-in-the-loop".into(),
                "delegation".into(),
            ],
            examples: None,
            input_modes: Some(vec!["application/json".into()]),
            output_modes: Some(vec!["application/json".into()]),
            security_requirements: None,
        }],
        provider: None,
        documentation_url: None,
        icon_url: None,
        security_schemes: Some(schemes),
        security_requirements: Some(vec![std::collections::HashMap::from([(
            "workflowBearer".to_owned(),
            Vec::new(),
        )])]),
        signatures: None,
    }
}

fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}/")
}

/// `GET /.well-known/agent-card.json` (public), cacheable.
pub(crate) async fn card(headers: HeaderMap) -> Response {
    let card = agent_card(&base_url(&headers));
    let body = serde_json::to_vec(&card).unwrap_or_default();
    let etag = format!(
        "\"{}\"",
        countersign_chain::digest::sha256_digest(&body)
            .trim_start_matches("sha256:")
            .get(..32)
            .unwrap_or_default()
    );
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, etag);
    }
    response
}

/// Checks the `A2A-Version` the client speaks (the header, else the `A2A-Version` query
/// parameter, else 0.3 as the spec says). Major.Minor is what counts: 1.0.1 is 1.0.
fn check_version(headers: &HeaderMap, query: Option<&str>) -> Result<(), A2AError> {
    let from_query = query.and_then(|q| {
        q.split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(name, _)| name.eq_ignore_ascii_case(a2a::SVC_PARAM_VERSION))
            .map(|(_, value)| value.to_owned())
    });
    let spoken = headers
        .get(a2a::SVC_PARAM_VERSION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(from_query)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "0.3".to_owned());
    let major_minor: Vec<&str> = spoken.split('.').take(2).collect();
    if major_minor.join(".") == PROTOCOL_VERSION {
        Ok(())
    } else {
        Err(A2AError::version_not_supported(&spoken))
    }
}

/// Whether a request body is declared JSON (`application/json`, or 1.0.1's
/// `application/a2a+json`).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "application/json" || v == "application/a2a+json")
}

fn to_value<T: serde::Serialize>(value: &T) -> Result<Value, A2AError> {
    serde_json::to_value(value).map_err(|e| A2AError::internal(e.to_string()))
}

fn storage_failed<E>(_: E) -> A2AError {
    A2AError::internal("storage failed")
}

/// The task a request is, at this moment.
async fn task_of(
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
        "expiresAt": stored.expires_at_text,
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

/// When the task entered its present state: a waiting task since its request was received,
/// an ended one since that end. Stable, so a push retried later carries the same body.
async fn state_since(state: &AppState, stored: &StoredRequest) -> Result<DateTime<Utc>, A2AError> {
    let text = match stored.state {
        RequestState::Pending | RequestState::Escalated => None,
        ended => state
            .store
            .entered_state_at(&stored.request_id, ended)
            .await
            .map_err(storage_failed)?,
    }
    .unwrap_or_else(|| stored.received_at.clone());
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.to_utc())
        .map_err(|_| A2AError::internal("a stored time does not parse"))
}

/// A task and its request, if `workflow` owns it.
async fn owned_task(
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

/// `SendMessage`: the data part's DelegationRequest becomes a request and its task.
async fn send(
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
    // A message naming a task continues it; this agent's tasks take no follow-ups yet, and an
    // unknown task is an error before anything else.
    if let Some(task_id) = &request.message.task_id {
        let (task, _) = owned_task(state, workflow, task_id).await?;
        return Err(A2AError::unsupported_operation(format!(
            "task {} takes no further messages: a reviewer decides it",
            task.task_id
        )));
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
    let at = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
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
            &at,
        )
        .await
        .map_err(storage_failed)?;
    if task.workflow != workflow {
        return Err(A2AError::invalid_params(
            "that request belongs to another workflow",
        ));
    }
    if let Some(config) = inline_push {
        config.store(state, &task.task_id).await?;
    }
    Ok(SendMessageResponse::Task(
        task_of(state, &task, &stored).await?,
    ))
}

fn is_final(task: &Task) -> bool {
    matches!(
        task.status.state,
        TaskState::Completed | TaskState::Rejected | TaskState::Failed | TaskState::Canceled
    )
}

/// SSE of the task's stream: the task first, then its status (and artifacts) as they change,
/// closing at a terminal state. The stream stays open through `AUTH_REQUIRED`: the decision
/// arrives out of band (A2A §7.6.1). `frame` wraps each payload for the binding.
fn stream(
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
fn stream_once(payload: StreamResponse, frame: impl Fn(StreamResponse) -> Event) -> Response {
    Sse::new(tokio_stream::once(Ok::<_, Infallible>(frame(payload)))).into_response()
}

/// `SendStreamingMessage`: the task's stream, or the one message when no task was made.
async fn send_streaming(
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
async fn subscribe(
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

/// `GetTask`.
async fn get(state: &AppState, workflow: &str, task_id: &str) -> Result<Task, A2AError> {
    let (task, stored) = owned_task(state, workflow, task_id).await?;
    task_of(state, &task, &stored).await
}

/// `CancelTask`: the workflow withdraws its pending request.
async fn cancel(state: &AppState, workflow: &str, task_id: &str) -> Result<Task, A2AError> {
    let (task, stored) = owned_task(state, workflow, task_id).await?;
    let now = state.clock.now();
    let write = state
        .store
        .withdraw(
            &stored.request_id,
            workflow,
            now.timestamp(),
            &now.to_rfc3339_opts(SecondsFormat::Millis, true),
        )
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

/// The task state a request's state is.
fn task_state(state: RequestState) -> TaskState {
    match state {
        RequestState::Pending | RequestState::Escalated => TaskState::AuthRequired,
        RequestState::Approved => TaskState::Completed,
        RequestState::Rejected | RequestState::Refused => TaskState::Rejected,
        RequestState::Expired => TaskState::Failed,
        RequestState::Withdrawn => TaskState::Canceled,
    }
}

const ALL_REQUEST_STATES: [RequestState; 7] = [
    RequestState::Pending,
    RequestState::Escalated,
    RequestState::Approved,
    RequestState::Rejected,
    RequestState::Refused,
    RequestState::Expired,
    RequestState::Withdrawn,
];

/// A page token: where the page ended, opaque to clients.
fn page_token(cursor: &TaskCursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}\n{}", cursor.updated_at, cursor.task_id))
}

fn cursor_of(token: &str) -> Result<TaskCursor, A2AError> {
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| {
            text.split_once('\n').map(|(at, id)| TaskCursor {
                updated_at: at.to_owned(),
                task_id: id.to_owned(),
            })
        })
        .ok_or_else(|| A2AError::invalid_params("pageToken is not one this agent gave out"))
}

/// `ListTasks`: the calling workflow's tasks, most recently changed first, a page at a time
/// (A2A §3.1.4: cursor pagination; artifacts only when asked for).
async fn list(
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
        updated_since: request
            .status_timestamp_after
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
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
            updated_at: last.updated_at.clone(),
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
