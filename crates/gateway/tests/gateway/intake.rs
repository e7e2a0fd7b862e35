//! `POST /v1/requests`: authentication, bad input, routing, idempotency, replay.

use countersign_wire::api::RequestState;
use serde_json::{Value, json};

use countersign_testkit::{OTHER_WORKFLOW_TOKEN, TestGateway, WORKFLOW_TOKEN, error_code, http};

#[tokio::test]
async fn intake_needs_workflow_credentials() {
    let gw = TestGateway::start().await;
    let body = gw.scenario("refund-exception");
    for auth in [
        None,
        Some("cswf_not-issued"),
        Some("not-even-a-workflow-token"),
        Some(gw.reviewer.token().as_str()),
    ] {
        let mut request = http().post(gw.url("/v1/requests")).json(&body);
        if let Some(token) = auth {
            request = request.bearer_auth(token);
        }
        let (status, body) = error_code(request.send().await.unwrap()).await;
        assert_eq!(status, 401, "{auth:?}");
        assert_eq!(body["error"]["code"], "unauthenticated");
    }
}

#[tokio::test]
async fn the_auth_scheme_is_case_insensitive_and_only_bearer_counts() {
    let gw = TestGateway::start().await;
    let submit = |authorization: String, id: &str| {
        let mut body = gw.scenario("refund-exception");
        body["request_id"] = json!(id);
        http()
            .post(gw.url("/v1/requests"))
            .header("authorization", authorization)
            .json(&body)
            .send()
    };
    for (n, scheme) in ["Bearer", "bearer", "BEARER", "bEaReR"]
        .into_iter()
        .enumerate()
    {
        let response = submit(format!("{scheme} {WORKFLOW_TOKEN}"), &format!("case-{n}"))
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{scheme}");
    }
    for authorization in [
        format!("Basic {WORKFLOW_TOKEN}"),
        format!("Bearer{WORKFLOW_TOKEN}"),
        "Bearer ".to_owned(),
        WORKFLOW_TOKEN.to_owned(),
    ] {
        let (status, body) =
            error_code(submit(authorization.clone(), "never").await.unwrap()).await;
        assert_eq!(status, 401, "{authorization}");
        assert_eq!(body["error"]["code"], "unauthenticated");
    }
    // A console call takes its token the same way.
    let me = http()
        .get(gw.url("/v1/me"))
        .header("authorization", format!("bearer {}", gw.reviewer.token()))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
}

#[tokio::test]
async fn client_mistakes_get_typed_4xx_errors_never_500() {
    let gw = TestGateway::start().await;
    let post = |content_type: &'static str, body: Vec<u8>| {
        http()
            .post(gw.url("/v1/requests"))
            .bearer_auth(WORKFLOW_TOKEN)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let (status, body) = error_code(post("text/plain", b"{}".to_vec()).await.unwrap()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
    let (status, body) = error_code(
        post("application/json", b"{\"truncated\": ".to_vec())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_body"))
    );
    let (status, body) =
        error_code(post("application/json", vec![b' '; 3 << 20]).await.unwrap()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("payload_too_large"))
    );
    let (status, body) =
        error_code(post("application/json", b"[1, 2]".to_vec()).await.unwrap()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("chain_refused"))
    );
    assert_eq!(body["error"]["report"]["findings"][0]["code"], "MALFORMED");

    // A callback the gateway would refuse to call (plain http off this machine): nothing is
    // stored.
    let mut cloud_metadata = gw.scenario("refund-exception");
    cloud_metadata["callback"] = json!({"url": "http://169.254.169.254/latest/meta-data"});
    let (status, body) = error_code(gw.submit(&cloud_metadata).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_body"))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("callback.url:")
    );
    let (status, _) = error_code(
        http()
            .get(gw.url("/v1/requests/refund-exception-t"))
            .bearer_auth(gw.reviewer.token())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);

    let (status, body) = error_code(http().get(gw.url("/v1/nowhere")).send().await.unwrap()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, body) =
        error_code(http().delete(gw.url("/v1/requests")).send().await.unwrap()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
}

