//! The gateway as an MCP server: the official SDKs (Python `mcp`, TypeScript
//! `@modelcontextprotocol/sdk` and `@modelcontextprotocol/client`) as unmodified clients over
//! Streamable HTTP and over `countersign mcp` (stdio), each path a client may take (Tasks,
//! URL elicitation with `requestState`, polling), and the bad input a server must survive.

use std::path::{Path, PathBuf};

use countersign_chain::digest::decision_subject;
use countersign_client::verify_decision;
use countersign_wire::DecisionKind;
use countersign_wire::api::RequestState;
use serde_json::{Value, json};

use countersign_testkit::{
    AUDIENCE, OTHER_WORKFLOW_TOKEN, ScriptClient, TestGateway, WORKFLOW_TOKEN, http,
};

const MODERN: &str = "2026-07-28";

/// `_meta` of a 2026-07-28 request, declaring `capabilities`.
fn meta(capabilities: Value) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": capabilities,
        "io.modelcontextprotocol/clientInfo": {"name": "countersign-tests", "version": "1"},
    })
}

fn tasks() -> Value {
    json!({"extensions": {"io.modelcontextprotocol/tasks": {}}})
}

/// One raw JSON-RPC POST to `/mcp`, with the headers a 2026-07-28 client sends.
async fn post(
    token: Option<&str>,
    gw: &TestGateway,
    body: &[u8],
    method: &str,
) -> reqwest::Response {
    let mut request = http()
        .post(gw.url("/mcp"))
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .header("MCP-Protocol-Version", MODERN)
        .header("Mcp-Method", method)
        .body(body.to_vec());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("the gateway answers")
}

/// A 2026-07-28 request as `token`'s workflow; the JSON-RPC response.
async fn call_as(
    gw: &TestGateway,
    token: &str,
    method: &str,
    mut params: Value,
    capabilities: Value,
) -> Value {
    params["_meta"] = meta(capabilities);
    let mut request = http()
        .post(gw.url("/mcp"))
        .bearer_auth(token)
        .header("Accept", "application/json, text/event-stream")
        .header("MCP-Protocol-Version", MODERN)
        .header("Mcp-Method", method)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}));
    for key in ["name", "taskId", "uri"] {
        if let Some(name) = params.get(key).and_then(Value::as_str) {
            request = request.header("Mcp-Name", name);
        }
    }
    let response = request.send().await.expect("the gateway answers");
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON-RPC: {text}"))
}

async fn call(gw: &TestGateway, method: &str, params: Value, capabilities: Value) -> Value {
    call_as(gw, WORKFLOW_TOKEN, method, params, capabilities).await
}

async fn request_approval(gw: &TestGateway, request: &Value, capabilities: Value) -> Value {
    call(
        gw,
        "tools/call",
        json!({"name": "request_approval", "arguments": request}),
        capabilities,
    )
    .await
}

/// Whether the workflow has a request `id` (REST, the same store).
async fn stored(gw: &TestGateway, id: &str) -> bool {
    let got = http()
        .get(gw.url(&format!("/v1/requests/{id}/decision")))
        .bearer_auth(WORKFLOW_TOKEN)
        .send()
        .await
        .unwrap();
    got.status() == 200
}

/// Checks a decision JWS against the gateway's JWKS and the stored request.
async fn verified(gw: &TestGateway, request_id: &str, jws: &str, kind: DecisionKind) {
    let record = gw.record(request_id).await;
    let jwks = gw.client.jwks().await.unwrap();
    let claims = verify_decision(
        jws,
        &jwks,
        AUDIENCE,
        &decision_subject(&record.request).unwrap(),
        gw.clock_now(),
    )
    .unwrap();
    assert_eq!(claims.decision, kind);
}

/// A reviewer approves the refund scenario's request.
async fn approve_the_refund(gw: &TestGateway) {
    let (status, _) = gw
        .decide_as(
            &gw.reviewer,
            "refund-exception-t",
            DecisionKind::Approve,
            "Refund within policy",
        )
        .await;
    assert_eq!(status, 201);
}

// ---------------------------------------------------------------------------------------
// The official SDKs as clients.

