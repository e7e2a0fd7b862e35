//! What a careless or hostile client sends that cannot be read: members named twice, bad
//! query strings and paths, missing credentials, oversized bodies. Each is refused in the
//! envelope of the protocol it was sent in, with a stable code.

use countersign_wire::DecisionKind;
use reqwest::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::{Value, json};

use countersign_testkit::{TestGateway, WORKFLOW_TOKEN, error_code, http};

/// `body` as text with a second member named like the first of `action.arguments`, given
/// first so that a last-wins parser would never see it: the pointer and the text.
fn with_argument_twice(body: &Value) -> (String, String) {
    let name = body["action"]["arguments"]
        .as_object()
        .and_then(|arguments| arguments.keys().next().cloned())
        .expect("the scenario's action has arguments");
    let text = serde_json::to_string(body).unwrap();
    let twice = text.replacen(
        r#""arguments":{"#,
        &format!(r#""arguments":{{"{name}":"something else","#),
        1,
    );
    assert_ne!(twice, text, "the arguments were found in the text");
    (format!("/action/arguments/{name}"), twice)
}

async fn post_text(gw: &TestGateway, path: &str, text: String) -> reqwest::Response {
    http()
        .post(gw.url(path))
        .bearer_auth(WORKFLOW_TOKEN)
        .header(CONTENT_TYPE, "application/json")
        .header("A2A-Version", "1.0")
        .body(text)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_request_with_a_member_named_twice_is_refused_as_malformed_with_its_path() {
    let gw = TestGateway::start().await;
    let body = gw.scenario("refund-exception");
    let (pointer, twice) = with_argument_twice(&body);

    let (status, refused) = error_code(post_text(&gw, "/v1/requests", twice.clone()).await).await;
    assert_eq!(status, 422);
    assert_eq!(refused["error"]["code"], "chain_refused");
    let findings = refused["error"]["report"]["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["code"] == "MALFORMED" && f["detail"].as_str().unwrap().contains(&pointer)),
        "{findings:?}"
    );
    // Over A2A, the same text inside a message is refused before it becomes a task.
    let rpc = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{{"message":{{"messageId":"m-1","role":"ROLE_USER","parts":[{{"mediaType":"application/json","data":{twice}}}]}}}}}}"#
    );
    let answer: Value = post_text(&gw, "/", rpc).await.json().await.unwrap();
    assert_eq!(answer["error"]["code"], -32600, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("/params/message/parts/0/data{pointer}")),
        "{message}"
    );
    // Nothing was admitted: the same request, sent once as I-JSON, is new.
    assert_eq!(gw.submit(&body).await.status(), 201);
}

