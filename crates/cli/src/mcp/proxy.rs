//! `countersign mcp-proxy`: an MCP server in front of an unmodified upstream MCP server. Every
//! message passes through untouched, except a `tools/call` of a tool the policy guards: that
//! call becomes a DelegationRequest, and it is forwarded upstream only after an approval that
//! verifies against the gateway's keys and names exactly that request and those arguments,
//! once. Anything else (a reject, an expiry, a gateway that cannot be reached, an approval that
//! does not verify) is a tool error, and the upstream never sees the call: fail closed.
//!
//! Every message is read strictly before anything else (I-JSON, one object, no batches); what
//! cannot be read is refused, never relayed, so no parser difference between the proxy and the
//! upstream can smuggle a guarded call past it. What is relayed is the message as the proxy
//! read it. HTTP clients authenticate with the proxy's client credential.
//!
//! A client that declares the Tasks extension gets a task at once; any other client's call is
//! held until a person has decided. Either way a watcher of its own waits at the gateway and
//! settles the call as soon as the request ends, so a client that polls late or goes away
//! mid-forward can neither lose an approved call's result nor cause a second call. Tasks live in
//! this process: a restart forgets them (nothing is forwarded for them).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use countersign_chain::digest::sha256_digest;
use countersign_client::{GatewayClient, Submitted};
use countersign_review::Clock;
use serde_json::{Map, Value, json};

use super::guard::{
    CHAIN_META, EVIDENCE_META, Grant, GuardedCall, ProxyPolicy, Refusal, UNCERTAINTY_META,
    check_approval, guarded_call,
};
use super::stdio::{Lines, UNAVAILABLE, serve_stdio};
use super::transport;

const TASKS: &str = "io.modelcontextprotocol/tasks";
const CAPABILITIES_META: &str = "io.modelcontextprotocol/clientCapabilities";
const MODERN: &str = "2026-07-28";
/// Proxy task ids: told apart from the upstream's own.
const TASK_PREFIX: &str = "countersign-proxy-";
const POLL_INTERVAL_MS: u64 = 1_000;
/// How long one wait at the gateway lasts while a held call waits for a person.
const HOLD_WAIT_SECONDS: u64 = 30;
const SESSION_HEADER: &str = "mcp-session-id";

/// What the proxy is started with.
pub struct ProxyConfig {
    /// The upstream MCP server's Streamable HTTP endpoint.
    pub upstream: url::Url,
    /// The gateway's base URL.
    pub gateway: String,
    /// The workflow credential the proxy submits requests with.
    pub token: String,
    pub policy: ProxyPolicy,
    pub grant: Option<Grant>,
    /// The bearer credential HTTP clients must present (stdio's client is the parent process).
    pub client_token: Option<String>,
    pub clock: Arc<dyn Clock>,
}

/// Serves the proxy on stdio, or on `listen` (Streamable HTTP at `/mcp`).
pub async fn serve(config: ProxyConfig, listen: Option<SocketAddr>) -> anyhow::Result<()> {
    let proxy = Arc::new(Proxy {
        http: reqwest::Client::builder()
            .build()
            .context("cannot build the HTTP client")?,
        gateway: GatewayClient::new(config.gateway.trim_end_matches('/')),
        config,
        tasks: Mutex::default(),
        consumed: Mutex::default(),
        session: Mutex::default(),
        held: Mutex::default(),
    });
    match listen {
        None => {
            serve_stdio(move |line, out| {
                let proxy = proxy.clone();
                async move { proxy.stdio_line(line, out).await }
            })
            .await
        }
        Some(addr) => {
            if proxy.config.client_token.is_none() {
                anyhow::bail!(
                    "--listen needs --client-token: whoever reaches the proxy would otherwise \
                     ask for approvals under the standing grant"
                );
            }
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            eprintln!(
                "countersign mcp-proxy: serving http://{}/mcp in front of {}",
                listener.local_addr()?,
                proxy.config.upstream
            );
            let app = axum::Router::new()
                .route("/mcp", axum::routing::any(http_call))
                .with_state(proxy);
            // A relayed answer is written as it streams in: without TCP_NODELAY, Nagle holds
            // its last segment for the client's delayed ACK (40 ms a call).
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await
                .context("serving")
        }
    }
}

