//! The MCP server's tools, tasks and resources, over stored requests.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use countersign_store::{McpTask, StoredRequest, WithdrawWrite};
use countersign_wire::api::{ApprovalResult, ErrorCode, RequestState};
use countersign_wire::console::{link_to_request, request_link};
use countersign_wire::{DelegationRequest, REQUEST_SCHEMA};
use rand_core::{OsRng, RngCore as _};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams, ContentBlock,
    CreateTaskResult, DetailedTask, ElicitRequest, ElicitRequestParams, GetTaskParams,
    GetTaskResult, Implementation, InitializeRequestParams, InitializeResult, InputRequest,
    InputRequests, InputRequiredResult, JsonObject, ListResourceTemplatesResult, ListToolsResult,
    PaginatedRequestParams, ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, ResourceContents, ResourceTemplate, ServerCapabilities, ServerConfig,
    TASKS_EXTENSION_ID, Task, TaskPayload, TaskStatus, Tool, ToolAnnotations,
};
use rmcp::model::{
    ResourceUpdatedNotification, ResourceUpdatedNotificationParam, ServerNotification,
    SubscriptionFilter,
};
use rmcp::service::{RequestContext, SubscriptionContext};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{Value, json};

use super::request_state::{LIFETIME, RoundState};
use crate::AppState;
use crate::auth::Workflow;
use crate::decisions::{outcome, owned, settled, since};
use crate::error::Failure;

const REQUEST_APPROVAL: &str = "request_approval";
const GET_DECISION: &str = "get_decision";
/// The resource of a request: the same link that opens it in a console.
const REQUEST_TEMPLATE: &str = "countersign://request/{request_id}";
/// How long one `input_required` round waits for a decision before answering again, so a
/// client without Tasks is not made to poll fast. Well under clients' read timeouts.
const ROUND_WAIT: Duration = Duration::from_secs(20);
/// What a task suggests between two `tasks/get`.
const POLL_INTERVAL_MS: u64 = 2_000;
/// The key of the one input request of the first round.
const REVIEW_INPUT: &str = "review";
/// A task that ended badly carries a JSON-RPC error; this one says the request ended without
/// a decision (expired, or refused at intake), in the implementation-defined range.
const ENDED_UNDECIDED: i32 = -32001;

/// The MCP server, one per HTTP request (the transport is stateless), over shared state.
pub(crate) struct Approvals {
    state: AppState,
}

impl Approvals {
    pub(crate) fn new(state: AppState) -> Self {
        Approvals { state }
    }
}

/// The workflow the transport layer authenticated; a call that reached here without one is
/// refused (fail closed), never served as nobody.
fn caller(context: &RequestContext<RoleServer>) -> Result<String, McpError> {
    context
        .extensions
        .get::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Workflow>())
        .map(|workflow| workflow.0.clone())
        .ok_or_else(|| McpError::internal_error("the call carries no authenticated workflow", None))
}

/// A storage failure: logged with its cause, answered only as "storage failed".
fn storage_failed<E: std::fmt::Display>(cause: E) -> McpError {
    tracing::error!(error = %cause, "MCP storage failure");
    McpError::internal_error("storage failed", None)
}

/// A failure the caller (often a model) should read and can act on: a tool error with the
/// REST API's code and message (and the verification report of a refused chain), as text.
fn tool_error(failure: &Failure) -> CallToolResult {
    let body = serde_json::to_string(failure.body()).unwrap_or_default();
    CallToolResult::error(vec![ContentBlock::text(format!(
        "{}: {}\n{body}",
        failure.code().as_str(),
        failure.message()
    ))])
}

/// A failure from the shared REST code, as MCP says it: internal ones as a protocol error
/// (their cause is logged, never told), the rest as a tool error.
fn refused(failure: Failure) -> Result<CallToolResponse, McpError> {
    if failure.code() == ErrorCode::Internal {
        return Err(McpError::internal_error("storage failed", None));
    }
    Ok(tool_error(&failure).into())
}

