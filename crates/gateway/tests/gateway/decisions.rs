//! `POST /v1/requests/{id}/decisions`: every reason a decision is refused, and the ones that
//! are accepted.

use chrono::Duration;
use countersign_chain::digest::decision_subject;
use countersign_client::verify_decision;
use countersign_review::decision_claims;
use countersign_wire::api::RequestState;
use countersign_wire::{DECISION_TYP, DecisionKind, HOP_TYP};
use serde_json::Value;

use countersign_testkit::{
    AUDIENCE, OTHER_WORKFLOW_TOKEN, TestGateway, WORKFLOW_TOKEN, error_code, http, unique_jti,
};

async fn submitted(gw: &TestGateway, slug: &str) -> countersign_wire::api::RequestRecord {
    let response = gw.submit(&gw.scenario(slug)).await;
    assert_eq!(response.status().as_u16(), 201);
    gw.record(&format!("{slug}-t")).await
}

async fn refused(response: reqwest::Response, status: u16, code: &str) -> Value {
    let (got_status, body) = error_code(response).await;
    assert_eq!(
        (got_status, body["error"]["code"].as_str().unwrap()),
        (status, code),
        "{body}"
    );
    body
}

#[tokio::test]
async fn an_approval_is_accepted_once_and_the_workflow_verifies_it() {
    let gw = TestGateway::start().await;
    let record = submitted(&gw, "refund-exception").await;
    let jws = gw.decision(
        &gw.reviewer,
        &record,
        DecisionKind::Approve,
        "Late delivery confirmed; policy exception applies",
        &[],
    );
    let response = gw
        .post_decision(&gw.reviewer, &record.request_id, &jws)
        .await;
    assert_eq!(response.status().as_u16(), 201);

    let outcome = gw
        .client
        .wait_for_decision(WORKFLOW_TOKEN, &record.request_id, 0)
        .await
        .unwrap();
    assert_eq!(outcome.state, RequestState::Approved);
    let jwks = gw.client.jwks().await.unwrap();
    let claims = verify_decision(
        outcome.decision_jws.as_deref().unwrap(),
        &jwks,
        AUDIENCE,
        &decision_subject(&record.request).unwrap(),
        gw.clock_now(),
    )
    .unwrap();
    assert_eq!(claims.iss, gw.reviewer.identity);

    // The same JWS again: single use.
    refused(
        gw.post_decision(&gw.reviewer, &record.request_id, &jws)
            .await,
        409,
        "decision_replayed",
    )
    .await;
    // Another decision: the first one won.
    let late = gw.decision(
        &gw.supervisor,
        &record,
        DecisionKind::Reject,
        "too late",
        &[],
    );
    let body = refused(
        gw.post_decision(&gw.supervisor, &record.request_id, &late)
            .await,
        409,
        "not_pending",
    )
    .await;
    assert_eq!(body["error"]["state"], "approved");
    assert_eq!(
        gw.record(&record.request_id)
            .await
            .decision
            .unwrap()
            .decided_by,
        gw.reviewer.identity
    );
}

#[tokio::test]
async fn reasons_and_acknowledgements_are_required() {
    let gw = TestGateway::start().await;
    let refund = submitted(&gw, "refund-exception").await;
    let no_reason = gw.decision(&gw.reviewer, &refund, DecisionKind::Reject, "  ", &[]);
    refused(
        gw.post_decision(&gw.reviewer, &refund.request_id, &no_reason)
            .await,
        422,
        "reason_required",
    )
    .await;
    let high_without_reason = gw.decision(&gw.reviewer, &refund, DecisionKind::Approve, "", &[]);
    refused(
        gw.post_decision(&gw.reviewer, &refund.request_id, &high_without_reason)
            .await,
        422,
        "reason_required",
    )
    .await;

    let treasury = submitted(&gw, "treasury-summary").await;
    let unacknowledged = gw.decision(&gw.reviewer, &treasury, DecisionKind::Approve, "fine", &[]);
    let body = refused(
        gw.post_decision(&gw.reviewer, &treasury.request_id, &unacknowledged)
            .await,
        422,
        "reason_required",
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("SCOPE_OVER_PROVISIONED")
    );
    let acknowledged = gw.decision(
        &gw.reviewer,
        &treasury,
        DecisionKind::Approve,
        "aggregates only",
        &["SCOPE_OVER_PROVISIONED"],
    );
    assert_eq!(
        gw.post_decision(&gw.reviewer, &treasury.request_id, &acknowledged)
            .await
            .status()
            .as_u16(),
        201
    );
    // The refused attempts changed nothing: the refund is still pending.
    assert_eq!(
        gw.record(&refund.request_id).await.state,
        RequestState::Pending
    );
}