#[tokio::test]
async fn a_decision_or_a_console_body_with_a_member_named_twice_is_refused() {
    let gw = TestGateway::start().await;
    let body = gw.scenario("refund-exception");
    let id = body["request_id"].as_str().unwrap().to_owned();
    assert_eq!(gw.submit(&body).await.status(), 201);
    let record = gw.record(&id).await;
    let jws = gw.decision(&gw.reviewer, &record, DecisionKind::Reject, "no", &[]);
    let twice = format!(r#"{{"decision_jws":"not a jws","decision_jws":"{jws}"}}"#);
    let (status, refused) = error_code(
        http()
            .post(gw.url(&format!("/v1/requests/{id}/decisions")))
            .bearer_auth(gw.reviewer.token())
            .header(CONTENT_TYPE, "application/json")
            .body(twice)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(refused["error"]["code"], "invalid_body");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/decision_jws"),
        "{refused}"
    );
    // The same decision sent once is accepted: the refusal above was about the duplicate.
    let accepted = gw.post_decision(&gw.reviewer, &id, &jws).await;
    assert_eq!(accepted.status(), 201);
}

#[tokio::test]
async fn bad_query_strings_and_paths_are_typed_rest_errors_after_authentication() {
    let gw = TestGateway::start().await;
    let body = gw.scenario("refund-exception");
    let id = body["request_id"].as_str().unwrap().to_owned();
    assert_eq!(gw.submit(&body).await.status(), 201);
    let get = |path: String, token: String| http().get(gw.url(&path)).bearer_auth(token).send();

    for query in ["wait=abc", "wait=-1", "wait=1.5"] {
        let path = format!("/v1/requests/{id}/decision?{query}");
        let (status, refused) = error_code(get(path, WORKFLOW_TOKEN.into()).await.unwrap()).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(refused["error"]["code"], "invalid_parameter", "{query}");
    }
    let (status, refused) = error_code(
        get("/v1/history?limit=abc".into(), gw.reviewer.token())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, refused["error"]["code"].clone()),
        (400, json!("invalid_parameter"))
    );
    // A path segment that is not UTF-8 once decoded.
    let (status, refused) = error_code(
        get("/v1/requests/%FF/decision".into(), WORKFLOW_TOKEN.into())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, refused["error"]["code"].clone()),
        (400, json!("invalid_parameter"))
    );
    // Without credentials, the same bad path is only a 401: nothing is parsed first.
    let anonymous = http()
        .get(gw.url("/v1/requests/%FF/decision?wait=abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    // The positive control: the same routes with readable parameters answer.
    let waited = get(
        format!("/v1/requests/{id}/decision?wait=0"),
        WORKFLOW_TOKEN.into(),
    )
    .await
    .unwrap();
    assert_eq!(waited.status(), 200);
    let history = get("/v1/history?limit=5".into(), gw.reviewer.token())
        .await
        .unwrap();
    assert_eq!(history.status(), 200);
}

fn challenge(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_401_carries_a_bearer_challenge_and_the_envelope_of_its_protocol() {
    let gw = TestGateway::start().await;
    // REST.
    let rest = http().get(gw.url("/v1/queue")).send().await.unwrap();
    assert_eq!(rest.status(), 401);
    assert!(
        challenge(&rest).starts_with("Bearer "),
        "{:?}",
        rest.headers()
    );
    let body: Value = rest.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthenticated");
    // A2A JSON-RPC: a JSON-RPC error object.
    let rpc = http()
        .post(gw.url("/"))
        .bearer_auth("cswf_not-issued")
        .json(&json!({"jsonrpc": "2.0", "id": 3, "method": "GetTask", "params": {"id": "x"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(rpc.status(), 401);
    assert!(challenge(&rpc).starts_with("Bearer "));
    let body: Value = rpc.json().await.unwrap();
    assert_eq!(body["jsonrpc"], "2.0");
    assert_eq!(body["error"]["code"], -32600, "{body}");
    // A2A HTTP+JSON: a google.rpc.Status.
    let status = http().get(gw.url("/a2a/tasks")).send().await.unwrap();
    assert_eq!(status.status(), 401);
    assert!(challenge(&status).starts_with("Bearer "));
    let body: Value = status.json().await.unwrap();
    assert_eq!(body["error"]["code"], 401);
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED", "{body}");
}

#[tokio::test]
async fn a2a_bindings_answer_oversized_bodies_bad_paths_and_unknown_routes_in_their_envelope() {
    let gw = TestGateway::start().await;
    let huge = format!(r#"{{"pad":"{}"}}"#, "x".repeat(3 << 20));
    // JSON-RPC: 413 with a JSON-RPC error.
    let rpc = post_text(&gw, "/", huge.clone()).await;
    assert_eq!(rpc.status(), 413);
    let body: Value = rpc.json().await.unwrap();
    assert_eq!(body["jsonrpc"], "2.0");
    assert!(body["error"]["code"].is_i64(), "{body}");
    // HTTP+JSON: 413 with a google.rpc.Status.
    let rest = post_text(&gw, "/a2a/message:send", huge).await;
    assert_eq!(rest.status(), 413);
    let body: Value = rest.json().await.unwrap();
    assert_eq!(body["error"]["code"], 413, "{body}");
    assert!(body["error"]["status"].is_string());

    let a2a_get = |path: &str| {
        http()
            .get(gw.url(path))
            .bearer_auth(WORKFLOW_TOKEN)
            .header("A2A-Version", "1.0")
            .send()
    };
    let bad_path = a2a_get("/a2a/tasks/%FF").await.unwrap();
    assert_eq!(bad_path.status(), 400);
    let body: Value = bad_path.json().await.unwrap();
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT", "{body}");
    let bad_query = a2a_get("/a2a/tasks?pageSize=abc").await.unwrap();
    assert_eq!(bad_query.status(), 400);
    let body: Value = bad_query.json().await.unwrap();
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT", "{body}");
    let nowhere = a2a_get("/a2a/nowhere").await.unwrap();
    assert_eq!(nowhere.status(), 404);
    let body: Value = nowhere.json().await.unwrap();
    assert_eq!(body["error"]["status"], "NOT_FOUND", "{body}");
    // Outside the binding, an unknown route stays a REST error.
    let (status, body) = error_code(a2a_get("/v2/nowhere").await.unwrap()).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (404, json!("not_found"))
    );
    // The positive control: the binding's own route, readable, answers.
    assert_eq!(a2a_get("/a2a/tasks").await.unwrap().status(), 200);
}
