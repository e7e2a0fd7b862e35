//! Getting outcomes out: long-poll, expiry, live events with resume, webhooks, receipts.

use std::time::Duration as StdDuration;

use chrono::Duration;
use countersign_chain::digest::sha256_digest;
use countersign_chain::{CompactJws, PublicKey};
use countersign_wire::api::{EventKind, RequestState, WebhookDelivery};
use countersign_wire::{DecisionKind, Jwk};
use serde_json::{Value, json};

use countersign_testkit::{AUDIENCE, TestGateway, WORKFLOW_TOKEN, error_code, http, receiver};

#[tokio::test]
async fn a_waiting_workflow_gets_the_decision_when_it_is_made() {
    let gw = TestGateway::start().await;
    gw.submit(&gw.scenario("supplier-payment")).await;
    let record = gw.record("supplier-payment-t").await;
    let client = gw.client.clone();
    let waiter = tokio::spawn(async move {
        client
            .wait_for_decision(WORKFLOW_TOKEN, "supplier-payment-t", 30)
            .await
    });
    tokio::time::sleep(StdDuration::from_millis(200)).await;
    assert!(
        !waiter.is_finished(),
        "the long-poll must wait while the request is pending"
    );
    let jws = gw.decision(
        &gw.reviewer,
        &record,
        DecisionKind::Approve,
        "IBAN matches vendor master",
        &[],
    );
    assert_eq!(
        gw.post_decision(&gw.reviewer, &record.request_id, &jws)
            .await
            .status()
            .as_u16(),
        201
    );
    let outcome = tokio::time::timeout(StdDuration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(outcome.state, RequestState::Approved);
    assert_eq!(outcome.decision_jws.as_deref(), Some(jws.as_str()));
}

#[tokio::test]
async fn a_long_poll_that_runs_out_answers_the_open_state() {
    let gw = TestGateway::start().await;
    gw.submit(&gw.scenario("refund-exception")).await;
    let outcome = gw
        .client
        .wait_for_decision(WORKFLOW_TOKEN, "refund-exception-t", 1)
        .await
        .unwrap();
    assert_eq!(outcome.state, RequestState::Pending);
    assert_eq!(outcome.decision_jws, None);
}

#[tokio::test]
async fn an_overdue_request_expires_fail_closed_and_everyone_is_told() {
    let gw = TestGateway::start().await;
    gw.submit(&gw.scenario("supplier-payment")).await; // expires in 20 minutes
    let record = gw.record("supplier-payment-t").await;
    let snapshot = gw.client.queue(&gw.reviewer).await.unwrap();
    let mut events = gw
        .client
        .events(&gw.reviewer, snapshot.last_event_id)
        .await
        .unwrap();
    let client = gw.client.clone();
    let waiter = tokio::spawn(async move {
        client
            .wait_for_decision(WORKFLOW_TOKEN, "supplier-payment-t", 30)
            .await
    });
    tokio::time::sleep(StdDuration::from_millis(100)).await;

    gw.advance(Duration::minutes(21));
    let event = tokio::time::timeout(StdDuration::from_secs(5), events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (event.kind, event.state),
        (EventKind::RequestExpired, RequestState::Expired)
    );
    let outcome = tokio::time::timeout(StdDuration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (outcome.state, outcome.decision_jws),
        (RequestState::Expired, None)
    );

    // Nothing approves it afterwards.
    let jws = gw.decision(&gw.reviewer, &record, DecisionKind::Approve, "late", &[]);
    let (status, body) = error_code(
        gw.post_decision(&gw.reviewer, &record.request_id, &jws)
            .await,
    )
    .await;
    assert_eq!(
        (
            status,
            body["error"]["code"].as_str(),
            body["error"]["state"].as_str()
        ),
        (409, Some("not_pending"), Some("expired"))
    );
}

#[tokio::test]
async fn a_console_that_reconnects_with_last_event_id_misses_nothing() {
    let gw = TestGateway::start().await;
    gw.submit(&gw.scenario("refund-exception")).await;
    let mut events = gw.client.events(&gw.reviewer, 0).await.unwrap();
    let first = events.next().await.unwrap().unwrap();
    assert_eq!(
        (first.kind, first.request_id.as_str()),
        (EventKind::RequestAdded, "refund-exception-t")
    );
    drop(events); // the console goes away…

    gw.submit(&gw.scenario("supplier-payment")).await;
    gw.submit(&gw.scenario("ghost-export")).await;
    let record = gw.record("refund-exception-t").await;
    let jws = gw.decision(
        &gw.reviewer,
        &record,
        DecisionKind::Reject,
        "customer already refunded by voucher",
        &[],
    );
    gw.post_decision(&gw.reviewer, &record.request_id, &jws)
        .await;

    // …and comes back, resuming after the last event it saw.
    let mut events = gw.client.events(&gw.reviewer, first.id).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let event = tokio::time::timeout(StdDuration::from_secs(5), events.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        seen.push((event.id, event.kind, event.request_id));
    }
    assert_eq!(
        seen,
        vec![
            (
                first.id + 1,
                EventKind::RequestAdded,
                "supplier-payment-t".to_owned()
            ),
            (
                first.id + 2,
                EventKind::RequestEscalated,
                "ghost-export-t".to_owned()
            ),
            (
                first.id + 3,
                EventKind::RequestDecided,
                "refund-exception-t".to_owned()
            ),
        ]
    );
    // And live events keep coming on the same stream.
    gw.submit(&gw.scenario("treasury-summary")).await;
    let live = tokio::time::timeout(StdDuration::from_secs(5), events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (live.id, live.request_id.as_str()),
        (first.id + 4, "treasury-summary-t")
    );
}

#[tokio::test]
async fn a_webhook_receiver_that_is_down_gets_the_signed_decision_once_it_is_back() {
    let gw = TestGateway::start().await;
    let hook = receiver(false).await;
    let mut body = gw.scenario("refund-exception");
    body["callback"] = json!({"url": hook.url});
    body["request_id"] = json!("refund-with-webhook");
    assert_eq!(gw.submit(&body).await.status().as_u16(), 201);
    let record = gw.record("refund-with-webhook").await;
    let jws = gw.decision(
        &gw.reviewer,
        &record,
        DecisionKind::Approve,
        "policy exception applies",
        &[],
    );
    assert_eq!(
        gw.post_decision(&gw.reviewer, &record.request_id, &jws)
            .await
            .status()
            .as_u16(),
        201
    );

    gw.run_workers().await; // the first attempt, to a receiver that is down
    assert!(hook.got.lock().unwrap().is_empty(), "the receiver is down");
    *hook.up.lock().unwrap() = true;
    gw.advance(Duration::seconds(5)); // past the backoff
    gw.run_workers().await;
    assert!(!hook.got.lock().unwrap().is_empty(), "the webhook");

    let (headers, body) = hook.got.lock().unwrap()[0].clone();
    let delivery: WebhookDelivery = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (delivery.state, delivery.decision_jws.as_deref()),
        (RequestState::Approved, Some(jws.as_str()))
    );
    assert_eq!(headers["idempotency-key"], delivery.delivery_id.as_str());
    // The signature header verifies with the gateway's webhook key and binds the body.
    let signature = headers["countersign-signature"]
        .to_str()
        .unwrap()
        .to_owned();
    let parsed = CompactJws::parse(&signature).unwrap();
    let webhook_keys: Vec<Jwk> = gw.client.webhook_keys().await.unwrap();
    let key = webhook_keys
        .iter()
        .map(|j| PublicKey::from_jwk(j).unwrap())
        .find(|k| Some(k.thumbprint()) == parsed.header.kid.as_deref())
        .unwrap();
    assert!(parsed.verify_with(&key));
    // Kept apart from the decision keys: in one set a reviewer could sign a webhook, and
    // the gateway a decision.
    let decision_keys: Vec<Jwk> = gw.client.jwks().await.unwrap();
    assert!(!decision_keys.contains(&webhook_keys[0]));
    let reviewer_key = gw.reviewer.key.public().to_jwk();
    assert!(decision_keys.contains(&reviewer_key));
    assert!(!webhook_keys.contains(&reviewer_key));
    let claims: Value = parsed.claims().unwrap();
    assert_eq!(claims["body_digest"], sha256_digest(body.as_bytes()));
    assert_eq!(
        parsed.header.typ.as_deref(),
        Some("countersign-webhook+jwt")
    );
}

