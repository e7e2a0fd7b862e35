//! Decisions in (`POST …/decisions`), outcomes out (`GET …/decision?wait=`), receipts back.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use countersign_review::{DecisionTarget, check_decision, override_detail, tally};
use countersign_store::{DecisionWrite, NewDecision, ReceiptWrite, StoredRequest, WithdrawWrite};
use countersign_wire::api::{
    DecisionOutcome, DecisionRecord, DecisionSubmission, ErrorCode, Receipt, RequestState,
};
use countersign_wire::{DecisionKind, Timestamp};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Console, Workflow, reviewer_from_row};
use crate::error::{Failure, Result};
use crate::extract::{JsonBody, PathParams, QueryParams};

/// Longest long-poll a workflow may ask for.
pub const MAX_WAIT_SECONDS: u64 = 60;

/// A request as its own workflow sees it: another workflow's request does not exist for it.
pub(crate) async fn owned(state: &AppState, id: &str, workflow: &str) -> Result<StoredRequest> {
    let request = stored(state, id).await?;
    if request.workflow != workflow {
        return Err(Failure::new(
            ErrorCode::NotFound,
            format!("no request {id}"),
        ));
    }
    Ok(request)
}

async fn stored(state: &AppState, id: &str) -> Result<StoredRequest> {
    state
        .store
        .request(id)
        .await?
        .ok_or_else(|| Failure::new(ErrorCode::NotFound, format!("no request {id}")))
}

pub(crate) async fn decide(
    State(state): State<AppState>,
    Console(caller): Console,
    PathParams(id): PathParams<String>,
    JsonBody(submission): JsonBody<DecisionSubmission>,
) -> Result<(StatusCode, Json<DecisionRecord>)> {
    let request = stored(&state, &id).await?;
    let kid = countersign_review::console_token::token_kid(&submission.decision_jws).ok_or_else(
        || {
            Failure::new(
                ErrorCode::DecisionInvalid,
                "decision is not a JWS with a kid",
            )
        },
    )?;
    let signer = state.store.reviewer_by_kid(&kid).await?.ok_or_else(|| {
        Failure::new(
            ErrorCode::DecisionInvalid,
            "decision is signed by a key nobody enrolled",
        )
    })?;
    let reviewer = reviewer_from_row(signer)?;
    if reviewer.identity != caller.identity {
        return Err(Failure::new(
            ErrorCode::Forbidden,
            "a console may only post its own reviewer's decisions",
        ));
    }
    let now = state.clock.now();
    let rules = state.policy.current().tier(request.tier);
    let target = DecisionTarget {
        subject: request.decision_subject(),
        tier: request.tier,
        parties: &request.parties,
        report: &request.report,
        policy: &rules,
    };
    let claims = check_decision(
        &submission.decision_jws,
        &reviewer,
        &target,
        &state.audience,
        now,
    )?;
    let decided_at = Timestamp::from(now);
    let detail = override_detail(&claims, &rules, &request.report);
    let (kind, approver, need) = (claims.decision, claims.iss.clone(), rules.approvals);
    let count = |earlier: &[String]| {
        tally(
            kind,
            &approver,
            earlier,
            &request.principal,
            &request.parties,
            need,
        )
    };
    let record = DecisionRecord {
        decision: claims.decision,
        decided_by: claims.iss.clone(),
        reason: claims.reason.clone(),
        decided_at,
        decision_jws: submission.decision_jws.clone(),
    };
    let write = state
        .store
        .record_decision(
            NewDecision {
                jti: claims.jti,
                request_id: request.request_id.clone(),
                decision: claims.decision,
                decided_by: claims.iss,
                reason: claims.reason,
                decided_at,
                jws: submission.decision_jws,
                detail,
            },
            count,
        )
        .await?;
    match write {
        DecisionWrite::Recorded(event) => {
            tracing::info!(request_id = %request.request_id, state = event.state.as_str(), by = %record.decided_by, "decision accepted");
            state.publish([event]);
            state.wake_workers.notify_waiters();
            Ok((StatusCode::CREATED, Json(record)))
        }
        DecisionWrite::Counted(event) => {
            tracing::info!(request_id = %request.request_id, by = %record.decided_by, need, "approval counted toward the quorum");
            state.publish([event]);
            Ok((StatusCode::ACCEPTED, Json(record)))
        }
        DecisionWrite::NotCounted(why) => Err(Failure::new(ErrorCode::AlreadyApproved, why)),
        DecisionWrite::Replayed => Err(Failure::new(
            ErrorCode::DecisionReplayed,
            "this decision (its jti) was already used",
        )),
        DecisionWrite::NotOpen(current) => Err(Failure::new(
            ErrorCode::NotPending,
            format!("request is already {}", current.as_str()),
        )
        .with_state(current)),
    }
}

#[derive(Deserialize)]
pub(crate) struct WaitQuery {
    #[serde(default)]
    wait: u64,
}