/// A JSON object's members (anything else has none).
fn members(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

fn object(value: Value) -> Arc<JsonObject> {
    Arc::new(members(value))
}

/// A type's JSON Schema from the contract, as a tool's input or output schema: the type's own
/// definition at the top, every type it refers to under `$defs`.
fn contract_type(contract: &Value, name: &str) -> Arc<JsonObject> {
    let defs = contract.get("$defs").cloned().unwrap_or_default();
    let mut schema = defs
        .get(name)
        .cloned()
        .unwrap_or_else(|| json!({ "type": "object" }));
    if let Value::Object(map) = &mut schema {
        map.insert("$defs".into(), defs);
    }
    object(schema)
}

/// The tools, built once: their schemas are generated from the contract's types, which is
/// not work to repeat on every `tools/list` and every call (the transport looks the called
/// tool up).
fn tools() -> &'static [Tool] {
    static TOOLS: std::sync::LazyLock<Vec<Tool>> = std::sync::LazyLock::new(build_tools);
    &TOOLS
}

fn build_tools() -> Vec<Tool> {
    let contract = countersign_wire::schema::contract_schema();
    let mut request_approval = Tool::new(
        REQUEST_APPROVAL,
        format!(
            "Ask a human reviewer to countersign a high-impact action. The arguments are a \
             Countersign DelegationRequest ({REQUEST_SCHEMA}): the action, and the signed \
             delegation chain that led to it. The gateway verifies the chain; a person reviews \
             it and signs approve or reject. With the Tasks extension the call returns a task \
             at once; otherwise it returns the request's state (poll get_decision) or asks \
             the client to open the request for a reviewer. Act only on state \"approved\", \
             after verifying decision_jws against the gateway's JWKS."
        ),
        contract_type(&contract, "DelegationRequest"),
    );
    request_approval.title = Some("Request a human countersignature".into());
    request_approval.output_schema = Some(contract_type(&contract, "ApprovalResult"));
    // The same request sent twice is the same request: idempotent, and it changes nothing
    // outside the gateway by itself.
    request_approval.annotations = Some(
        ToolAnnotations::new()
            .read_only(false)
            .destructive(false)
            .idempotent(true)
            .open_world(false),
    );
    let mut get_decision = Tool::new(
        GET_DECISION,
        "The state of a request asked for with request_approval and, once a reviewer has \
         decided, the signed decision.",
        object(json!({
            "type": "object",
            "properties": { "request_id": { "type": "string", "description": "The request's id" } },
            "required": ["request_id"],
            "additionalProperties": false,
        })),
    );
    get_decision.title = Some("Get a request's decision".into());
    get_decision.output_schema = Some(contract_type(&contract, "ApprovalResult"));
    get_decision.annotations = Some(ToolAnnotations::new().read_only(true).open_world(false));
    vec![request_approval, get_decision]
}

/// An unguessable task id: 128 random bits.
fn new_task_id() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    format!("mcp-{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn is_modern(context: &RequestContext<RoleServer>) -> bool {
    context
        .protocol_version()
        .is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str())
}

impl Approvals {
    /// What a request stands at, as the agent is told it.
    async fn approval(&self, stored: &StoredRequest) -> Result<ApprovalResult, McpError> {
        let outcome = outcome(&self.state, stored)
            .await
            .map_err(|_| McpError::internal_error("cannot read the decision", None))?;
        let arguments_digest = serde_json::from_str::<DelegationRequest>(&stored.body)
            .map(|request| request.action.arguments_digest)
            .unwrap_or_default();
        Ok(ApprovalResult {
            request_id: stored.request_id.clone(),
            state: stored.state,
            request_digest: stored.request_digest.clone(),
            arguments_digest,
            expires_at: stored.expires_at.to_string(),
            decision_jws: outcome.decision_jws,
            approvals: outcome.approvals,
            review_link: link_to_request(&stored.request_id),
        })
    }