#[tokio::test]
async fn an_oversized_request_is_refused_with_a_report() {
    let gw = TestGateway::start().await;
    let mut body = gw.scenario("refund-exception");
    body["evidence"][0]["content"] = json!("x".repeat(1_200_000));
    let (status, body) = error_code(gw.submit(&body).await).await;
    assert_eq!(status, 422);
    assert!(
        body["error"]["report"]["findings"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("limit is 1048576")
    );
}

#[tokio::test]
async fn valid_requests_queue_invalid_ones_escalate_forged_ones_are_refused() {
    let gw = TestGateway::start().await;
    for (slug, status, state) in [
        ("refund-exception", 201, "pending"),
        ("treasury-summary", 201, "pending"),
        ("ghost-export", 201, "escalated"),
        ("undelegated-summarizer", 201, "escalated"),
        ("forged-hop", 422, "refused"),
    ] {
        let response = gw.submit(&gw.scenario(slug)).await;
        assert_eq!(response.status().as_u16(), status, "{slug}");
        let body: Value = response.json().await.unwrap();
        if status == 201 {
            assert_eq!(body["state"], state, "{slug}");
            assert!(
                body["report"]["request_digest"]
                    .as_str()
                    .unwrap()
                    .starts_with("sha256:")
            );
        } else {
            assert_eq!(body["error"]["code"], "chain_refused");
            assert_eq!(
                body["error"]["report"]["findings"][0]["code"],
                "UNKNOWN_KEY"
            );
        }
    }
    let queue = gw.client.queue(&gw.reviewer).await.unwrap();
    let mut open: Vec<(String, RequestState)> = queue
        .requests
        .iter()
        .map(|r| (r.request_id.clone(), r.state))
        .collect();
    open.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        open,
        vec![
            ("ghost-export-t".into(), RequestState::Escalated),
            ("refund-exception-t".into(), RequestState::Pending),
            ("treasury-summary-t".into(), RequestState::Pending),
            ("undelegated-summarizer-t".into(), RequestState::Escalated),
        ]
    );
    // The refusal was recorded: the forged request is stored as refused and has an event.
    let forged = gw.record("forged-hop-t").await;
    assert_eq!(forged.state, RequestState::Refused);
    let mut events = gw.client.events(&gw.reviewer, 0).await.unwrap();
    let mut kinds = Vec::new();
    for _ in 0..5 {
        kinds.push(
            events
                .next()
                .await
                .unwrap()
                .unwrap()
                .kind
                .as_str()
                .to_owned(),
        );
    }
    assert_eq!(
        kinds,
        [
            "request_added",
            "request_added",
            "request_escalated",
            "request_escalated",
            "request_refused"
        ]
    );
}

#[tokio::test]
async fn resubmitting_is_idempotent_and_a_different_body_conflicts_without_changing_anything() {
    let gw = TestGateway::start().await;
    let body = gw.scenario("refund-exception");
    let first: Value = gw.submit(&body).await.json().await.unwrap();
    let again = gw.submit(&body).await;
    assert_eq!(again.status().as_u16(), 201);
    assert_eq!(again.json::<Value>().await.unwrap(), first);

    let mut changed = body.clone();
    changed["action"]["summary"] = json!("Refund 9,999 EUR");
    let (status, error) = error_code(gw.submit(&changed).await).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (409, Some("request_id_conflict"))
    );
    let stored = gw.record("refund-exception-t").await;
    assert_eq!(
        stored.request, body,
        "the stored request must be the original"
    );

    // A refused request answers the same refusal again.
    let forged = gw.scenario("forged-hop");
    let (s1, b1) = error_code(gw.submit(&forged).await).await;
    let (s2, b2) = error_code(gw.submit(&forged).await).await;
    assert_eq!((s1, &b1), (s2, &b2));
    assert_eq!(s1, 422);
}

