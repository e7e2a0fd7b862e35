//! The gateway as an A2A 1.0 agent, "human approval": an unmodified A2A client sends a
//! DelegationRequest in a data part and gets back a task that waits in `AUTH_REQUIRED` while a
//! person decides, then ends `COMPLETED` (approved) or `REJECTED` with the signed decision JWS
//! as an artifact. The task *is* the request: it is verified, queued, escalated, decided,
//! audited and exported exactly as one submitted over REST.
//!
//! This is the only module that touches the A2A types (`a2a-lf`, pinned exactly). JSON-RPC is
//! served at `/`; the card at `/.well-known/agent-card.json`.

use std::convert::Infallible;
use std::time::Duration;

use a2a::{
    A2AError, AgentCapabilities, AgentCard, AgentExtension, AgentInterface, AgentSkill, Artifact,
    HttpAuthSecurityScheme, JsonRpcId, JsonRpcRequest, JsonRpcResponse, Message, Part, PartContent,
    Role, SecurityScheme, SendMessageRequest, SendMessageResponse, StreamResponse, Task, TaskState,
    TaskStatus, TaskStatusUpdateEvent,
};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::{SecondsFormat, Utc};
use countersign_store::{A2aTask, StoredRequest, WithdrawWrite};
use countersign_wire::REQUEST_SCHEMA;
use countersign_wire::api::{ErrorCode, RequestState};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::AppState;
use crate::auth::Workflow;
use crate::decisions::outcome;