    /// The tool result of a request: its state as structured content and, first, a sentence
    /// saying what it means. Anything but approved or still waiting is an error result: the
    /// action must not go ahead.
    async fn result(&self, stored: &StoredRequest) -> Result<CallToolResult, McpError> {
        let approval = self.approval(stored).await?;
        let value = serde_json::to_value(&approval)
            .map_err(|e| McpError::internal_error(e.to_string(), None))?;
        let id = &approval.request_id;
        let said = match approval.state {
            RequestState::Pending | RequestState::Escalated => format!(
                "Request {id} waits for a human reviewer ({}). Call {GET_DECISION} with this \
                 request_id later; do not act until it is approved.",
                approval.state.as_str()
            ),
            RequestState::Approved => format!(
                "Request {id} was approved by a human reviewer; decision_jws is the signed \
                 approval. Verify it against the gateway's JWKS before acting."
            ),
            RequestState::Rejected => {
                format!("Request {id} was rejected by a human reviewer. Do not go ahead.")
            }
            RequestState::Expired => {
                format!("Request {id} expired: nobody decided in time. Do not go ahead.")
            }
            RequestState::Withdrawn => format!("Request {id} was withdrawn."),
            RequestState::Refused => {
                format!("Request {id} was refused: its delegation chain did not verify.")
            }
        };
        let mut result = CallToolResult::structured(value);
        result.content.insert(0, ContentBlock::text(said));
        result.is_error = Some(!matches!(
            approval.state,
            RequestState::Approved | RequestState::Pending | RequestState::Escalated
        ));
        Ok(result)
    }

    /// A task as `tasks/get` reports it: working while a person decides, completed with the
    /// tool result once decided (approved or rejected), failed when it ended undecided.
    async fn detailed(
        &self,
        task: &McpTask,
        stored: &StoredRequest,
    ) -> Result<DetailedTask, McpError> {
        // A waiting task's row is written just after its request: never updated before made.
        let updated = since(&self.state, stored)
            .await
            .map_err(storage_failed)?
            .max(task.created_at);
        let base = Task::new(
            task.task_id.clone(),
            TaskStatus::Working,
            task.created_at.to_string(),
            updated.to_string(),
        )
        .with_poll_interval_ms(POLL_INTERVAL_MS);
        let payload = match stored.state {
            RequestState::Pending | RequestState::Escalated => {
                return Ok(DetailedTask::new(
                    base.with_status_message("Waiting for a human reviewer's signed decision"),
                    TaskPayload::Working,
                ));
            }
            RequestState::Approved | RequestState::Rejected => {
                let result = serde_json::to_value(self.result(stored).await?)
                    .map_err(|e| McpError::internal_error(e.to_string(), None))?;
                TaskPayload::Completed {
                    result: members(result),
                }
            }
            RequestState::Expired | RequestState::Refused => {
                let approval =
                    serde_json::to_value(self.approval(stored).await?).unwrap_or_default();
                let message = if stored.state == RequestState::Expired {
                    "the request expired: nobody decided in time"
                } else {
                    "the delegation chain was refused"
                };
                let error =
                    json!({ "code": ENDED_UNDECIDED, "message": message, "data": approval });
                TaskPayload::Failed {
                    error: members(error),
                }
            }
            RequestState::Withdrawn => TaskPayload::Cancelled,
        };
        Ok(DetailedTask::new(base, payload))
    }

    /// A task and its request, if `workflow` owns it; anyone else's is not found.
    async fn owned_task(
        &self,
        workflow: &str,
        task_id: &str,
    ) -> Result<(McpTask, StoredRequest), McpError> {
        let not_found = || McpError::invalid_params(format!("no task {task_id}"), None);
        let task = self
            .state
            .store
            .mcp_task(task_id)
            .await
            .map_err(storage_failed)?
            .filter(|t| t.workflow == workflow)
            .ok_or_else(not_found)?;
        let stored = self
            .state
            .store
            .request(&task.request_id)
            .await
            .map_err(storage_failed)?
            .ok_or_else(not_found)?;
        Ok((task, stored))
    }