#[derive(Clone, Copy, Debug)]
enum Sdk {
    /// `mcp` 2.3.0 from PyPI, in the project's `.venv`.
    Python,
    /// `@modelcontextprotocol/sdk` 1.32.2 from npm (legacy revisions only).
    TypeScript,
    /// `@modelcontextprotocol/client` 2.4.0 with `@modelcontextprotocol/ext-tasks` 0.2.2.
    TypeScriptModern,
}

#[derive(Clone, Copy, Debug)]
enum Transport {
    Http,
    Stdio,
}

impl Transport {
    fn arg(self) -> &'static str {
        match self {
            Transport::Http => "http",
            Transport::Stdio => "stdio",
        }
    }
}

/// `countersign`, the CLI whose `mcp` command bridges stdio: built beside the gateway by the
/// workspace build.
fn cli_binary() -> PathBuf {
    let gateway = Path::new(env!("CARGO_BIN_EXE_countersign-gateway"));
    let cli = gateway.with_file_name("countersign");
    assert!(
        cli.is_file(),
        "{} is missing: build the workspace (cargo build --workspace)",
        cli.display()
    );
    cli
}

/// Runs an SDK's client script in `mode` over `transport` with `request`.
fn client(
    sdk: Sdk,
    transport: Transport,
    mode: &str,
    gw: &TestGateway,
    request: &Value,
) -> ScriptClient {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("request.json");
    std::fs::write(&path, serde_json::to_vec(request).unwrap()).unwrap();
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut command = match sdk {
        Sdk::Python => {
            let mut c =
                std::process::Command::new(countersign_scenarios::python::interpreter().unwrap());
            c.arg(tests.join("python/mcp_client.py"));
            c
        }
        Sdk::TypeScript | Sdk::TypeScriptModern => {
            assert!(
                tests
                    .join("node/node_modules/@modelcontextprotocol/sdk")
                    .is_dir()
                    && tests
                        .join("node/node_modules/@modelcontextprotocol/client")
                        .is_dir(),
                "the MCP TypeScript SDKs are not installed: run scripts/setup.sh"
            );
            let mut c = std::process::Command::new("node");
            c.arg(tests.join("node/mcp_client.mjs")).arg(match sdk {
                Sdk::TypeScript => "sdk",
                _ => "client",
            });
            c
        }
    };
    command
        .arg(transport.arg())
        .arg(mode)
        .arg(&path)
        .env("COUNTERSIGN_GATEWAY", gw.url("/"))
        .env("COUNTERSIGN_WORKFLOW_TOKEN", WORKFLOW_TOKEN)
        .env("COUNTERSIGN_BIN", cli_binary());
    ScriptClient::spawn(command, Some(dir))
}