#[tokio::test]
async fn a_hop_reused_from_another_request_is_a_replay_and_escalates() {
    let gw = TestGateway::start().await;
    let original = gw.scenario("supplier-payment");
    assert_eq!(gw.submit(&original).await.status().as_u16(), 201);
    let mut replay = original.clone();
    replay["request_id"] = json!("supplier-payment-again");
    let body: Value = gw.submit(&replay).await.json().await.unwrap();
    assert_eq!(body["state"], "escalated");
    let codes: Vec<(&str, i64)> = body["report"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["code"].as_str().unwrap(), f["hop"].as_i64().unwrap()))
        .collect();
    assert_eq!(codes, [("REPLAYED_JTI", 0), ("REPLAYED_JTI", 1)]);
    assert!(
        body["report"]["findings"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("supplier-payment-t")
    );
}

#[tokio::test]
async fn workflows_only_see_their_own_requests() {
    let gw = TestGateway::start().await;
    gw.submit(&gw.scenario("refund-exception")).await;
    let ask = |token: &'static str| {
        http()
            .get(gw.url("/v1/requests/refund-exception-t/decision"))
            .bearer_auth(token)
            .send()
    };
    // The control: the submitting workflow sees it under this very URL.
    let own = ask(WORKFLOW_TOKEN).await.unwrap();
    assert_eq!(own.status().as_u16(), 200);
    let other = ask(OTHER_WORKFLOW_TOKEN).await.unwrap();
    assert_eq!(other.status().as_u16(), 404);
    let body: Value = other.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found", "{body}");
}

#[tokio::test]
async fn a_graceful_restart_keeps_the_queue_and_keeps_serving() {
    let mut gw = TestGateway::start().await;
    gw.submit(&gw.scenario("refund-exception")).await;
    gw.restart().await;
    assert_eq!(
        gw.record("refund-exception-t").await.state,
        RequestState::Pending
    );
    assert_eq!(
        gw.submit(&gw.scenario("supplier-payment"))
            .await
            .status()
            .as_u16(),
        201
    );
    assert_eq!(
        gw.client.queue(&gw.reviewer).await.unwrap().requests.len(),
        2
    );
    gw.stop().await;
}

/// A request the verifier cannot digest (an integer beyond what every JSON reader agrees on)
/// is refused; its id, reused with another such body, is a conflict, not a duplicate.
#[tokio::test]
async fn a_refused_requests_id_reused_with_another_body_is_a_conflict() {
    let gw = TestGateway::start().await;
    let with_amount = |amount: u64| {
        let mut body = gw.scenario("refund-exception");
        body["request_id"] = json!("refused-then-reused");
        body["action"]["arguments"]["amount"] = json!(amount);
        body
    };
    let first = gw.submit(&with_amount(1 << 60)).await;
    let (status, body) = error_code(first).await;
    assert_eq!(status, 422, "{body}");
    // The same body again gets the same answer.
    let (again, _) = error_code(gw.submit(&with_amount(1 << 60)).await).await;
    assert_eq!(again, 422);
    let (status, body) = error_code(gw.submit(&with_amount(1 << 61)).await).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "request_id_conflict");
}