    fn seal(&self, workflow: &str, stored: &StoredRequest) -> Result<String, McpError> {
        let round = RoundState {
            workflow: workflow.to_owned(),
            request_id: stored.request_id.clone(),
            request_digest: stored.request_digest.clone(),
            expires_at: self.state.clock.now() + LIFETIME,
        };
        self.state
            .request_states
            .seal(&round)
            .map(|(token, _)| token)
            .ok_or_else(|| McpError::internal_error("cannot seal the requestState", None))
    }

    async fn request_approval(
        &self,
        workflow: String,
        params: CallToolRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let Some(arguments) = params.arguments else {
            return refused(Failure::new(
                ErrorCode::InvalidBody,
                format!("the arguments are the DelegationRequest ({REQUEST_SCHEMA}); none given"),
            ));
        };
        // A state is checked before anything is stored: a forged, expired or foreign one must
        // not leave a request behind.
        let round = params
            .request_state
            .as_deref()
            .map(|token| self.open_round(token, &workflow, &arguments))
            .transpose()?;
        let bytes = serde_json::to_vec(&arguments)
            .map_err(|e| McpError::internal_error(e.to_string(), None))?;
        let stored = match crate::intake::receive(&self.state, workflow.clone(), &bytes).await {
            Ok(stored) => stored,
            Err(failure) => return refused(failure),
        };
        if stored.state == RequestState::Refused {
            return refused(
                Failure::new(
                    ErrorCode::ChainRefused,
                    "the delegation chain is forged or malformed; the report says why",
                )
                .with_report(stored.report.clone()),
            );
        }
        let capabilities = context.client_capabilities();
        // Tasks: stored already, so the task can be handed out now.
        if capabilities.as_ref().is_some_and(|c| c.supports_tasks()) {
            let task = self
                .state
                .store
                .mcp_task_for(
                    &stored.request_id,
                    &new_task_id(),
                    &workflow,
                    self.state.clock.timestamp(),
                )
                .await
                .map_err(storage_failed)?;
            let detailed = self.detailed(&task, &stored).await?;
            return Ok(CallToolResponse::Task(CreateTaskResult::new(detailed.task)));
        }
        let url_elicitation = capabilities
            .as_ref()
            .and_then(|c| c.elicitation.as_ref())
            .is_some_and(|e| e.url.is_some());
        if is_modern(context) && url_elicitation {
            return self.next_round(&workflow, stored, round).await;
        }
        // Anything else: the state now; the caller polls get_decision or the resource.
        Ok(self.result(&stored).await?.into())
    }

    /// One round of the multi-round-trip call: the first asks the client to open the request
    /// for a reviewer; each later one spends the state it came back with, waits a while for a
    /// decision and answers with it, or with a fresh state to come back with.
    /// A `requestState` the client came back with: genuine, current, this workflow's, and
    /// for the request in `arguments`. Returns it with its nonce.
    fn open_round(
        &self,
        token: &str,
        workflow: &str,
        arguments: &JsonObject,
    ) -> Result<(RoundState, String), McpError> {
        let (round, nonce) = self
            .state
            .request_states
            .open(token, self.state.clock.now())
            .map_err(|e| McpError::invalid_params(e.to_string(), None))?;
        let request_id = arguments.get("request_id").and_then(Value::as_str);
        if round.workflow != workflow || request_id != Some(round.request_id.as_str()) {
            return Err(McpError::invalid_params(
                "requestState belongs to another call",
                None,
            ));
        }
        Ok((round, nonce))
    }