struct Proxy {
    config: ProxyConfig,
    http: reqwest::Client,
    gateway: GatewayClient,
    tasks: Mutex<HashMap<String, Arc<ProxyTask>>>,
    /// Request ids whose approval was used for a call: each is used once.
    consumed: Mutex<HashSet<String>>,
    /// The upstream session of a legacy stdio client (HTTP clients carry their own).
    session: Mutex<Option<String>>,
    /// Held calls by their JSON-RPC id, so `notifications/cancelled` can end one.
    held: Mutex<HashMap<String, Arc<ProxyTask>>>,
}

/// How a guarded call reaches the upstream once approved: as the client sent it (version,
/// session), minus what was for the proxy.
#[derive(Clone)]
struct Upstream {
    version: Option<String>,
    session: Option<String>,
    meta: Option<Map<String, Value>>,
    tool: String,
}

/// What the client's transport said beside the message.
struct Client {
    version: Option<String>,
    session: Option<String>,
}

struct ProxyTask {
    call: GuardedCall,
    upstream: Upstream,
    created_at: DateTime<Utc>,
    /// Held while the watcher settles the task, so a cancel and a forward never cross.
    state: tokio::sync::Mutex<(TaskState, DateTime<Utc>)>,
    /// Told when the task ends (a held call waits for it).
    ended: tokio::sync::Notify,
    modern: bool,
}

enum TaskState {
    Waiting,
    /// The upstream's result, or the refusal said as a tool error.
    Completed(Value),
    /// The upstream's JSON-RPC error.
    Failed(Value),
    Cancelled,
}

/// What a guarded call came to.
enum Settled {
    Result(Value),
    Error(Value),
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn response(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

fn error_response(id: &Value, code: i64, message: impl Into<String>) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message.into()}})
}

/// A tool error the caller (often a model) reads: the call was not made, and why.
fn tool_error(text: String, modern: bool) -> Value {
    let mut result = json!({"content": [{"type": "text", "text": text}], "isError": true});
    if modern {
        result["resultType"] = json!("complete");
    }
    result
}

fn is_modern(version: Option<&str>) -> bool {
    version.is_some_and(|v| v >= MODERN)
}

fn declares_tasks(meta: Option<&Map<String, Value>>) -> bool {
    meta.and_then(|m| m.get(CAPABILITIES_META))
        .and_then(|c| c.pointer(&format!("/extensions/{}", TASKS.replace('/', "~1"))))
        .is_some()
}

/// `_meta` as the upstream gets it: without what was for the proxy, and without Tasks (the
/// proxy's task is the client's; the upstream answers the call itself).
fn upstream_meta(meta: Option<&Map<String, Value>>) -> Option<Map<String, Value>> {
    let mut meta = meta?.clone();
    for key in [CHAIN_META, EVIDENCE_META, UNCERTAINTY_META] {
        meta.remove(key);
    }
    if let Some(Value::Object(extensions)) = meta
        .get_mut(CAPABILITIES_META)
        .and_then(|c| c.get_mut("extensions"))
    {
        extensions.remove(TASKS);
    }
    Some(meta)
}

/// Which messages are the proxy's own business.
enum Intercept {
    /// A `tools/call` of a guarded tool.
    Guarded,
    /// `tasks/get` or `tasks/cancel` of a proxy task.
    Task,
    /// `server/discover`: relayed, and the Tasks extension added to what the server offers.
    Discover,
    /// `notifications/cancelled`: a held call it names is cancelled; relayed too.
    Cancelled,
}

