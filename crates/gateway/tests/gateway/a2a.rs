//! The gateway as an A2A 1.0 agent over JSON-RPC: the card, a task per request that waits in
//! AUTH_REQUIRED and ends with the signed decision, cancel, list, streaming, and the errors.

use countersign_client::verify_decision;
use countersign_wire::DecisionKind;
use countersign_wire::api::RequestState;
use futures_util::StreamExt as _;
use serde_json::{Value, json};

use crate::support::{AUDIENCE, OTHER_WORKFLOW_TOKEN, TestGateway, WORKFLOW_TOKEN, http};

async fn rpc_as(gw: &TestGateway, token: &str, method: &str, params: Value) -> Value {
    http()
        .post(gw.url("/"))
        .bearer_auth(token)
        .header("A2A-Version", "1.0")
        .json(&json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn rpc(gw: &TestGateway, method: &str, params: Value) -> Value {
    rpc_as(gw, WORKFLOW_TOKEN, method, params).await
}

fn message(request: &Value) -> Value {
    json!({"message": {"messageId": "m-1", "role": "ROLE_USER",
        "parts": [{"data": request, "mediaType": "application/json"}]}})
}

fn decision_artifact(task: &Value) -> &Value {
    let artifacts = task["artifacts"].as_array().expect("artifacts");
    let decision = artifacts
        .iter()
        .find(|a| a["name"] == "decision")
        .expect("decision artifact");
    &decision["parts"][0]["data"]
}

#[tokio::test]
async fn the_agent_card_is_public_and_says_how_to_ask_for_approval() {
    let gw = TestGateway::start().await;
    let response = http()
        .get(gw.url("/.well-known/agent-card.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    assert!(response.headers().contains_key("etag"));
    let card: Value = response.json().await.unwrap();
    assert_eq!(card["supportedInterfaces"][0]["protocolBinding"], "JSONRPC");
    assert_eq!(card["supportedInterfaces"][0]["protocolVersion"], "1.0");
    assert_eq!(card["capabilities"]["streaming"], true);
    let extension = &card["capabilities"]["extensions"][0];
    assert_eq!(extension["required"], false);
    assert_eq!(
        extension["params"]["requestSchema"],
        "countersign.request/v1"
    );
    assert_eq!(
        card["securitySchemes"]["workflowBearer"]["httpAuthSecurityScheme"]["scheme"],
        "Bearer"
    );
    assert_eq!(card["skills"][0]["id"], "human-approval");
    assert!(
        card["securityRequirements"][0]["schemes"]["workflowBearer"].is_object(),
        "{card}"
    );
}

#[tokio::test]
async fn a_task_waits_for_a_person_and_completes_with_a_decision_the_client_verifies() {
    let gw = TestGateway::start().await;
    let request = gw.scenario("refund-exception");
    let sent = rpc(&gw, "SendMessage", message(&request)).await;
    let task = &sent["result"]["task"];
    assert_eq!(
        task["status"]["state"], "TASK_STATE_AUTH_REQUIRED",
        "{sent}"
    );
    assert!(
        task["status"]["message"]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .contains("reviewer")
    );
    let task_id = task["id"].as_str().unwrap().to_owned();

    // The same record as REST: consoles see it, and a reviewer decides it there.
    assert_eq!(
        gw.record("refund-exception-t").await.state,
        RequestState::Pending
    );
    let (status, _) = gw
        .decide_as(
            &gw.reviewer,
            "refund-exception-t",
            DecisionKind::Approve,
            "Late delivery confirmed",
        )
        .await;
    assert_eq!(status, 201);
    let record = gw.record("refund-exception-t").await;

    let got = rpc(&gw, "GetTask", json!({"id": task_id})).await;
    let task = &got["result"];
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{got}");
    let decision = decision_artifact(task);
    assert_eq!(decision["decision"], "approve");
    let jwks = gw.client.jwks().await.unwrap();
    let claims = verify_decision(
        decision["decisionJws"].as_str().unwrap(),
        &jwks,
        AUDIENCE,
        "refund-exception-t",
        record.report.request_digest.as_deref().unwrap(),
        gw.clock_now(),
    )
    .unwrap();
    assert_eq!(claims.iss, "user:rita.reviewer");

    // Sending the same request again gives the same task.
    let again = rpc(&gw, "SendMessage", message(&request)).await;
    assert_eq!(again["result"]["task"]["id"], task_id);
}

#[tokio::test]
async fn rejections_and_refused_chains_end_rejected_with_the_decision_or_the_report() {
    let gw = TestGateway::start().await;
    let sent = rpc(
        &gw,
        "SendMessage",
        message(&gw.scenario("supplier-payment")),
    )
    .await;
    let task_id = sent["result"]["task"]["id"].as_str().unwrap().to_owned();
    let (status, jws) = gw
        .decide_as(
            &gw.reviewer,
            "supplier-payment-t",
            DecisionKind::Reject,
            "Bank details changed yesterday",
        )
        .await;
    assert_eq!(status, 201);
    let got = rpc(&gw, "GetTask", json!({"id": task_id})).await;
    assert_eq!(got["result"]["status"]["state"], "TASK_STATE_REJECTED");
    assert_eq!(decision_artifact(&got["result"])["decisionJws"], jws);

    let forged = rpc(&gw, "SendMessage", message(&gw.scenario("forged-hop"))).await;
    let task = &forged["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_REJECTED", "{forged}");
    let report = &task["artifacts"][0];
    assert_eq!(report["name"], "verification-report");
    assert_eq!(report["parts"][0]["data"]["verdict"], "invalid");
}

#[tokio::test]
async fn cancel_withdraws_a_pending_request_and_tasks_are_listed_per_workflow() {
    let gw = TestGateway::start().await;
    let sent = rpc(
        &gw,
        "SendMessage",
        message(&gw.scenario("treasury-summary")),
    )
    .await;
    let task_id = sent["result"]["task"]["id"].as_str().unwrap().to_owned();
    let canceled = rpc(&gw, "CancelTask", json!({"id": task_id})).await;
    assert_eq!(
        canceled["result"]["status"]["state"], "TASK_STATE_CANCELED",
        "{canceled}"
    );
    // Idempotent; the REST side sees it withdrawn, and no reviewer can approve it any more.
    let again = rpc(&gw, "CancelTask", json!({"id": task_id})).await;
    assert_eq!(again["result"]["status"]["state"], "TASK_STATE_CANCELED");
    let outcome = gw
        .client
        .wait_for_decision(WORKFLOW_TOKEN, "treasury-summary-t", 0)
        .await
        .unwrap();
    assert_eq!(outcome.state, RequestState::Withdrawn);

    let listed = rpc(&gw, "ListTasks", json!({})).await;
    assert_eq!(
        listed["result"]["tasks"].as_array().unwrap().len(),
        1,
        "{listed}"
    );
    let others = rpc_as(&gw, OTHER_WORKFLOW_TOKEN, "ListTasks", json!({})).await;
    assert_eq!(others["result"]["tasks"].as_array().unwrap().len(), 0);
    let hidden = rpc_as(&gw, OTHER_WORKFLOW_TOKEN, "GetTask", json!({"id": task_id})).await;
    assert_eq!(hidden["error"]["code"], -32001);

    // A decided task cannot be cancelled.
    let sent = rpc(
        &gw,
        "SendMessage",
        message(&gw.scenario("refund-exception")),
    )
    .await;
    let decided_id = sent["result"]["task"]["id"].as_str().unwrap().to_owned();
    gw.decide_as(
        &gw.reviewer,
        "refund-exception-t",
        DecisionKind::Reject,
        "No",
    )
    .await;
    let refused = rpc(&gw, "CancelTask", json!({"id": decided_id})).await;
    assert_eq!(refused["error"]["code"], -32002, "{refused}");
}

#[tokio::test]
async fn protocol_errors_are_json_rpc_errors_with_a2a_codes() {
    let gw = TestGateway::start().await;
    let no_version: Value = http()
        .post(gw.url("/"))
        .bearer_auth(WORKFLOW_TOKEN)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "x"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        no_version["error"]["code"], -32009,
        "missing A2A-Version means 0.3"
    );
    assert_eq!(
        rpc(&gw, "message/send", json!({})).await["error"]["code"],
        -32601
    );
    assert_eq!(
        rpc(&gw, "GetTask", json!({"nope": 1})).await["error"]["code"],
        -32602
    );
    assert_eq!(
        rpc(&gw, "GetTask", json!({"id": "missing"})).await["error"]["code"],
        -32001
    );
    // Not a request: the agent answers with a message saying what it takes.
    let not_a_request = rpc(&gw, "SendMessage", message(&json!({"hello": "world"}))).await;
    let reply = &not_a_request["result"]["message"];
    assert_eq!(reply["role"], "ROLE_AGENT", "{not_a_request}");
    assert!(
        reply["parts"][0]["text"]
            .as_str()
            .unwrap()
            .contains("DelegationRequest")
    );
    let xml = rpc(
        &gw,
        "SendMessage",
        json!({"message": {"messageId": "m-3", "role": "ROLE_USER",
            "parts": [{"text": "<a/>", "mediaType": "application/xml"}]}}),
    )
    .await;
    assert_eq!(xml["error"]["code"], -32005, "{xml}");
    assert_eq!(
        rpc(&gw, "CreateTaskPushNotificationConfig", json!({})).await["error"]["code"],
        -32003
    );
    let garbage: Value = http()
        .post(gw.url("/"))
        .bearer_auth(WORKFLOW_TOKEN)
        .header("A2A-Version", "1.0")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(garbage["error"]["code"], -32700);
    let anonymous = http()
        .post(gw.url("/"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
}

#[tokio::test]
async fn a_stream_starts_with_the_task_stays_open_while_a_person_decides_and_ends_completed() {
    let gw = TestGateway::start().await;
    let response = http()
        .post(gw.url("/"))
        .bearer_auth(WORKFLOW_TOKEN)
        .header("A2A-Version", "1.0")
        .json(
            &json!({"jsonrpc": "2.0", "id": "s1", "method": "SendStreamingMessage",
            "params": message(&gw.scenario("refund-exception"))}),
        )
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut body = response.bytes_stream();
    let mut text = String::new();
    let mut frames: Vec<Value> = Vec::new();
    let mut decided = false;
    while let Some(chunk) = tokio::time::timeout(std::time::Duration::from_secs(10), body.next())
        .await
        .expect("the stream stalled")
    {
        text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = text.find("\n\n") {
            let frame: String = text.drain(..end + 2).collect();
            if let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data:")) {
                frames.push(serde_json::from_str(data.trim()).unwrap());
            }
        }
        if !decided && !frames.is_empty() {
            decided = true;
            gw.decide_as(
                &gw.reviewer,
                "refund-exception-t",
                DecisionKind::Approve,
                "Confirmed",
            )
            .await;
        }
    }
    assert_eq!(frames[0]["id"], "s1");
    assert_eq!(
        frames[0]["result"]["task"]["status"]["state"],
        "TASK_STATE_AUTH_REQUIRED"
    );
    let artifact = frames
        .iter()
        .find_map(|f| f["result"].get("artifactUpdate"))
        .expect("artifact");
    assert_eq!(artifact["artifact"]["name"], "decision");
    let last = frames.last().unwrap();
    assert_eq!(
        last["result"]["statusUpdate"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
}

/// The official A2A SDKs, as unmodified clients.
#[derive(Clone, Copy)]
enum Sdk {
    /// `a2a-sdk` from PyPI, in the project's `.venv`.
    Python,
    /// `@a2a-js/sdk` from npm, in `tests/node/node_modules` (scripts/setup.sh installs it).
    JavaScript,
}

/// Runs an SDK's client script; returns its JSON lines as they come.
fn sdk_client(
    sdk: Sdk,
    gw: &TestGateway,
    request: &Value,
    mode: &str,
) -> (
    std::process::Child,
    std::sync::mpsc::Receiver<Value>,
    tempfile::TempDir,
) {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("request.json");
    std::fs::write(&path, serde_json::to_vec(request).unwrap()).unwrap();
    let tests = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut command = match sdk {
        Sdk::Python => {
            let mut c =
                std::process::Command::new(countersign_scenarios::python::interpreter().unwrap());
            c.arg(tests.join("python/a2a_client.py"));
            c
        }
        Sdk::JavaScript => {
            assert!(
                tests.join("node/node_modules/@a2a-js/sdk").is_dir(),
                "@a2a-js/sdk is not installed: run scripts/setup.sh"
            );
            let mut c = std::process::Command::new("node");
            c.arg(tests.join("node/a2a_client.mjs"));
            c
        }
    };
    let mut child = command
        .arg(gw.url(""))
        .arg(WORKFLOW_TOKEN)
        .arg(&path)
        .arg(mode)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Ok(value) = serde_json::from_str::<Value>(&line) {
                let _ = tx.send(value);
            }
        }
    });
    (child, rx, dir)
}

fn next_line(rx: &std::sync::mpsc::Receiver<Value>) -> Value {
    rx.recv_timeout(std::time::Duration::from_secs(30))
        .expect("the Python client said nothing")
}

/// Submit, stream to AUTH_REQUIRED, a reviewer decides, COMPLETED with a decision that
/// verifies against the JWKS; then another request cancelled from AUTH_REQUIRED.
async fn sdk_flow(sdk: Sdk) {
    let gw = TestGateway::start().await;
    let (mut child, rx, _dir) = sdk_client(sdk, &gw, &gw.scenario("refund-exception"), "approve");
    let waiting = tokio::task::spawn_blocking(move || (next_line(&rx), rx))
        .await
        .unwrap();
    assert_eq!(waiting.0["step"], "auth_required", "{}", waiting.0);
    let (status, _) = gw
        .decide_as(
            &gw.reviewer,
            "refund-exception-t",
            DecisionKind::Approve,
            "Checked with the carrier",
        )
        .await;
    assert_eq!(status, 201);
    let record = gw.record("refund-exception-t").await;
    let rx = waiting.1;
    let done = tokio::task::spawn_blocking(move || next_line(&rx))
        .await
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(done["state"], "TASK_STATE_COMPLETED", "{done}");
    let decision = &done["artifacts"][0]["data"][0];
    let jwks = gw.client.jwks().await.unwrap();
    verify_decision(
        decision["decisionJws"].as_str().unwrap(),
        &jwks,
        AUDIENCE,
        "refund-exception-t",
        record.report.request_digest.as_deref().unwrap(),
        gw.clock_now(),
    )
    .unwrap();

    let (mut child, rx, _dir) = sdk_client(sdk, &gw, &gw.scenario("supplier-payment"), "cancel");
    let lines = tokio::task::spawn_blocking(move || (next_line(&rx), next_line(&rx)))
        .await
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(lines.0["step"], "auth_required");
    assert_eq!(lines.1["state"], "TASK_STATE_CANCELED", "{}", lines.1);
    let outcome = gw
        .client
        .wait_for_decision(WORKFLOW_TOKEN, "supplier-payment-t", 0)
        .await
        .unwrap();
    assert_eq!(outcome.state, RequestState::Withdrawn);
}

#[tokio::test]
async fn the_python_a2a_sdk_client_gets_a_decision_it_can_verify_and_can_cancel() {
    sdk_flow(Sdk::Python).await;
}

#[tokio::test]
async fn the_javascript_a2a_sdk_client_gets_a_decision_it_can_verify_and_can_cancel() {
    sdk_flow(Sdk::JavaScript).await;
}