    async fn next_round(
        &self,
        workflow: &str,
        stored: StoredRequest,
        round: Option<(RoundState, String)>,
    ) -> Result<CallToolResponse, McpError> {
        let Some((round, nonce)) = round else {
            if !stored.state.is_open() {
                return Ok(self.result(&stored).await?.into());
            }
            let review = ElicitRequest::new(ElicitRequestParams::UrlElicitationParams {
                meta: None,
                message: format!(
                    "A human reviewer must countersign request {}. Open it in Countersign to \
                     review the delegation chain and decide.",
                    stored.request_id
                ),
                url: link_to_request(&stored.request_id),
                elicitation_id: String::new(),
            });
            let mut inputs = InputRequests::new();
            inputs.insert(REVIEW_INPUT.into(), InputRequest::Elicitation(review));
            let state = self.seal(workflow, &stored)?;
            return Ok(InputRequiredResult::new(Some(inputs), Some(state)).into());
        };
        let now = self.state.clock.now();
        // The same request id with another body is refused at intake; this is the digest.
        if round.request_digest != stored.request_digest {
            return Err(McpError::invalid_params(
                "requestState belongs to another call",
                None,
            ));
        }
        let first_use = self
            .state
            .store
            .spend_request_state(&nonce, &stored.request_id, now.into())
            .await
            .map_err(storage_failed)?;
        if !first_use {
            return Err(McpError::invalid_params(
                "requestState was already used; each one is spent once",
                None,
            ));
        }
        let now_stored = settled(&self.state, &stored.request_id, workflow, ROUND_WAIT)
            .await
            .map_err(|_| McpError::internal_error("storage failed", None))?;
        if now_stored.state.is_open() {
            let state = self.seal(workflow, &now_stored)?;
            return Ok(InputRequiredResult::from_request_state(state).into());
        }
        Ok(self.result(&now_stored).await?.into())
    }

    async fn get_decision(
        &self,
        workflow: &str,
        params: CallToolRequestParams,
    ) -> Result<CallToolResponse, McpError> {
        let Some(id) = params
            .arguments
            .as_ref()
            .and_then(|a| a.get("request_id"))
            .and_then(Value::as_str)
        else {
            return refused(Failure::new(
                ErrorCode::InvalidBody,
                "request_id (a string) is required",
            ));
        };
        match owned(&self.state, id, workflow).await {
            Ok(stored) => Ok(self.result(&stored).await?.into()),
            Err(failure) => refused(failure),
        }
    }
}