impl Proxy {
    /// Whether an HTTP call carries the client credential (compared as digests, so the
    /// comparison's time says nothing about the credential).
    fn client_admitted(&self, headers: &HeaderMap) -> bool {
        let Some(expected) = &self.config.client_token else {
            return false;
        };
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        given.is_some_and(|token| {
            sha256_digest(token.as_bytes()) == sha256_digest(expected.as_bytes())
        })
    }

    fn now(&self) -> DateTime<Utc> {
        self.config.clock.now()
    }

    fn intercept(&self, message: &Value) -> Option<Intercept> {
        let method = message.get("method")?.as_str()?;
        if method == "notifications/cancelled" {
            return Some(Intercept::Cancelled);
        }
        message.get("id")?;
        let params = message.get("params");
        match method {
            "tools/call" => {
                let name = params?.get("name")?.as_str()?;
                self.config.policy.guarded(name).map(|_| Intercept::Guarded)
            }
            "tasks/get" | "tasks/cancel" => params?
                .get("taskId")?
                .as_str()?
                .starts_with(TASK_PREFIX)
                .then_some(Intercept::Task),
            "server/discover" => Some(Intercept::Discover),
            _ => None,
        }
    }

    /// Answers a message the proxy handles itself (`Guarded` or `Task`).
    async fn local(self: &Arc<Self>, message: &Value, client: Client) -> Value {
        let id = message.get("id").cloned().unwrap_or(Value::Null);
        let method = message
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let params = message.get("params").cloned().unwrap_or(Value::Null);
        let meta = params.get("_meta").and_then(Value::as_object);
        let version = transport::version_of(message).or(client.version.clone());
        match method {
            "tools/call" => self.guarded(&id, &params, meta, version, client).await,
            "tasks/get" => self.get_task(&id, &params).await,
            _ => self.cancel_task(&id, &params).await,
        }
    }