#[tokio::test]
async fn another_workflows_request_id_is_answered_as_any_used_id_and_its_request_stays_hidden() {
    let gw = TestGateway::start().await;
    let body = gw.scenario("refund-exception");
    let id = body["request_id"].as_str().unwrap().to_owned();
    assert_eq!(gw.submit(&body).await.status(), 201);
    let submit_as = |token: &'static str, body: Value| {
        http()
            .post(gw.url("/v1/requests"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    // The owner, resending another body under its id, is told the id is used.
    let mut changed = body.clone();
    changed["purpose"]["text"] = json!("something else");
    let (status, own) = error_code(submit_as(WORKFLOW_TOKEN, changed).await.unwrap()).await;
    assert_eq!(status, 409);
    // Another workflow, sending the very same body, is told exactly that too: not the
    // request's state or report, which the owner's duplicate would get.
    let (status, other) =
        error_code(submit_as(OTHER_WORKFLOW_TOKEN, body.clone()).await.unwrap()).await;
    assert_eq!(status, 409);
    assert_eq!(other, own);
    assert_eq!(other["error"]["code"], "request_id_conflict");
    assert!(other["error"].get("report").is_none(), "{other}");
    // Over A2A likewise.
    let rpc = json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {
        "messageId": "m-1", "role": "ROLE_USER",
        "parts": [{"data": body, "mediaType": "application/json"}]}}});
    let answer: Value = http()
        .post(gw.url("/"))
        .bearer_auth(OTHER_WORKFLOW_TOKEN)
        .header("A2A-Version", "1.0")
        .json(&rpc)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        answer["error"]["message"], own["error"]["message"],
        "{answer}"
    );
    // The positive control: the owner's own resend of the same body is the stored request.
    let again = submit_as(WORKFLOW_TOKEN, body).await.unwrap();
    assert_eq!(again.status(), 201);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["request_id"], id.as_str());
}

#[tokio::test]
async fn a_party_added_to_the_trust_store_is_trusted_without_a_restart_and_a_broken_file_changes_nothing()
 {
    use countersign_gateway::trust::add_party;
    use countersign_scenarios::demo::demo;
    use countersign_wire::TrustStore;

    let gw = TestGateway::start().await;
    let running = gw.gateway.as_ref().expect("running");
    let refund = |run: &str| {
        demo(gw.clock_now(), run)
            .scenarios
            .into_iter()
            .find(|s| s.slug == "refund-exception")
            .expect("the scenario")
            .request
    };
    // Without agent:refund-policy, the hop it signed names a key nobody trusts.
    let mut trust: TrustStore =
        serde_json::from_slice(&std::fs::read(&gw.config.trust).unwrap()).unwrap();
    let policy_agent = trust
        .parties
        .remove("agent:refund-policy")
        .expect("in the demo");
    std::fs::write(&gw.config.trust, serde_json::to_vec(&trust).unwrap()).unwrap();
    running.reload_trust().unwrap();
    let (status, body) = error_code(gw.submit(&refund("before")).await).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("UNKNOWN_KEY"), "{body}");

    // The operator adds it (as `countersign-gateway trust add` does); no restart.
    assert!(!add_party(&gw.config.trust, "agent:refund-policy", policy_agent).unwrap());
    running.reload_trust().unwrap();
    assert_eq!(gw.submit(&refund("after")).await.status().as_u16(), 201);
    let served: TrustStore = http()
        .get(gw.url("/v1/trust"))
        .bearer_auth(gw.reviewer.token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        served.parties.contains_key("agent:refund-policy"),
        "consoles get it too"
    );

    // A broken file is refused, and the trust in force stays.
    std::fs::write(&gw.config.trust, b"{\"parties\": ").unwrap();
    assert!(running.reload_trust().is_err());
    assert_eq!(gw.submit(&refund("broken")).await.status().as_u16(), 201);
    // A party with an unusable key is refused before the file is touched.
    let bad = countersign_wire::Party {
        kind: countersign_wire::PartyKind::Agent,
        display_name: "Bad".into(),
        keys: vec![countersign_wire::Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: "c2hvcnQ".into(),
            kid: None,
        }],
    };
    std::fs::write(&gw.config.trust, serde_json::to_vec(&trust).unwrap()).unwrap();
    let before = std::fs::read(&gw.config.trust).unwrap();
    assert!(add_party(&gw.config.trust, "agent:bad", bad).is_err());
    assert_eq!(std::fs::read(&gw.config.trust).unwrap(), before);
}