/// Tasks: call → a task at once (the request is stored) → a reviewer decides `kind` → the
/// task completes with the tool result, whose decision verifies against the JWKS.
async fn decided_through_a_task(sdk: Sdk, transport: Transport, kind: DecisionKind) {
    let gw = TestGateway::start().await;
    let mut client = client(
        sdk,
        transport,
        "tasks",
        &gw,
        &gw.scenario("refund-exception"),
    );
    let created = client.next().await;
    assert_eq!(created["step"], "task", "{created}");
    assert_eq!(created["status"], "working", "{created}");
    assert!(
        stored(&gw, "refund-exception-t").await,
        "a task only once stored"
    );
    let (status, _) = gw
        .decide_as(
            &gw.reviewer,
            "refund-exception-t",
            kind,
            "Checked with the carrier",
        )
        .await;
    assert_eq!(status, 201);
    let done = client.next().await;
    assert!(client.finished().await, "{sdk:?} over {transport:?} failed");
    assert_eq!(done["status"], "completed", "{done}");
    let result = &done["result"];
    let content = &result["structuredContent"];
    let (state, is_error) = match kind {
        DecisionKind::Approve => ("approved", false),
        DecisionKind::Reject => ("rejected", true),
    };
    assert_eq!(content["state"], state, "{done}");
    assert_eq!(result["isError"], is_error, "{done}");
    assert_eq!(content["request_id"], "refund-exception-t");
    assert_eq!(
        content["review_link"],
        "countersign://request/refund-exception-t"
    );
    let record = gw.record("refund-exception-t").await;
    assert_eq!(
        content["request_digest"],
        record.report.request_digest.clone().unwrap()
    );
    verified(
        &gw,
        "refund-exception-t",
        content["decision_jws"].as_str().unwrap(),
        kind,
    )
    .await;
    // Audited like any request: added and decided, sealed into the log.
    let kinds: Vec<Value> = gw
        .sealed_entries(|e| e["request_id"] == "refund-exception-t")
        .await
        .into_iter()
        .map(|e| e["kind"].clone())
        .collect();
    assert!(
        kinds.contains(&json!("request_added")) && kinds.contains(&json!("request_decided")),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn the_python_mcp_sdk_over_http_gets_a_task_that_completes_with_a_verified_approval() {
    decided_through_a_task(Sdk::Python, Transport::Http, DecisionKind::Approve).await;
}

#[tokio::test]
async fn the_python_mcp_sdk_over_stdio_gets_a_task_that_completes_with_a_verified_rejection() {
    decided_through_a_task(Sdk::Python, Transport::Stdio, DecisionKind::Reject).await;
}

#[tokio::test]
async fn the_python_mcp_sdk_cancels_its_task_and_the_request_is_withdrawn() {
    let gw = TestGateway::start().await;
    let mut client = client(
        Sdk::Python,
        Transport::Http,
        "cancel",
        &gw,
        &gw.scenario("supplier-payment"),
    );
    let created = client.next().await;
    let done = client.next().await;
    assert!(client.finished().await);
    assert_eq!(created["step"], "task", "{created}");
    assert_eq!(done["status"], "cancelled", "{done}");
    assert_eq!(
        gw.record("supplier-payment-t").await.state,
        RequestState::Withdrawn
    );
}

/// No Tasks, URL elicitation (2026-07-28): the client is asked to open the request for a
/// reviewer, comes back with its `requestState` until a person has decided, and gets the
/// decision as the tool's result.
async fn decided_through_elicitation(transport: Transport) {
    let gw = TestGateway::start().await;
    let mut client = client(
        Sdk::Python,
        transport,
        "elicit",
        &gw,
        &gw.scenario("refund-exception"),
    );
    let asked = client.next().await;
    assert_eq!(asked["step"], "elicitation", "{asked}");
    assert_eq!(asked["mode"], "url");
    assert_eq!(asked["url"], "countersign://request/refund-exception-t");
    approve_the_refund(&gw).await;
    let done = client.next().await;
    assert!(client.finished().await);
    assert_eq!(done["protocolVersion"], MODERN);
    let content = &done["result"]["structuredContent"];
    assert_eq!(content["state"], "approved", "{done}");
    verified(
        &gw,
        "refund-exception-t",
        content["decision_jws"].as_str().unwrap(),
        DecisionKind::Approve,
    )
    .await;
}

#[tokio::test]
async fn the_python_mcp_sdk_without_tasks_opens_the_request_for_a_reviewer_and_gets_the_decision() {
    decided_through_elicitation(Transport::Http).await;
}

#[tokio::test]
async fn over_stdio_the_elicitation_rounds_reach_the_decision_too() {
    decided_through_elicitation(Transport::Stdio).await;
}

/// Neither Tasks nor elicitation: the request's state at once, then `get_decision` and the
/// request's resource until decided.
async fn decided_by_polling(sdk: Sdk, transport: Transport, mode: &str, version: &str) {
    let gw = TestGateway::start().await;
    let mut client = client(sdk, transport, mode, &gw, &gw.scenario("refund-exception"));
    let pending = client.next().await;
    assert_eq!(pending["step"], "pending", "{pending}");
    assert_eq!(pending["protocolVersion"], version, "{pending}");
    assert_eq!(pending["result"]["structuredContent"]["state"], "pending");
    assert_eq!(pending["result"]["isError"], false);
    approve_the_refund(&gw).await;
    let done = client.next().await;
    assert!(client.finished().await, "{sdk:?} over {transport:?} failed");
    let content = &done["result"]["structuredContent"];
    assert_eq!(content["state"], "approved", "{done}");
    assert_eq!(
        done["resource"], *content,
        "the resource says what the tool says"
    );
    verified(
        &gw,
        "refund-exception-t",
        content["decision_jws"].as_str().unwrap(),
        DecisionKind::Approve,
    )
    .await;
}

#[tokio::test]
async fn a_legacy_python_mcp_client_over_stdio_polls_get_decision_to_a_verified_approval() {
    decided_by_polling(Sdk::Python, Transport::Stdio, "legacy", "2025-11-25").await;
}

#[tokio::test]
async fn a_python_mcp_client_without_tasks_or_elicitation_polls_over_http() {
    decided_by_polling(Sdk::Python, Transport::Http, "poll", MODERN).await;
}

/// No Tasks, no elicitation, but `subscriptions/listen`: the client is told when its request
/// changes instead of polling, and reads the decision from the resource.
#[tokio::test]
async fn a_python_mcp_client_listening_to_its_request_is_told_when_it_is_decided() {
    let gw = TestGateway::start().await;
    let mut listener = client(
        Sdk::Python,
        Transport::Http,
        "listen",
        &gw,
        &gw.scenario("refund-exception"),
    );
    let listening = listener.next().await;
    assert_eq!(listening["step"], "listening", "{listening}");
    assert_eq!(listening["protocolVersion"], MODERN);
    // Another workflow cannot read it (nor is it ever notified of it: `listen` keeps to the
    // caller's own requests).
    let foreign = call_as(
        &gw,
        OTHER_WORKFLOW_TOKEN,
        "resources/read",
        json!({"uri": "countersign://request/refund-exception-t"}),
        json!({}),
    )
    .await;
    assert_eq!(foreign["error"]["code"], -32602);
    approve_the_refund(&gw).await;
    let done = listener.next().await;
    assert!(listener.finished().await);
    assert_eq!(done["event"], "ResourceUpdated", "{done}");
    assert_eq!(done["resource"]["state"], "approved", "{done}");
    verified(
        &gw,
        "refund-exception-t",
        done["resource"]["decision_jws"].as_str().unwrap(),
        DecisionKind::Approve,
    )
    .await;
}

#[tokio::test]
async fn the_python_mcp_sdk_sees_a_changed_or_spent_request_state_refused() {
    let gw = TestGateway::start().await;
    let mut client = client(
        Sdk::Python,
        Transport::Http,
        "tamper",
        &gw,
        &gw.scenario("supplier-payment"),
    );
    let done = client.next().await;
    assert!(client.finished().await);
    assert_eq!(done["inputRequests"], json!(["review"]), "{done}");
    assert_eq!(done["tampered"]["code"], -32602, "{done}");
    // The genuine state is spent once; a second use is refused.
    assert_eq!(done["genuine"]["resultType"], "input_required", "{done}");
    assert_eq!(done["replayed"]["code"], -32602, "{done}");
    assert!(
        done["replayed"]["message"]
            .as_str()
            .unwrap()
            .contains("already used")
    );
    assert_eq!(
        gw.record("supplier-payment-t").await.state,
        RequestState::Pending
    );
}

// ---------------------------------------------------------------------------------------
// The protocol, raw: what each client path gets, and bad input.

#[tokio::test]
async fn a_task_reports_working_then_failed_when_the_request_expires() {
    let gw = TestGateway::start().await;
    let created = request_approval(&gw, &gw.scenario("supplier-payment"), tasks()).await;
    let result = &created["result"];
    assert_eq!(result["resultType"], "task", "{created}");
    assert_eq!(result["status"], "working");
    let task_id = result["taskId"].as_str().unwrap().to_owned();
    assert!(task_id.len() >= 20, "an unguessable id: {task_id}");
    let got = call(&gw, "tasks/get", json!({"taskId": task_id}), tasks()).await;
    assert_eq!(got["result"]["status"], "working", "{got}");
    assert!(got["result"]["pollIntervalMs"].as_u64().is_some());
    // The same request again is the same request and the same task.
    let again = request_approval(&gw, &gw.scenario("supplier-payment"), tasks()).await;
    assert_eq!(again["result"]["taskId"], task_id.as_str());
    // Another workflow cannot see it.
    let foreign = call_as(
        &gw,
        OTHER_WORKFLOW_TOKEN,
        "tasks/get",
        json!({"taskId": task_id}),
        tasks(),
    )
    .await;
    assert_eq!(foreign["error"]["code"], -32602, "{foreign}");
    // Nobody decides in time.
    gw.advance(chrono::Duration::days(2));
    gw.run_workers().await;
    let failed = call(&gw, "tasks/get", json!({"taskId": task_id}), tasks()).await;
    assert_eq!(failed["result"]["status"], "failed", "{failed}");
    assert_eq!(failed["result"]["error"]["data"]["state"], "expired");
    let cancel = call(&gw, "tasks/cancel", json!({"taskId": task_id}), tasks()).await;
    assert_eq!(cancel["error"]["code"], -32602, "an ended task: {cancel}");
    // Without declaring Tasks, tasks/* is refused with the capability it needs.
    let undeclared = call(&gw, "tasks/get", json!({"taskId": task_id}), json!({})).await;
    assert_eq!(undeclared["error"]["code"], -32021, "{undeclared}");
}

#[tokio::test]
async fn tools_list_gives_the_delegation_request_schema_as_input_and_the_result_as_output() {
    let gw = TestGateway::start().await;
    let listed = call(&gw, "tools/list", json!({}), json!({})).await;
    let tools = listed["result"]["tools"].as_array().expect("tools");
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["request_approval", "get_decision"]);
    let input = &tools[0]["inputSchema"];
    assert_eq!(input["type"], "object");
    let required = input["required"].as_array().unwrap();
    for field in ["schema", "request_id", "action", "chain"] {
        assert!(
            required.iter().any(|r| r == field),
            "{field} in {required:?}"
        );
    }
    assert!(input["$defs"]["DelegationRequest"].is_object());
    assert!(tools[0]["outputSchema"]["properties"]["decision_jws"].is_object());
}

#[tokio::test]
async fn bad_input_gets_the_protocols_error_codes_and_stores_nothing() {
    let gw = TestGateway::start().await;
    // No credentials: 401 with a bearer challenge, as every workflow call.
    let call_body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#;
    let anonymous = post(None, &gw, call_body, "tools/list").await;
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    let stranger = post(Some("cswf_nobody"), &gw, call_body, "tools/list").await;
    assert_eq!(stranger.status(), 401);

    // Not JSON: a parse error.
    let garbled = post(
        Some(WORKFLOW_TOKEN),
        &gw,
        b"{\"jsonrpc\": \"2.0\", ",
        "tools/list",
    )
    .await;
    assert_eq!(garbled.status(), 400);
    let garbled: Value = garbled.json().await.unwrap();
    assert_eq!(garbled["error"]["code"], -32700, "{garbled}");

    // A member named twice (inside the request, where it would be read two ways): refused
    // before anything is read, and nothing stored.
    let request = gw.scenario("supplier-payment");
    let text = serde_json::to_string(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "request_approval", "arguments": request,
                   "_meta": meta(tasks())}}))
    .unwrap();
    let twice = text.replacen(
        "\"request_id\":\"supplier-payment-t\"",
        "\"request_id\":\"supplier-payment-t\",\"request_id\":\"someone-else\"",
        1,
    );
    assert_ne!(twice, text);
    let duplicate = post(Some(WORKFLOW_TOKEN), &gw, twice.as_bytes(), "tools/call").await;
    assert_eq!(duplicate.status(), 400);
    let duplicate: Value = duplicate.json().await.unwrap();
    assert_eq!(duplicate["error"]["code"], -32600, "{duplicate}");
    assert_eq!(
        duplicate["id"], 2,
        "the refusal names the request it refuses"
    );
    assert!(!stored(&gw, "supplier-payment-t").await);
    assert!(!stored(&gw, "someone-else").await);

    // Oversized: 413 before the SDK reads it.
    let huge = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\",\"params\":{{\"pad\":\"{}\"}}}}",
        "x".repeat(3 << 20)
    );
    let oversized = post(Some(WORKFLOW_TOKEN), &gw, huge.as_bytes(), "tools/list").await;
    assert_eq!(oversized.status(), 413);

    // Unknown methods and tools.
    let unknown = call(&gw, "tools/frobnicate", json!({}), json!({})).await;
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    let no_tool = call(
        &gw,
        "tools/call",
        json!({"name": "approve_everything", "arguments": {}}),
        json!({}),
    )
    .await;
    assert_eq!(no_tool["error"]["code"], -32602, "{no_tool}");

    // A DelegationRequest that does not validate: a tool error the caller can read.
    let mut invalid = gw.scenario("supplier-payment");
    invalid.as_object_mut().unwrap().remove("action");
    let refused = request_approval(&gw, &invalid, tasks()).await;
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    let said = refused["result"]["content"][0]["text"].as_str().unwrap();
    assert!(said.starts_with("chain_refused"), "{said}");
    assert!(
        said.contains("MALFORMED") && said.contains("action"),
        "{said}"
    );
    assert!(!stored(&gw, "supplier-payment-t").await);

    // A forged chain: refused with the verifier's report, no task.
    let forged = request_approval(&gw, &gw.scenario("forged-hop"), tasks()).await;
    assert_eq!(forged["result"]["isError"], true, "{forged}");
    assert_eq!(forged["result"]["resultType"], "complete");
    let said = forged["result"]["content"][0]["text"].as_str().unwrap();
    assert!(said.starts_with("chain_refused"), "{said}");
    let body: Value = serde_json::from_str(said.split_once('\n').unwrap().1).unwrap();
    let findings = body["report"]["findings"].as_array().unwrap();
    assert!(!findings.is_empty(), "the report says why: {body}");

    // A requestState that was never issued.
    let made_up = call(
        &gw,
        "tools/call",
        json!({"name": "request_approval", "arguments": gw.scenario("supplier-payment"),
               "requestState": "bm90IGEgc3RhdGU"}),
        json!({"elicitation": {"url": {}}}),
    )
    .await;
    assert_eq!(made_up["error"]["code"], -32602, "{made_up}");
    assert!(
        !stored(&gw, "supplier-payment-t").await,
        "a refused state leaves no request behind"
    );

    // A genuine state is bound to its workflow and its request.
    let first = call(
        &gw,
        "tools/call",
        json!({"name": "request_approval", "arguments": gw.scenario("refund-exception")}),
        json!({"elicitation": {"url": {}}}),
    )
    .await;
    let state = first["result"]["requestState"].as_str().unwrap().to_owned();
    let elsewhere = call(
        &gw,
        "tools/call",
        json!({"name": "request_approval", "arguments": gw.scenario("supplier-payment"),
               "requestState": state}),
        json!({"elicitation": {"url": {}}}),
    )
    .await;
    assert_eq!(elsewhere["error"]["code"], -32602, "{elsewhere}");
    assert!(!stored(&gw, "supplier-payment-t").await);
    let foreign_state = call_as(
        &gw,
        OTHER_WORKFLOW_TOKEN,
        "tools/call",
        json!({"name": "request_approval", "arguments": gw.scenario("refund-exception"),
               "requestState": state}),
        json!({"elicitation": {"url": {}}}),
    )
    .await;
    assert_eq!(foreign_state["error"]["code"], -32602, "{foreign_state}");
    // Five minutes on, it has expired.
    gw.advance(chrono::Duration::minutes(6));
    let late = call(
        &gw,
        "tools/call",
        json!({"name": "request_approval", "arguments": gw.scenario("refund-exception"),
               "requestState": state}),
        json!({"elicitation": {"url": {}}}),
    )
    .await;
    assert_eq!(late["error"]["code"], -32602, "{late}");
    assert!(
        late["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{late}"
    );

    // get_decision of nothing, or of another workflow's request.
    let nothing = call(
        &gw,
        "tools/call",
        json!({"name": "get_decision", "arguments": {}}),
        json!({}),
    )
    .await;
    assert_eq!(nothing["result"]["isError"], true, "{nothing}");
    gw.submit(&gw.scenario("treasury-summary")).await;
    let foreign = call_as(
        &gw,
        OTHER_WORKFLOW_TOKEN,
        "tools/call",
        json!({"name": "get_decision", "arguments": {"request_id": "treasury-summary-t"}}),
        json!({}),
    )
    .await;
    let said = foreign["result"]["content"][0]["text"].as_str().unwrap();
    assert!(said.starts_with("not_found"), "{foreign}");
    let resource = call_as(
        &gw,
        OTHER_WORKFLOW_TOKEN,
        "resources/read",
        json!({"uri": "countersign://request/treasury-summary-t"}),
        json!({}),
    )
    .await;
    assert_eq!(resource["error"]["code"], -32602, "{resource}");
}