pub(crate) async fn outcome(state: &AppState, request: &StoredRequest) -> Result<DecisionOutcome> {
    let mut outcome = DecisionOutcome {
        request_id: request.request_id.clone(),
        state: request.state,
        decision_jws: None,
        approvals: Vec::new(),
    };
    if matches!(
        request.state,
        RequestState::Approved | RequestState::Rejected
    ) {
        let mut decisions = state.store.decisions(&request.request_id).await?;
        let last = decisions.pop();
        // Several approvers: the workflow gets every one of their decisions.
        if request.state == RequestState::Approved && !decisions.is_empty() {
            outcome.approvals = decisions
                .into_iter()
                .filter(|d| d.decision == DecisionKind::Approve)
                .chain(last.clone())
                .map(|d| d.decision_jws)
                .collect();
        }
        outcome.decision_jws = last.map(|d| d.decision_jws);
    }
    Ok(outcome)
}

pub(crate) async fn wait_for_decision(
    State(state): State<AppState>,
    Workflow(workflow): Workflow,
    PathParams(id): PathParams<String>,
    QueryParams(query): QueryParams<WaitQuery>,
) -> Result<Json<DecisionOutcome>> {
    let wait = Duration::from_secs(query.wait.min(MAX_WAIT_SECONDS));
    let request = settled(&state, &id, &workflow, wait).await?;
    Ok(Json(outcome(&state, &request).await?))
}

/// When a request entered its present state: a waiting one since it was received, an ended one
/// since that end. Stable, so a push or a task read later says the same.
pub(crate) async fn since(
    state: &AppState,
    stored: &StoredRequest,
) -> std::result::Result<Timestamp, countersign_store::StoreError> {
    let at = match stored.state {
        RequestState::Pending | RequestState::Escalated => None,
        ended => {
            state
                .store
                .entered_state_at(&stored.request_id, ended)
                .await?
        }
    };
    Ok(at.unwrap_or(stored.received_at))
}

/// `workflow`'s request `id` once it is no longer open, or as it stands after `wait` (or when
/// the gateway starts stopping, so a long wait never holds up a graceful stop).
pub(crate) async fn settled(
    state: &AppState,
    id: &str,
    workflow: &str,
    wait: Duration,
) -> Result<StoredRequest> {
    // Subscribe before reading, so an event between the read and the wait is not missed.
    let mut events = state.events.subscribe();
    let request = owned(state, id, workflow).await?;
    if !request.state.is_open() || wait.is_zero() {
        return Ok(request);
    }
    let deadline = tokio::time::Instant::now() + wait;
    let mut stopping = state.stopping.clone();
    loop {
        let received = tokio::select! {
            received = tokio::time::timeout_at(deadline, events.recv()) => received,
            _ = stopping.wait_for(|stopped| *stopped) => break,
        };
        match received {
            Err(_) => break,
            Ok(Ok(event)) if event.request_id != id => continue,
            Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {
                let request = stored(state, id).await?;
                if !request.state.is_open() {
                    return Ok(request);
                }
            }
            Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => break,
        }
    }
    stored(state, id).await
}

/// `POST /v1/requests/{id}/withdraw`: the workflow no longer wants the action; nobody can
/// approve it any more, and consoles, waiters and the webhook are told. 200 with the outcome
/// (again 200 if already withdrawn); 409 `not_pending` if it had already ended otherwise.
pub(crate) async fn withdraw(
    State(state): State<AppState>,
    Workflow(workflow): Workflow,
    PathParams(id): PathParams<String>,
) -> Result<Json<DecisionOutcome>> {
    owned(&state, &id, &workflow).await?;
    match state
        .store
        .withdraw(&id, &workflow, state.clock.timestamp())
        .await?
    {
        WithdrawWrite::Withdrawn(event) => {
            state.publish([event]);
            state.wake_workers.notify_waiters();
        }
        WithdrawWrite::NotOpen(RequestState::Withdrawn) => {}
        WithdrawWrite::NotOpen(current) => {
            return Err(Failure::new(
                ErrorCode::NotPending,
                format!(
                    "request is {}; it can no longer be withdrawn",
                    current.as_str()
                ),
            )
            .with_state(current));
        }
    }
    Ok(Json(outcome(&state, &stored(&state, &id).await?).await?))
}

pub(crate) async fn receipt(
    State(state): State<AppState>,
    Workflow(workflow): Workflow,
    PathParams(id): PathParams<String>,
    JsonBody(receipt): JsonBody<Receipt>,
) -> Result<StatusCode> {
    owned(&state, &id, &workflow).await?;
    let at = state.clock.timestamp();
    match state
        .store
        .record_receipt(&id, &receipt, at, &workflow)
        .await?
    {
        ReceiptWrite::Recorded(event) => {
            state.publish([event]);
            Ok(StatusCode::CREATED)
        }
        ReceiptWrite::AlreadyRecorded => Ok(StatusCode::OK),
        ReceiptWrite::NotDecided(current) => Err(Failure::new(
            ErrorCode::NotPending,
            format!(
                "request is {}; there is no decision to act on",
                current.as_str()
            ),
        )
        .with_state(current)),
    }
}