/// The Countersign extension: what the data part holds and what the artifacts carry.
pub const EXTENSION_URI: &str = "https://countersign.dev/a2a/ext/human-approval/v1";
/// Media types a message part may have.
const INPUT_MODES: [&str; 2] = ["application/json", "text/plain"];
/// The protocol version this agent speaks.
pub const PROTOCOL_VERSION: &str = a2a::VERSION;

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
        supported_interfaces: vec![AgentInterface::new(
            base_url,
            a2a::TRANSPORT_PROTOCOL_JSONRPC,
        )],
        capabilities: AgentCapabilities {
            streaming: Some(true),
            push_notifications: Some(false),
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

/// The version the client speaks: the header (or, per the spec, nothing meaning 0.3).
fn version(headers: &HeaderMap) -> String {
    headers
        .get(a2a::SVC_PARAM_VERSION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .unwrap_or("0.3")
        .to_owned()
}

fn rpc_error(id: JsonRpcId, error: A2AError) -> Response {
    Json(JsonRpcResponse::error(id, error.to_jsonrpc_error())).into_response()
}

fn params<T: DeserializeOwned>(request: &JsonRpcRequest) -> Result<T, A2AError> {
    serde_json::from_value(request.params.clone().unwrap_or(Value::Null))
        .map_err(|e| A2AError::invalid_params(format!("params: {e}")))
}

/// The task a request is, at this moment.
async fn task_of(
    state: &AppState,
    task: &A2aTask,
    stored: &StoredRequest,
) -> Result<Task, A2AError> {
    let at = Some(Utc::now());
    let outcome = outcome(state, stored)
        .await
        .map_err(|_| A2AError::internal("cannot read the decision"))?;
    let agent_says = |text: String, data: Value| {
        let mut message = Message::new(Role::Agent, vec![Part::text(text), Part::data(data)]);
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
    let (state_now, message, artifacts) = match stored.state {
        RequestState::Pending | RequestState::Escalated => (
            TaskState::AuthRequired,
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
            let done = if stored.state == RequestState::Approved {
                TaskState::Completed
            } else {
                TaskState::Rejected
            };
            (done, None, Some(vec![artifact]))
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
                TaskState::Rejected,
                Some(agent_says(
                    "The delegation chain was refused at intake.".into(),
                    summary,
                )),
                Some(vec![report]),
            )
        }
        RequestState::Expired => (
            TaskState::Failed,
            Some(agent_says(
                "Nobody decided in time; the request expired.".into(),
                summary,
            )),
            None,
        ),
        RequestState::Withdrawn => (TaskState::Canceled, None, None),
    };
    Ok(Task {
        id: task.task_id.clone(),
        context_id: task.context_id.clone(),
        status: TaskStatus {
            state: state_now,
            message,
            timestamp: at,
        },
        artifacts,
        history: None,
        metadata: None,
    })
}

/// A task and its request, if `workflow` owns it.
async fn owned_task(
    state: &AppState,
    workflow: &str,
    id: &str,
) -> Result<(A2aTask, StoredRequest), A2AError> {
    let internal = |_| A2AError::internal("storage failed");
    let task = state
        .store
        .a2a_task(id)
        .await
        .map_err(internal)?
        .filter(|t| t.workflow == workflow)
        .ok_or_else(|| A2AError::task_not_found(id))?;
    let stored = state
        .store
        .request(&task.request_id)
        .await
        .map_err(internal)?
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
        .map_err(|_| A2AError::internal("storage failed"))?;
    if task.workflow != workflow {
        return Err(A2AError::invalid_params(
            "that request belongs to another workflow",
        ));
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

/// SSE of JSON-RPC responses: the task first, then its status (and artifacts) as they change,
/// closing at a terminal state. The stream stays open through `AUTH_REQUIRED`: the decision
/// arrives out of band (A2A §7.6.1).
fn stream(state: AppState, id: JsonRpcId, task: A2aTask, first: Task) -> Response {
    let (tx, rx) = mpsc::channel::<Result<Event, Infallible>>(16);
    let mut events = state.events.subscribe();
    let mut stopping = state.stopping.clone();
    let frame = move |payload: StreamResponse| {
        let body = JsonRpcResponse::success(
            id.clone(),
            serde_json::to_value(payload).unwrap_or(Value::Null),
        );
        Event::default()
            .json_data(body)
            .unwrap_or_else(|_| Event::default())
    };
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

/// `POST /`: A2A JSON-RPC, for workflows.
pub(crate) async fn rpc(
    State(state): State<AppState>,
    Workflow(workflow): Workflow,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "application/json" || v == "application/a2a+json");
    if !json {
        return rpc_error(JsonRpcId::Null, A2AError::content_type_not_supported());
    }
    let request: JsonRpcRequest = match serde_json::from_slice::<Value>(&body) {
        Err(e) => return rpc_error(JsonRpcId::Null, A2AError::parse_error(e.to_string())),
        Ok(value) => match serde_json::from_value(value) {
            Ok(request) => request,
            Err(e) => return rpc_error(JsonRpcId::Null, A2AError::invalid_request(e.to_string())),
        },
    };
    let id = request.id.clone();
    if request.jsonrpc != "2.0" {
        return rpc_error(id, A2AError::invalid_request("jsonrpc must be \"2.0\""));
    }
    let spoken = version(&headers);
    // Major.Minor is what counts; a patch number (1.0.1) is the same protocol.
    let major_minor: Vec<&str> = spoken.split('.').take(2).collect();
    if major_minor.join(".") != PROTOCOL_VERSION {
        return rpc_error(id, A2AError::version_not_supported(&spoken));
    }
    let result: Result<Value, A2AError> = match request.method.as_str() {
        a2a::methods::SEND_MESSAGE => match params::<SendMessageRequest>(&request) {
            Ok(send_request) => send(&state, &workflow, send_request)
                .await
                .and_then(|response| {
                    serde_json::to_value(response).map_err(|e| A2AError::internal(e.to_string()))
                }),
            Err(e) => Err(e),
        },
        a2a::methods::SEND_STREAMING_MESSAGE => {
            let outcome = match params::<SendMessageRequest>(&request) {
                Ok(send_request) => send(&state, &workflow, send_request).await,
                Err(e) => Err(e),
            };
            return match outcome {
                Ok(SendMessageResponse::Task(first)) => match state.store.a2a_task(&first.id).await
                {
                    Ok(Some(task)) => stream(state, id, task, first),
                    _ => rpc_error(id, A2AError::internal("storage failed")),
                },
                // A message-only stream: the message, then the end.
                Ok(SendMessageResponse::Message(message)) => {
                    let body = JsonRpcResponse::success(
                        id,
                        serde_json::to_value(StreamResponse::Message(message))
                            .unwrap_or(Value::Null),
                    );
                    let event = Event::default().json_data(body).unwrap_or_default();
                    Sse::new(tokio_stream::once(Ok::<_, Infallible>(event))).into_response()
                }
                Err(e) => rpc_error(id, e),
            };
        }
        a2a::methods::SUBSCRIBE_TO_TASK => {
            let outcome = match params::<a2a::SubscribeToTaskRequest>(&request) {
                Ok(p) => owned_task(&state, &workflow, &p.id).await,
                Err(e) => Err(e),
            };
            let (task, stored) = match outcome {
                Ok(found) => found,
                Err(e) => return rpc_error(id, e),
            };
            return match task_of(&state, &task, &stored).await {
                Ok(first) if is_final(&first) => rpc_error(
                    id,
                    A2AError::unsupported_operation("the task is already in a terminal state"),
                ),
                Ok(first) => stream(state, id, task, first),
                Err(e) => rpc_error(id, e),
            };
        }
        a2a::methods::GET_TASK => match params::<a2a::GetTaskRequest>(&request) {
            Ok(p) => match owned_task(&state, &workflow, &p.id).await {
                Ok((task, stored)) => task_of(&state, &task, &stored).await.and_then(|t| {
                    serde_json::to_value(t).map_err(|e| A2AError::internal(e.to_string()))
                }),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        },
        a2a::methods::CANCEL_TASK => match params::<a2a::CancelTaskRequest>(&request) {
            Ok(p) => cancel(&state, &workflow, &p.id).await,
            Err(e) => Err(e),
        },
        a2a::methods::LIST_TASKS => match params::<a2a::ListTasksRequest>(&request) {
            Ok(p) => list(&state, &workflow, p).await,
            Err(e) => Err(e),
        },
        a2a::methods::CREATE_PUSH_CONFIG
        | a2a::methods::GET_PUSH_CONFIG
        | a2a::methods::LIST_PUSH_CONFIGS
        | a2a::methods::DELETE_PUSH_CONFIG => Err(A2AError::push_notification_not_supported()),
        a2a::methods::GET_EXTENDED_AGENT_CARD => Err(A2AError::unsupported_operation(
            "this agent has no extended card",
        )),
        other => Err(A2AError::method_not_found(other)),
    };
    match result {
        Ok(value) => Json(JsonRpcResponse::success(id, value)).into_response(),
        Err(e) => rpc_error(id, e),
    }
}

/// `CancelTask`: the workflow withdraws its pending request.
async fn cancel(state: &AppState, workflow: &str, task_id: &str) -> Result<Value, A2AError> {
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
        .map_err(|_| A2AError::internal("storage failed"))?;
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
        .map_err(|_| A2AError::internal("storage failed"))?
        .ok_or_else(|| A2AError::task_not_found(task_id))?;
    let task = task_of(state, &task, &stored).await?;
    serde_json::to_value(task).map_err(|e| A2AError::internal(e.to_string()))
}

/// `ListTasks`: the calling workflow's tasks, newest first (one page of up to 100).
async fn list(
    state: &AppState,
    workflow: &str,
    request: a2a::ListTasksRequest,
) -> Result<Value, A2AError> {
    let size = request.page_size.unwrap_or(50);
    if !(1..=100).contains(&size) {
        return Err(A2AError::invalid_params(
            "pageSize must be between 1 and 100",
        ));
    }
    let rows = state
        .store
        .a2a_tasks(
            workflow,
            request.context_id.as_deref(),
            u32::try_from(size).unwrap_or(50),
        )
        .await
        .map_err(|_| A2AError::internal("storage failed"))?;
    let mut tasks = Vec::with_capacity(rows.len());
    for row in &rows {
        if let Ok(Some(stored)) = state.store.request(&row.request_id).await {
            let task = task_of(state, row, &stored).await?;
            if request
                .status
                .as_ref()
                .is_none_or(|s| *s == task.status.state)
            {
                tasks.push(task);
            }
        }
    }
    let count = i32::try_from(tasks.len()).unwrap_or(i32::MAX);
    serde_json::to_value(a2a::ListTasksResponse {
        tasks,
        next_page_token: String::new(),
        page_size: size,
        total_size: count,
    })
    .map_err(|e| A2AError::internal(e.to_string()))
}