impl ServerHandler for Approvals {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .enable_resources_subscribe()
            .enable_tasks()
            .build();
        let mut info = ServerConfig::new(capabilities);
        info.server_info = Implementation::new("countersign", env!("CARGO_PKG_VERSION"))
            .with_title("Countersign: human approval of AI-agent handoffs");
        info.instructions = Some(format!(
            "Before a high-impact action, call {REQUEST_APPROVAL} with a Countersign \
             DelegationRequest; a human reviewer verifies its delegation chain and signs a \
             decision. Go ahead only on an approved decision."
        ));
        info
    }

    /// The handshake of a pre-2026-07-28 client: as the SDK negotiates it, without the Tasks
    /// extension, which a stateless server cannot offer a client whose capabilities are only
    /// said once, at `initialize`.
    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, McpError> {
        context.peer.set_peer_info(request.clone());
        let mut info = self.negotiate_initialize(&request)?;
        if info.protocol_version.as_str() < ProtocolVersion::V_2026_07_28.as_str()
            && let Some(extensions) = info.capabilities.extensions.as_mut()
        {
            extensions.remove(TASKS_EXTENSION_ID);
        }
        Ok(info)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(tools().to_vec()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools().iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let workflow = caller(&context)?;
        match request.name.as_ref() {
            REQUEST_APPROVAL => self.request_approval(workflow, request, &context).await,
            GET_DECISION => self.get_decision(&workflow, request).await,
            other => Err(McpError::invalid_params(
                format!(
                    "unknown tool {other:?}; this server has {REQUEST_APPROVAL} and {GET_DECISION}"
                ),
                None,
            )),
        }
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, McpError> {
        let workflow = caller(&context)?;
        let (task, stored) = self.owned_task(&workflow, &request.task_id).await?;
        Ok(GetTaskResult::new(self.detailed(&task, &stored).await?))
    }

    /// Withdraws the request: no reviewer can approve it any more, and consoles are told.
    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let workflow = caller(&context)?;
        let (_, stored) = self.owned_task(&workflow, &request.task_id).await?;
        let at = self.state.clock.timestamp();
        match self
            .state
            .store
            .withdraw(&stored.request_id, &workflow, at)
            .await
            .map_err(storage_failed)?
        {
            WithdrawWrite::Withdrawn(event) => {
                self.state.publish([event]);
                self.state.wake_workers.notify_waiters();
                Ok(())
            }
            WithdrawWrite::NotOpen(RequestState::Withdrawn) => Ok(()),
            WithdrawWrite::NotOpen(ended) => Err(McpError::invalid_params(
                format!(
                    "cannot cancel task {}: its request is already {}",
                    request.task_id,
                    ended.as_str()
                ),
                None,
            )),
        }
    }

    /// `subscriptions/listen` (2026-07-28): the resources of requests, by their links; the
    /// others asked for are left out.
    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        let uris = requested
            .resource_subscriptions
            .iter()
            .flatten()
            .filter(|uri| request_link(uri).is_some())
            .cloned()
            .collect();
        let mut accepted = SubscriptionFilter::new();
        accepted.resource_subscriptions = Some(uris);
        Some(accepted)
    }

    /// Tells the listener each time one of its requests changes (queued, escalated, decided,
    /// expired, withdrawn), so a client without Tasks need not poll; it reads the resource
    /// then. Only the caller's own requests are ever notified, so the stream says nothing about
    /// anyone else's.
    async fn listen(&self, context: SubscriptionContext) -> Result<(), McpError> {
        let workflow = caller(context.request_context())?;
        // Subscribed before the ownership reads, so a change in between is not missed.
        let mut events = self.state.events.subscribe();
        let mut watched = std::collections::HashMap::new();
        for uri in context.accepted().resource_subscriptions.iter().flatten() {
            if let Some(id) = request_link(uri)
                && owned(&self.state, &id, &workflow).await.is_ok()
            {
                watched.insert(id, uri.clone());
            }
        }
        let mut stopping = self.state.stopping.clone();
        loop {
            let changed: Vec<String> = tokio::select! {
                () = context.cancelled() => return Ok(()),
                _ = stopping.wait_for(|stopped| *stopped) => return Ok(()),
                event = events.recv() => match event {
                    Ok(event) => watched.get(&event.request_id).cloned().into_iter().collect(),
                    // Some were missed: any watched request may have changed.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        watched.values().cloned().collect()
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
                },
            };
            for uri in changed {
                let update =
                    ResourceUpdatedNotification::new(ResourceUpdatedNotificationParam::new(uri));
                if context
                    .sink()
                    .send(ServerNotification::ResourceUpdatedNotification(update))
                    .await
                    .is_err()
                {
                    // The listener has gone.
                    return Ok(());
                }
            }
        }
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let template = ResourceTemplate::new(REQUEST_TEMPLATE, "request")
            .with_description(
                "A request asked for with request_approval: its state and, once decided, the \
                 signed decision",
            )
            .with_mime_type("application/json");
        Ok(ListResourceTemplatesResult::with_all_items(vec![template]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let workflow = caller(&context)?;
        let not_found =
            || McpError::resource_not_found(format!("no resource {}", request.uri), None);
        let id = request_link(&request.uri).ok_or_else(not_found)?;
        let stored = owned(&self.state, &id, &workflow)
            .await
            .map_err(|failure| {
                if failure.code() == ErrorCode::Internal {
                    McpError::internal_error("storage failed", None)
                } else {
                    not_found()
                }
            })?;
        let approval = self.approval(&stored).await?;
        let text = serde_json::to_string(&approval)
            .map_err(|e| McpError::internal_error(e.to_string(), None))?;
        let contents =
            ResourceContents::text(text, request.uri.clone()).with_mime_type("application/json");
        Ok(ReadResourceResult::new(vec![contents]).into())
    }
}
