//! `kill -9` of the real gateway binary under load, then a restart: every request and
//! decision it acknowledged is still there, and the webhook outbox resumes.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use chrono::Utc;
use countersign_chain::SigningKeyPair;
use countersign_client::{ConsoleIdentity, GatewayClient, Submitted};
use countersign_review::decision_claims;
use countersign_scenarios::demo::demo;
use countersign_wire::api::{RequestState, WebhookDelivery};
use countersign_wire::{DECISION_TYP, DecisionKind};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_countersign-gateway");

fn admin(dir: &std::path::Path, args: &[&str]) -> String {
    let output = Command::new(BIN)
        .args(args)
        .arg("--database")
        .arg(dir.join("gw.db"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn serve(dir: &std::path::Path) -> (Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--audience",
            "crash-test",
        ])
        .arg("--database")
        .arg(dir.join("gw.db"))
        .arg("--trust")
        .arg(dir.join("trust.json"))
        .arg("--key")
        .arg(dir.join("gateway-key.pem"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (child, format!("http://127.0.0.1:{port}"))
}

async fn wait_until_up(url: &str) {
    for _ in 0..200 {
        if reqwest::get(format!("{url}/.well-known/jwks.json"))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("gateway did not start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_acknowledged_is_lost_when_the_gateway_is_killed_and_the_outbox_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc::now();
    std::fs::write(
        dir.path().join("trust.json"),
        serde_json::to_vec(&demo(now, "x").trust_store()).unwrap(),
    )
    .unwrap();
    let token = admin(dir.path(), &["workflow", "add", "load"]);
    let reviewer = ConsoleIdentity::new(
        "user:rita.reviewer",
        SigningKeyPair::from_seed([5; 32]),
        "crash-test",
    );
    let jwk = serde_json::to_string(&reviewer.key.public().to_jwk()).unwrap();
    admin(
        dir.path(),
        &[
            "reviewer",
            "enrol",
            "--identity",
            &reviewer.identity,
            "--name",
            "Rita",
            "--jwk",
            &jwk,
        ],
    );

    // A webhook receiver that stays down until after the restart.
    let up = Arc::new(Mutex::new(false));
    let got: Arc<Mutex<Vec<WebhookDelivery>>> = Arc::default();
    let (up2, got2) = (up.clone(), got.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let (up, got) = (up2.clone(), got2.clone());
            async move {
                if !*up.lock().unwrap() {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                got.lock()
                    .unwrap()
                    .push(serde_json::from_str(&body).unwrap());
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let (mut child, url) = serve(dir.path());
    wait_until_up(&url).await;
    let client = GatewayClient::new(&url);

    // Load: requests (some with webhooks) and decisions, acknowledged ones recorded.
    let acknowledged: Arc<Mutex<BTreeMap<String, RequestState>>> = Arc::default();
    let decided: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut load = Vec::new();
    for run in 0..30 {
        let (client, token, acknowledged, decided, hook) = (
            client.clone(),
            token.clone(),
            acknowledged.clone(),
            decided.clone(),
            hook.clone(),
        );
        let reviewer = ConsoleIdentity::new(
            "user:rita.reviewer",
            SigningKeyPair::from_seed([5; 32]),
            "crash-test",
        );
        load.push(tokio::spawn(async move {
            for mut scenario in demo(now, &format!("run{run}")).scenarios {
                if scenario.slug == "refund-exception" {
                    scenario.request["callback"] = json!({"url": hook});
                }
                let body = serde_json::to_vec(&scenario.request).unwrap();
                let Ok(submitted) = client.submit(&token, &body).await else {
                    return;
                };
                let Submitted::Accepted(accepted) = submitted else {
                    continue;
                };
                acknowledged
                    .lock()
                    .unwrap()
                    .insert(accepted.request_id.clone(), accepted.state);
                if accepted.state != RequestState::Pending || scenario.slug == "treasury-summary" {
                    continue;
                }
                let Ok(record) = client.request(&reviewer, &accepted.request_id).await else {
                    return;
                };
                let claims = decision_claims(
                    &record,
                    &reviewer.identity,
                    "crash-test",
                    DecisionKind::Approve,
                    "checked",
                    vec![],
                    Utc::now(),
                    &uuid::Uuid::new_v4().to_string(),
                );
                let jws = reviewer.key.sign_jws(DECISION_TYP, &claims).unwrap();
                if client
                    .decide(&reviewer, &accepted.request_id, &jws)
                    .await
                    .is_ok()
                {
                    decided.lock().unwrap().push(accepted.request_id);
                }
            }
        }));
    }
    // Kill without warning once some, not all, of the work is acknowledged.
    for _ in 0..400 {
        if acknowledged.lock().unwrap().len() >= 40 && decided.lock().unwrap().len() >= 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for task in load {
        let _ = task.await;
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let decided = decided.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 40 && decided.len() >= 10,
        "load too small: {} requests, {} decisions",
        acknowledged.len(),
        decided.len()
    );

    // Restart: everything acknowledged is there; decisions are final.
    *up.lock().unwrap() = true;
    let (mut child, url) = serve(dir.path());
    wait_until_up(&url).await;
    let client = GatewayClient::new(&url);
    for (request_id, state) in &acknowledged {
        let record = client
            .request(&reviewer, request_id)
            .await
            .unwrap_or_else(|e| panic!("{request_id} lost: {e}"));
        if decided.contains(request_id) {
            assert_eq!(record.state, RequestState::Approved, "{request_id}");
            assert!(record.decision.is_some(), "{request_id} lost its decision");
        } else {
            assert!(
                record.state == *state || record.state == RequestState::Approved,
                "{request_id}: {:?} then {:?}",
                state,
                record.state
            );
        }
    }
    // Every approved request with a callback gets its webhook after the restart.
    let mut expected: Vec<String> = Vec::new();
    for request_id in acknowledged
        .keys()
        .filter(|id| id.starts_with("refund-exception"))
    {
        if client.request(&reviewer, request_id).await.unwrap().state == RequestState::Approved {
            expected.push(request_id.clone());
        }
    }
    assert!(
        !expected.is_empty(),
        "the load should have approved some webhook requests"
    );
    for _ in 0..200 {
        let delivered: Vec<String> = got
            .lock()
            .unwrap()
            .iter()
            .map(|d| d.request_id.clone())
            .collect();
        if expected.iter().all(|id| delivered.contains(id)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delivered: Vec<String> = got
        .lock()
        .unwrap()
        .iter()
        .map(|d| d.request_id.clone())
        .collect();
    for id in &expected {
        assert!(
            delivered.contains(id),
            "webhook for {id} was never delivered after the restart"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();

    // The audit log survived both kills: every sealed entry still matches its event and every
    // signed checkpoint its entries.
    let key = dir.path().join("gateway-key.pem");
    let report: serde_json::Value = serde_json::from_str(&admin(
        dir.path(),
        &[
            "audit",
            "verify",
            "--audience",
            "crash-test",
            "--key",
            key.to_str().unwrap(),
        ],
    ))
    .unwrap();
    assert_eq!(report["problems"], serde_json::json!([]), "{report}");
    assert!(
        report["entries"].as_u64().unwrap() >= expected.len() as u64,
        "{report}"
    );
}