    async fn guarded(
        self: &Arc<Self>,
        id: &Value,
        params: &Value,
        meta: Option<&Map<String, Value>>,
        version: Option<String>,
        client: Client,
    ) -> Value {
        let modern = is_modern(version.as_deref());
        let name = params
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(tool) = self.config.policy.guarded(name) else {
            return error_response(id, -32602, format!("unknown tool {name}"));
        };
        let arguments = match params.get("arguments") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(arguments)) => arguments.clone(),
            Some(_) => return error_response(id, -32602, "arguments must be an object"),
        };
        let call = match guarded_call(
            &self.config.policy,
            self.config.grant.as_ref(),
            tool,
            arguments,
            meta,
            self.now(),
            || uuid::Uuid::new_v4().to_string(),
        ) {
            Ok(call) => call,
            Err(refusal) => return response(id, tool_error(refusal.to_string(), modern)),
        };
        let body = serde_json::to_vec(&call.request).unwrap_or_default();
        match self.gateway.submit(&self.config.token, &body).await {
            Ok(Submitted::Accepted(_)) => {}
            Ok(Submitted::Refused(error)) => {
                let report = error
                    .report
                    .as_ref()
                    .and_then(|r| serde_json::to_string(r).ok())
                    .unwrap_or_default();
                return response(
                    id,
                    tool_error(
                        format!(
                            "{}: {}; the call was not made\n{report}",
                            error.code.as_str(),
                            error.message
                        ),
                        modern,
                    ),
                );
            }
            Err(e) => {
                return response(
                    id,
                    tool_error(format!("{e}; the call was not made"), modern),
                );
            }
        }
        let upstream = Upstream {
            version: version.clone(),
            session: client.session,
            meta: upstream_meta(meta),
            tool: name.to_owned(),
        };
        let at = self.now();
        let task = Arc::new(ProxyTask {
            call,
            upstream,
            created_at: at,
            state: tokio::sync::Mutex::new((TaskState::Waiting, at)),
            ended: tokio::sync::Notify::new(),
            modern,
        });
        let ended = task.ended.notified();
        tokio::spawn(self.clone().watch(task.clone()));
        if modern && declares_tasks(meta) {
            let task_id = format!("{TASK_PREFIX}{}", uuid::Uuid::new_v4().simple());
            if let Ok(mut tasks) = self.tasks.lock() {
                tasks.insert(task_id.clone(), task.clone());
            }
            let mut created = task_json(&task_id, &task, "working", at);
            created["resultType"] = json!("task");
            return response(id, created);
        }
        // Held: the call waits while a person decides. A client that goes away before then
        // cancels it (never forwarded, withdrawn); once forwarding, it finishes regardless.
        let held = Held {
            proxy: self.clone(),
            task: task.clone(),
            id: id.to_string(),
        };
        if let Ok(mut calls) = self.held.lock() {
            calls.insert(held.id.clone(), task.clone());
        }
        if matches!(task.state.lock().await.0, TaskState::Waiting) {
            ended.await;
        }
        drop(held);
        let state = task.state.lock().await;
        match &state.0 {
            TaskState::Completed(result) => response(id, result.clone()),
            TaskState::Failed(error) => json!({"jsonrpc": "2.0", "id": id, "error": error}),
            TaskState::Waiting | TaskState::Cancelled => response(
                id,
                tool_error("the call was cancelled; it was not made".into(), modern),
            ),
        }
    }

    /// Waits at the gateway until the task's request ends, then settles it (forwarded once if
    /// the approval holds), in a task of its own.
    async fn watch(self: Arc<Self>, task: Arc<ProxyTask>) {
        let outcome = loop {
            if matches!(task.state.lock().await.0, TaskState::Cancelled) {
                return;
            }
            match self
                .gateway
                .wait_for_decision(&self.config.token, &task.call.request_id, HOLD_WAIT_SECONDS)
                .await
            {
                Ok(outcome) if outcome.state.is_open() => continue,
                Ok(outcome) => break outcome,
                // The gateway is away: the call keeps waiting (it is not made meanwhile).
                Err(e) if e.is_unreachable() => {
                    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                }
                Err(e) => {
                    self.end(
                        &task,
                        TaskState::Completed(tool_error(
                            format!("{e}; the call was not made"),
                            task.modern,
                        )),
                    )
                    .await;
                    return;
                }
            }
        };
        let mut state = task.state.lock().await;
        if !matches!(state.0, TaskState::Waiting) {
            return;
        }
        let settled = self
            .settle(&task.call, &task.upstream, &outcome, task.modern)
            .await;
        *state = match settled {
            Settled::Result(result) => (TaskState::Completed(result), self.now()),
            Settled::Error(error) => (TaskState::Failed(error), self.now()),
        };
        drop(state);
        task.ended.notify_waiters();
    }

    async fn end(&self, task: &ProxyTask, to: TaskState) {
        let mut state = task.state.lock().await;
        if matches!(state.0, TaskState::Waiting) {
            *state = (to, self.now());
        }
        drop(state);
        task.ended.notify_waiters();
    }

    /// Cancels a held call not yet settled: never forwarded, its request withdrawn. A forward
    /// already under way holds the lock and is left to finish.
    fn cancel_held(self: &Arc<Self>, task: &Arc<ProxyTask>) {
        if let Ok(mut state) = task.state.try_lock()
            && matches!(state.0, TaskState::Waiting)
        {
            *state = (TaskState::Cancelled, self.now());
            drop(state);
            task.ended.notify_waiters();
            let (proxy, task) = (self.clone(), task.clone());
            tokio::spawn(async move { proxy.withdraw(&task).await });
        }
    }

    /// `notifications/cancelled` for a held call.
    fn cancelled(self: &Arc<Self>, message: &Value) {
        let Some(id) = message.pointer("/params/requestId") else {
            return;
        };
        let task = self
            .held
            .lock()
            .ok()
            .and_then(|calls| calls.get(&id.to_string()).cloned());
        if let Some(task) = task {
            self.cancel_held(&task);
        }
    }

    /// Withdraws a task's request at the gateway, so reviewers no longer see it (if that fails,
    /// it just expires; no decision on it will be acted on either way).
    async fn withdraw(&self, task: &ProxyTask) {
        if let Err(e) = self
            .gateway
            .withdraw(&self.config.token, &task.call.request_id)
            .await
        {
            eprintln!(
                "countersign mcp-proxy: cannot withdraw request {}: {e}",
                task.call.request_id
            );
        }
    }

    /// A decided request: forwarded once if the approval holds, else refused.
    async fn settle(
        &self,
        call: &GuardedCall,
        upstream: &Upstream,
        outcome: &countersign_wire::api::DecisionOutcome,
        modern: bool,
    ) -> Settled {
        let jwks = match self.gateway.jwks().await {
            Ok(jwks) => jwks,
            Err(e) => {
                return Settled::Result(tool_error(
                    format!("cannot read the gateway's keys ({e}); the call was not made"),
                    modern,
                ));
            }
        };
        let checked = check_approval(
            call,
            outcome,
            &jwks,
            &self.config.policy.audience,
            self.now(),
        )
        .and_then(|()| {
            let first = self
                .consumed
                .lock()
                .map(|mut used| used.insert(call.request_id.clone()))
                .unwrap_or(false);
            if first {
                Ok(())
            } else {
                Err(Refusal::AlreadyUsed)
            }
        });
        if let Err(refusal) = checked {
            return Settled::Result(tool_error(
                format!("request {}: {refusal}", call.request_id),
                modern,
            ));
        }
        self.forward(call, upstream).await
    }

    /// The approved call, upstream, exactly once, with exactly the approved arguments.
    async fn forward(&self, call: &GuardedCall, upstream: &Upstream) -> Settled {
        let mut params = json!({"name": upstream.tool, "arguments": call.arguments});
        if let Some(meta) = &upstream.meta {
            params["_meta"] = Value::Object(meta.clone());
        }
        let message = json!({"jsonrpc": "2.0", "id": format!("countersign-{}", call.request_id),
            "method": "tools/call", "params": params});
        let mut request = transport::post(
            &self.http,
            &self.config.upstream,
            Some(&message),
            upstream.version.clone(),
            message.to_string(),
        );
        if let Some(session) = &upstream.session {
            request = request.header(SESSION_HEADER, session);
        }
        let answer = match request.send().await {
            Ok(answer) => answer,
            Err(e) => {
                return Settled::Error(json!({"code": UNAVAILABLE,
                    "message": format!("the upstream server cannot be reached: {e}")}));
            }
        };
        let mut found = None;
        let want = message["id"].clone();
        transport::messages(answer, |value| {
            if value.get("id") == Some(&want) {
                found = Some(value);
            }
        })
        .await;
        match found {
            Some(answer) if answer.get("result").is_some() => {
                Settled::Result(answer["result"].clone())
            }
            Some(answer) => Settled::Error(answer.get("error").cloned().unwrap_or(Value::Null)),
            None => Settled::Error(json!({"code": UNAVAILABLE,
                "message": "the upstream server did not answer the call"})),
        }
    }

    fn task(&self, params: &Value) -> Option<(String, Arc<ProxyTask>)> {
        let task_id = params.get("taskId")?.as_str()?.to_owned();
        let task = self.tasks.lock().ok()?.get(&task_id)?.clone();
        Some((task_id, task))
    }

    async fn get_task(&self, id: &Value, params: &Value) -> Value {
        let Some((task_id, task)) = self.task(params) else {
            return error_response(id, -32602, "no such task");
        };
        let state = task.state.lock().await;
        let (status, at) = match &state.0 {
            TaskState::Waiting => ("working", state.1),
            TaskState::Completed(_) => ("completed", state.1),
            TaskState::Failed(_) => ("failed", state.1),
            TaskState::Cancelled => ("cancelled", state.1),
        };
        let mut got = task_json(&task_id, &task, status, at);
        got["resultType"] = json!("complete");
        match &state.0 {
            TaskState::Completed(result) => got["result"] = result.clone(),
            TaskState::Failed(error) => got["error"] = error.clone(),
            TaskState::Waiting => {
                got["statusMessage"] = json!("Waiting for a human reviewer's signed decision")
            }
            TaskState::Cancelled => {}
        }
        response(id, got)
    }

    /// Cancels a waiting task: it is never forwarded, and its request is withdrawn.
    async fn cancel_task(&self, id: &Value, params: &Value) -> Value {
        let Some((task_id, task)) = self.task(params) else {
            return error_response(id, -32602, "no such task");
        };
        let mut state = task.state.lock().await;
        match state.0 {
            TaskState::Waiting => {
                *state = (TaskState::Cancelled, self.now());
                drop(state);
                task.ended.notify_waiters();
                self.withdraw(&task).await;
            }
            TaskState::Cancelled => {}
            _ => {
                return error_response(
                    id,
                    -32602,
                    format!("cannot cancel task {task_id}: it has already ended"),
                );
            }
        }
        response(id, json!({"resultType": "complete"}))
    }

    /// A message over stdio: the proxy's own, or relayed to the upstream.
    async fn stdio_line(self: Arc<Self>, line: String, out: Lines) {
        let message = match read_message(line.as_bytes()) {
            Ok(message) => message,
            Err(refused) => return out.send(refused),
        };
        let id = message.get("id").cloned();
        let session = self.session.lock().ok().and_then(|s| s.clone());
        let intercept = self.intercept(&message);
        if let Some(Intercept::Cancelled) = intercept {
            self.cancelled(&message);
        }
        if let Some(Intercept::Guarded | Intercept::Task) = intercept {
            let client = Client {
                version: None,
                session,
            };
            out.send(self.local(&message, client).await);
            return;
        }
        let mut request = transport::post(
            &self.http,
            &self.config.upstream,
            Some(&message),
            None,
            message.to_string(),
        );
        if let Some(session) = &session {
            request = request.header(SESSION_HEADER, session);
        }
        let answer = match request.send().await {
            Ok(answer) => answer,
            Err(e) => {
                if id.is_some() {
                    out.fail(id, format!("cannot reach the upstream server: {e}"));
                }
                return;
            }
        };
        if let Some(started) = answer
            .headers()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            && let Ok(mut session) = self.session.lock()
        {
            *session = Some(started.to_owned());
        }
        let discover = matches!(intercept, Some(Intercept::Discover));
        transport::messages(answer, |mut value| {
            if discover {
                offer_tasks(&mut value);
            }
            out.send(value);
        })
        .await;
    }
}