#[tokio::test]
async fn decisions_bound_to_something_else_are_refused() {
    let gw = TestGateway::start().await;
    let refund = submitted(&gw, "refund-exception").await;
    let payment = submitted(&gw, "supplier-payment").await;
    let now = gw.clock_now();
    let sign = |claims: &countersign_wire::DecisionClaims| {
        gw.reviewer.key.sign_jws(DECISION_TYP, claims).unwrap()
    };
    let base = || {
        decision_claims(
            &refund,
            &gw.reviewer.identity,
            AUDIENCE,
            DecisionKind::Approve,
            "ok",
            vec![],
            now,
            &unique_jti(),
        )
    };

    let for_payment = decision_claims(
        &payment,
        &gw.reviewer.identity,
        AUDIENCE,
        DecisionKind::Approve,
        "ok",
        vec![],
        now,
        &unique_jti(),
    );
    refused(
        gw.post_decision(&gw.reviewer, &refund.request_id, &sign(&for_payment))
            .await,
        422,
        "decision_mismatch",
    )
    .await;
    let mut digest = base();
    digest.action_digest = "sha256:00".into();
    refused(
        gw.post_decision(&gw.reviewer, &refund.request_id, &sign(&digest))
            .await,
        422,
        "decision_mismatch",
    )
    .await;
    let mut audience = base();
    audience.aud = "another-gateway".into();
    refused(
        gw.post_decision(&gw.reviewer, &refund.request_id, &sign(&audience))
            .await,
        422,
        "decision_not_acceptable",
    )
    .await;
    let mut expired = base();
    expired.iat -= 3600;
    expired.exp = now.timestamp() - 1;
    refused(
        gw.post_decision(&gw.reviewer, &refund.request_id, &sign(&expired))
            .await,
        422,
        "decision_not_acceptable",
    )
    .await;
    let mut long_lived = base();
    long_lived.exp = now.timestamp() + 86_400;
    refused(
        gw.post_decision(&gw.reviewer, &refund.request_id, &sign(&long_lived))
            .await,
        422,
        "decision_not_acceptable",
    )
    .await;
    // A hop attestation's typ, or a token signed by nobody enrolled, is not a decision.
    let wrong_typ = gw.reviewer.key.sign_jws(HOP_TYP, &base()).unwrap();
    refused(
        gw.post_decision(&gw.reviewer, &refund.request_id, &wrong_typ)
            .await,
        400,
        "decision_invalid",
    )
    .await;
    let stranger = countersign_chain::SigningKeyPair::from_seed([99; 32])
        .sign_jws(DECISION_TYP, &base())
        .unwrap();
    refused(
        gw.post_decision(&gw.reviewer, &refund.request_id, &stranger)
            .await,
        400,
        "decision_invalid",
    )
    .await;
    refused(
        gw.post_decision(&gw.reviewer, &refund.request_id, "not a jws")
            .await,
        400,
        "decision_invalid",
    )
    .await;
    refused(
        gw.post_decision(&gw.reviewer, "no-such-request", &sign(&base()))
            .await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(
        gw.record(&refund.request_id).await.state,
        RequestState::Pending
    );
}

#[tokio::test]
async fn roles_tiers_and_self_approval_are_enforced() {
    let gw = TestGateway::start().await;
    let refund = submitted(&gw, "refund-exception").await;
    let by_auditor = gw.decision(&gw.auditor, &refund, DecisionKind::Approve, "ok", &[]);
    refused(
        gw.post_decision(&gw.auditor, &refund.request_id, &by_auditor)
            .await,
        403,
        "forbidden",
    )
    .await;
    let by_low_tier = gw.decision(&gw.low_only, &refund, DecisionKind::Approve, "ok", &[]);
    refused(
        gw.post_decision(&gw.low_only, &refund.request_id, &by_low_tier)
            .await,
        403,
        "forbidden",
    )
    .await;
    // Rita's console may not post Sol's decision.
    let sols = gw.decision(&gw.supervisor, &refund, DecisionKind::Approve, "ok", &[]);
    refused(
        gw.post_decision(&gw.reviewer, &refund.request_id, &sols)
            .await,
        403,
        "forbidden",
    )
    .await;

    // The customer who is the principal enrols as a reviewer and tries to approve their own refund.
    let principal = countersign_client::ConsoleIdentity {
        identity: "customer:maria.lopez".into(),
        key: countersign_chain::SigningKeyPair::from_seed([42; 32]),
        audience: AUDIENCE.into(),
        clock: gw.clock.clone(),
    };
    let store = countersign_store::Store::open(&gw.config.database)
        .await
        .unwrap();
    countersign_testkit::enrol(
        &store,
        &principal,
        "Maria",
        &[countersign_review::Role::Reviewer],
        &[countersign_wire::Tier::High],
        gw.clock_now().into(),
    )
    .await;
    let own = gw.decision(
        &principal,
        &refund,
        DecisionKind::Approve,
        "yes please",
        &[],
    );
    refused(
        gw.post_decision(&principal, &refund.request_id, &own).await,
        403,
        "self_approval",
    )
    .await;
}

#[tokio::test]
async fn escalated_requests_are_blocked_for_reviewers_and_need_an_acknowledged_override() {
    let gw = TestGateway::start().await;
    let ghost = submitted(&gw, "ghost-export").await;
    assert_eq!(ghost.state, RequestState::Escalated);
    let approve = gw.decision(
        &gw.reviewer,
        &ghost,
        DecisionKind::Approve,
        "looks fine",
        &[],
    );
    refused(
        gw.post_decision(&gw.reviewer, &ghost.request_id, &approve)
            .await,
        403,
        "approval_blocked",
    )
    .await;
    let partial = gw.decision(
        &gw.supervisor,
        &ghost,
        DecisionKind::Approve,
        "vendor DPA signed",
        &["GHOST_PERMISSION"],
    );
    refused(
        gw.post_decision(&gw.supervisor, &ghost.request_id, &partial)
            .await,
        422,
        "reason_required",
    )
    .await;
    let full = gw.decision(
        &gw.supervisor,
        &ghost,
        DecisionKind::Approve,
        "vendor DPA signed",
        &["GHOST_PERMISSION", "PURPOSE_DRIFT"],
    );
    assert_eq!(
        gw.post_decision(&gw.supervisor, &ghost.request_id, &full)
            .await
            .status()
            .as_u16(),
        201
    );

    // Any reviewer may still reject a blocked request.
    let widened = submitted(&gw, "widened-recipients").await;
    let reject = gw.decision(
        &gw.reviewer,
        &widened,
        DecisionKind::Reject,
        "press address added by the email agent",
        &[],
    );
    assert_eq!(
        gw.post_decision(&gw.reviewer, &widened.request_id, &reject)
            .await
            .status()
            .as_u16(),
        201
    );
}

#[tokio::test]
async fn console_tokens_are_single_use_short_lived_and_from_enrolled_keys() {
    let gw = TestGateway::start().await;
    let token = gw.reviewer.token();
    let get = |token: String| http().get(gw.url("/v1/queue")).bearer_auth(token).send();
    assert_eq!(get(token.clone()).await.unwrap().status().as_u16(), 200);
    refused(get(token).await.unwrap(), 401, "unauthenticated").await;

    let stale = countersign_review::mint_console_token(
        &gw.reviewer.key,
        &gw.reviewer.identity,
        AUDIENCE,
        gw.clock_now() - Duration::minutes(10),
        "old",
    );
    refused(get(stale).await.unwrap(), 401, "unauthenticated").await;
    let other_audience = countersign_review::mint_console_token(
        &gw.reviewer.key,
        &gw.reviewer.identity,
        "elsewhere",
        gw.clock_now(),
        "aud",
    );
    refused(get(other_audience).await.unwrap(), 401, "unauthenticated").await;
    let stranger = countersign_chain::SigningKeyPair::from_seed([77; 32]);
    let unknown = countersign_review::mint_console_token(
        &stranger,
        &gw.reviewer.identity,
        AUDIENCE,
        gw.clock_now(),
        "x",
    );
    refused(get(unknown).await.unwrap(), 401, "unauthenticated").await;
    // A workflow credential is not a console credential.
    refused(
        get(WORKFLOW_TOKEN.into()).await.unwrap(),
        401,
        "unauthenticated",
    )
    .await;
}

async fn post_note(gw: &TestGateway, token: &str, id: &str, body: Value) -> reqwest::Response {
    http()
        .post(gw.url(&format!("/v1/requests/{id}/notes")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_workflow_note_is_shown_with_the_request_and_changes_nothing_a_decision_signs() {
    let gw = TestGateway::start().await;
    let before = submitted(&gw, "refund-exception").await;
    let id = before.request_id.clone();
    let note = serde_json::json!({"message_id": "n1", "text": "Customer ref 4411"});
    let first = post_note(&gw, WORKFLOW_TOKEN, &id, note.clone()).await;
    assert_eq!(first.status().as_u16(), 201);
    let again = post_note(&gw, WORKFLOW_TOKEN, &id, note).await;
    assert_eq!(again.status().as_u16(), 200, "a retry is the same note");
    refused(
        post_note(
            &gw,
            WORKFLOW_TOKEN,
            &id,
            serde_json::json!({"message_id": "n1", "text": "changed"}),
        )
        .await,
        400,
        "invalid_body",
    )
    .await;
    refused(
        post_note(
            &gw,
            WORKFLOW_TOKEN,
            &id,
            serde_json::json!({"message_id": "n2", "text": "x".repeat(4001)}),
        )
        .await,
        400,
        "invalid_body",
    )
    .await;
    // Another workflow's request does not exist for it.
    refused(
        post_note(
            &gw,
            countersign_testkit::OTHER_WORKFLOW_TOKEN,
            &id,
            serde_json::json!({"message_id": "n3", "text": "approve"}),
        )
        .await,
        404,
        "not_found",
    )
    .await;

    let after = gw.record(&id).await;
    assert_eq!(after.notes.len(), 1);
    assert_eq!(after.notes[0].text, "Customer ref 4411");
    assert_eq!(after.decision_subject(), before.decision_subject());
    // A decision made on the record as it was before the note still settles it.
    let decision = gw.decision(
        &gw.reviewer,
        &before,
        DecisionKind::Approve,
        "Late delivery confirmed",
        &[],
    );
    assert_eq!(
        gw.post_decision(&gw.reviewer, &id, &decision)
            .await
            .status()
            .as_u16(),
        201
    );
    let (status, body) = error_code(
        post_note(
            &gw,
            WORKFLOW_TOKEN,
            &id,
            serde_json::json!({"message_id": "n4", "text": "late"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("not_pending"))
    );
    assert_eq!(body["error"]["state"], "approved", "{body}");
}

#[tokio::test]
async fn a_workflow_withdraws_its_open_request_and_nobody_can_approve_it_after() {
    let gw = TestGateway::start().await;
    let record = submitted(&gw, "refund-exception").await;
    let id = record.request_id.clone();
    let withdraw = |token: &'static str| {
        let url = gw.url(&format!("/v1/requests/{id}/withdraw"));
        async move { http().post(url).bearer_auth(token).send().await.unwrap() }
    };
    // Another workflow's request does not exist for it.
    refused(withdraw(OTHER_WORKFLOW_TOKEN).await, 404, "not_found").await;
    let done = withdraw(WORKFLOW_TOKEN).await;
    assert_eq!(done.status().as_u16(), 200);
    let outcome: Value = done.json().await.unwrap();
    assert_eq!(outcome["state"], "withdrawn");
    let again = withdraw(WORKFLOW_TOKEN).await;
    assert_eq!(
        again.status().as_u16(),
        200,
        "withdrawing twice is one withdrawal"
    );
    let jws = gw.decision(
        &gw.reviewer,
        &record,
        DecisionKind::Approve,
        "Refund within policy",
        &[],
    );
    let late = gw.post_decision(&gw.reviewer, &id, &jws).await;
    assert_eq!(late.status().as_u16(), 409);
    // An ended request stays as it ended.
    let other = submitted(&gw, "supplier-payment").await;
    let (status, _) = gw
        .decide_as(
            &gw.reviewer,
            &other.request_id,
            DecisionKind::Reject,
            "Not ours",
        )
        .await;
    assert_eq!(status, 201);
    let url = gw.url(&format!("/v1/requests/{}/withdraw", other.request_id));
    let ended = http()
        .post(url)
        .bearer_auth(WORKFLOW_TOKEN)
        .send()
        .await
        .unwrap();
    let body = refused(ended, 409, "not_pending").await;
    assert_eq!(body["error"]["state"], "rejected");
}