#[tokio::test]
async fn the_typescript_mcp_sdk_over_http_polls_to_a_verified_approval() {
    decided_by_polling(Sdk::TypeScript, Transport::Http, "poll", "2025-11-25").await;
}

#[tokio::test]
async fn the_typescript_mcp_sdk_over_stdio_polls_to_a_verified_approval() {
    decided_by_polling(Sdk::TypeScript, Transport::Stdio, "poll", "2025-11-25").await;
}

#[tokio::test]
async fn the_typescript_mcp_client_with_ext_tasks_gets_a_task_that_completes_with_a_verified_approval()
 {
    decided_through_a_task(
        Sdk::TypeScriptModern,
        Transport::Http,
        DecisionKind::Approve,
    )
    .await;
}

#[tokio::test]
async fn the_typescript_mcp_client_over_stdio_gets_a_task_that_completes_with_a_verified_rejection()
{
    decided_through_a_task(
        Sdk::TypeScriptModern,
        Transport::Stdio,
        DecisionKind::Reject,
    )
    .await;
}

/// The 1.32 SDK's only Tasks API is 2025-11-25's experimental one, which a stateless
/// 2026-07-28 server does not serve: it gets the request's state at once and (rightly)
/// refuses to read it as a task. README: use `get_decision` or the 2.x client.
#[tokio::test]
async fn the_typescript_mcp_sdk_1_32_cannot_use_tasks_and_gets_the_pending_state_instead() {
    let gw = TestGateway::start().await;
    let mut client = client(
        Sdk::TypeScript,
        Transport::Http,
        "tasks",
        &gw,
        &gw.scenario("refund-exception"),
    );
    let said = client.next().await;
    assert!(!client.finished().await);
    assert_eq!(said["step"], "unsupported", "{said}");
    assert!(
        said["why"].as_str().unwrap().contains("2025-11-25"),
        "{said}"
    );
    assert_eq!(
        gw.record("refund-exception-t").await.state,
        RequestState::Pending,
        "the request is stored and waits, for get_decision"
    );
}

/// A 2025-11-25 handshake is not offered Tasks (its capabilities are said once, which a
/// stateless server forgets); `server/discover` (2026-07-28) is.
#[tokio::test]
async fn only_the_stateless_revision_is_offered_the_tasks_extension() {
    let gw = TestGateway::start().await;
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "countersign-tests", "version": "1"}}});
    let legacy = http()
        .post(gw.url("/mcp"))
        .bearer_auth(WORKFLOW_TOKEN)
        .header("Accept", "application/json, text/event-stream")
        .json(&initialize)
        .send()
        .await
        .unwrap();
    let legacy: Value = legacy.json().await.unwrap();
    assert_eq!(
        legacy["result"]["protocolVersion"], "2025-11-25",
        "{legacy}"
    );
    assert!(
        legacy["result"]["capabilities"]["extensions"]
            .get("io.modelcontextprotocol/tasks")
            .is_none(),
        "{legacy}"
    );
    assert!(legacy["result"]["capabilities"]["tools"].is_object());
    let discovered = call(&gw, "server/discover", json!({}), json!({})).await;
    assert!(
        discovered["result"]["capabilities"]["extensions"]
            .get("io.modelcontextprotocol/tasks")
            .is_some(),
        "{discovered}"
    );
}