/// A held call's client: if it goes away before the call is settled, the call is cancelled
/// (never forwarded, its request withdrawn); a forward already under way holds the task's lock
/// and finishes regardless.
struct Held {
    proxy: Arc<Proxy>,
    task: Arc<ProxyTask>,
    /// The call's JSON-RPC id, as text.
    id: String,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Ok(mut calls) = self.proxy.held.lock() {
            calls.remove(&self.id);
        }
        self.proxy.cancel_held(&self.task);
    }
}

/// A message read strictly: I-JSON (no member named twice, nothing JSON does not define) and
/// one object. Anything else is refused with the JSON-RPC error to answer, and never relayed:
/// a message the upstream might read otherwise than the proxy does could carry a guarded call
/// past it.
fn read_message(bytes: &[u8]) -> Result<Value, Value> {
    let refuse = |code: i64, message: String| json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}});
    let value = countersign_chain::ijson::parse(bytes).map_err(|e| match e {
        countersign_chain::ijson::IJsonError::Syntax(e) => refuse(-32700, e.to_string()),
        other => refuse(-32600, other.to_string()),
    })?;
    if !value.is_object() {
        return Err(refuse(
            -32600,
            "a message is one JSON-RPC object; batches are not accepted".into(),
        ));
    }
    Ok(value)
}