#[tokio::test]
async fn receipts_are_recorded_once_and_only_after_a_decision() {
    let gw = TestGateway::start().await;
    gw.submit(&gw.scenario("refund-exception")).await;
    let receipt = json!({"status": "executed", "executed_at": "2026-11-22T09:05:00Z", "detail": "refund issued"});
    let post = || {
        http()
            .post(gw.url("/v1/requests/refund-exception-t/receipt"))
            .bearer_auth(WORKFLOW_TOKEN)
            .json(&receipt)
            .send()
    };
    let (status, body) = error_code(post().await.unwrap()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("not_pending"))
    );

    let record = gw.record("refund-exception-t").await;
    let jws = gw.decision(
        &gw.reviewer,
        &record,
        DecisionKind::Approve,
        "ok by policy",
        &[],
    );
    gw.post_decision(&gw.reviewer, &record.request_id, &jws)
        .await;
    assert_eq!(post().await.unwrap().status().as_u16(), 201);
    assert_eq!(post().await.unwrap().status().as_u16(), 200);
    let bad = http()
        .post(gw.url("/v1/requests/refund-exception-t/receipt"))
        .bearer_auth(WORKFLOW_TOKEN)
        .json(&json!({"status": "maybe"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
}

#[tokio::test]
async fn a_python_workflow_verifies_the_delivered_decision_against_the_jwks_with_pyjwt() {
    let gw = TestGateway::start().await;
    gw.submit(&gw.scenario("supplier-payment")).await;
    let record = gw.record("supplier-payment-t").await;
    let jws = gw.decision(
        &gw.reviewer,
        &record,
        DecisionKind::Approve,
        "three-way match ok",
        &[],
    );
    gw.post_decision(&gw.reviewer, &record.request_id, &jws)
        .await;
    let outcome = gw
        .client
        .wait_for_decision(WORKFLOW_TOKEN, &record.request_id, 0)
        .await
        .unwrap();

    let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python/verify_decision.py");
    let jwks_url = gw.url("/.well-known/jwks.json");
    let digest = record.report.request_digest.clone().unwrap();
    let jws = outcome.decision_jws.unwrap();
    let output = tokio::task::spawn_blocking(move || {
        countersign_scenarios::python::run(
            &script,
            &[&jwks_url, AUDIENCE, "supplier-payment-t", &digest],
            jws.as_bytes(),
        )
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        output.status.success(),
        "PyJWT refused the decision: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let verified: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(verified["decision"], "approve");
    assert_eq!(verified["iss"], gw.reviewer.identity);
    assert_eq!(verified["kid"], gw.reviewer.key.public().thumbprint());
}

#[tokio::test]
async fn a_graceful_stop_ends_console_streams_instead_of_waiting_for_them() {
    let mut gw = TestGateway::start().await;
    gw.submit(&gw.scenario("refund-exception")).await;
    let mut events = gw.client.events(&gw.reviewer, 0).await.unwrap();
    events.next().await.unwrap().unwrap();
    // With a console subscribed, the stop must still finish (it used to wait for the stream).
    tokio::time::timeout(StdDuration::from_secs(10), gw.stop())
        .await
        .expect("the gateway stops while a console is subscribed");
    let end = tokio::time::timeout(StdDuration::from_secs(5), events.next())
        .await
        .expect("the console sees its stream end");
    assert!(
        !matches!(end, Some(Ok(_))),
        "no event after the stop: {end:?}"
    );
}