/// The Tasks extension added to what a discovered server offers: the proxy serves tasks for
/// guarded calls whatever the upstream does.
fn offer_tasks(answer: &mut Value) {
    if let Some(capabilities) = answer
        .pointer_mut("/result/capabilities")
        .and_then(Value::as_object_mut)
    {
        let extensions = capabilities
            .entry("extensions")
            .or_insert_with(|| json!({}));
        if let Some(extensions) = extensions.as_object_mut() {
            extensions.entry(TASKS).or_insert_with(|| json!({}));
        }
    }
}

fn task_json(task_id: &str, task: &ProxyTask, status: &str, updated: DateTime<Utc>) -> Value {
    json!({
        "taskId": task_id,
        "status": status,
        "createdAt": rfc3339(task.created_at),
        "lastUpdatedAt": rfc3339(updated.max(task.created_at)),
        "ttlMs": null,
        "pollIntervalMs": POLL_INTERVAL_MS,
    })
}

/// Hop-by-hop and framing headers are the connection's own, not the message's.
fn relayed_header(name: &HeaderName) -> bool {
    !matches!(
        name.as_str(),
        "host" | "content-length" | "connection" | "transfer-encoding" | "keep-alive" | "upgrade"
    )
}

/// `/mcp` over HTTP: the proxy's own messages answered here, everything else relayed as is
/// (status, headers and body streamed back).
async fn http_call(
    State(proxy): State<Arc<Proxy>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !proxy.client_admitted(&headers) {
        let error = json!({"jsonrpc": "2.0", "id": null,
            "error": {"code": -32600, "message": "missing or unknown proxy client credentials"}});
        let mut response = (StatusCode::UNAUTHORIZED, axum::Json(error)).into_response();
        response.headers_mut().insert(
            axum::http::header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer realm=\"countersign-mcp-proxy\""),
        );
        return response;
    }
    // Every POST is read strictly, and what is relayed is the message as read.
    let (message, body) = if method == Method::POST {
        match read_message(&body) {
            Ok(message) => {
                let body = Bytes::from(message.to_string());
                (Some(message), body)
            }
            Err(refused) => return (StatusCode::BAD_REQUEST, axum::Json(refused)).into_response(),
        }
    } else {
        (None, body)
    };
    let intercept = message.as_ref().and_then(|m| proxy.intercept(m));
    if let (Some(message), Some(Intercept::Cancelled)) = (&message, &intercept) {
        proxy.cancelled(message);
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if let (Some(message), Some(Intercept::Guarded | Intercept::Task)) = (&message, &intercept) {
        let client = Client {
            version: header("mcp-protocol-version"),
            session: header(SESSION_HEADER),
        };
        let answer = proxy.local(message, client).await;
        return axum::Json(answer).into_response();
    }
    let mut request = proxy
        .http
        .request(method, proxy.config.upstream.clone())
        .body(body);
    for (name, value) in &headers {
        // The client's credentials are the proxy's; the upstream trusts the proxy.
        if relayed_header(name) && name != axum::http::header::AUTHORIZATION {
            request = request.header(name, value);
        }
    }
    let answer = match request.send().await {
        Ok(answer) => answer,
        Err(e) => {
            let id = message.as_ref().and_then(|m| m.get("id")).cloned();
            let error = json!({"jsonrpc": "2.0", "id": id,
                "error": {"code": UNAVAILABLE, "message": format!("cannot reach the upstream server: {e}")}});
            return (StatusCode::BAD_GATEWAY, axum::Json(error)).into_response();
        }
    };
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut out = Response::builder().status(status);
    for (name, value) in answer.headers() {
        if relayed_header(name)
            && !(matches!(intercept, Some(Intercept::Discover)) && name == "content-type")
        {
            out = out.header(name, value);
        }
    }
    if matches!(intercept, Some(Intercept::Discover)) {
        let mut found = None;
        transport::messages(answer, |value| found = Some(value)).await;
        let Some(mut value) = found else {
            return StatusCode::BAD_GATEWAY.into_response();
        };
        offer_tasks(&mut value);
        return out
            .header("content-type", "application/json")
            .body(Body::from(value.to_string()))
            .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response());
    }
    out.body(Body::from_stream(answer.bytes_stream()))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}
