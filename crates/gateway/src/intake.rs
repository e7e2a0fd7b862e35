//! `POST /v1/requests`: verify, detect replays, store, route.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use countersign_review::webhook::check_receiver_url;
use countersign_review::{Arrival, admit};
use countersign_store::{AdmitOutcome, NewRequest, StoredRequest};
use countersign_wire::Timestamp;
use countersign_wire::api::{ErrorCode, RequestState, SubmitResponse};

use crate::AppState;
use crate::auth::Workflow;
use crate::error::{Failure, Result};
use crate::extract::RawJson;

fn answer(stored: &StoredRequest) -> Response {
    if stored.state == RequestState::Refused {
        return Failure::new(
            ErrorCode::ChainRefused,
            "the delegation chain is forged or malformed; the report says why",
        )
        .with_report(stored.report.clone())
        .into_response();
    }
    (
        StatusCode::CREATED,
        Json(SubmitResponse {
            request_id: stored.request_id.clone(),
            state: stored.state,
            report: stored.report.clone(),
        }),
    )
        .into_response()
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    Workflow(workflow): Workflow,
    RawJson(bytes): RawJson,
) -> Result<Response> {
    Ok(answer(&receive(&state, workflow, &bytes).await?))
}

/// Verifies, stores and routes a submitted request (REST or A2A alike); a repeat of the same
/// body gets the request as stored. Refusals without a request id, conflicts and bodies that
/// are not JSON are failures.
pub(crate) async fn receive(
    state: &AppState,
    workflow: String,
    bytes: &[u8],
) -> Result<StoredRequest> {
    let now = state.clock.now();
    let received_at = Timestamp::from(now);
    // Oversized and I-JSON violations (a member named twice) are refusals with a report.
    let trust = state.trust.current();
    // The version verified against is kept before any arrival names it.
    if !trust.kept.load(std::sync::atomic::Ordering::Acquire) {
        state
            .store
            .remember_trust(&trust.digest, &trust.canonical, received_at)
            .await?;
        trust.kept.store(true, std::sync::atomic::Ordering::Release);
    }
    let verification =
        countersign_chain::verify_request(bytes, &trust.index, now).map_err(|e| {
            Failure::new(
                ErrorCode::InvalidBody,
                format!("the body is not valid JSON: {}", e.0),
            )
        })?;
    let report = verification.report;
    let Some(request) = verification.request else {
        // No usable request id: the refusal is recorded without one.
        state
            .store
            .record_anonymous_refusal(
                &workflow,
                received_at,
                report.request_digest.as_deref(),
                &report,
            )
            .await?;
        return Err(Failure::new(
            ErrorCode::ChainRefused,
            "the request is malformed; the report says why",
        )
        .with_report(report));
    };

    // Nothing is stored for a callback the gateway would refuse to call.
    if let Some(callback) = &request.callback {
        check_receiver_url(&callback.url)
            .map_err(|e| Failure::new(ErrorCode::InvalidBody, format!("callback.url: {e}")))?;
    }
    let mut parties = vec![request.principal.clone()];
    let mut hop_jtis = Vec::new();
    for hop in &verification.hops {
        if let Some(claims) = &hop.claims {
            parties.extend([claims.iss.clone(), claims.sub.clone()]);
            hop_jtis.push((hop.index, claims.jti.clone()));
        }
    }
    parties.sort();
    parties.dedup();
    // The verifier refuses an unreadable expiry; were one to pass, it is due at once.
    let expires_at = Timestamp::parse(&request.expires_at).unwrap_or(received_at);
    let new = NewRequest {
        request_id: request.request_id.clone(),
        workflow: workflow.clone(),
        tier: request.action.impact.tier,
        txn: request.txn.clone(),
        expires_at,
        received_at,
        request_digest: report.request_digest.clone().unwrap_or_default(),
        body: String::from_utf8_lossy(bytes).into_owned(),
        principal: request.principal.clone(),
        parties,
        callback_url: request.callback.as_ref().map(|c| c.url.clone()),
        hop_jtis,
        trust_digest: Some(trust.digest.clone()),
    };

    let rules = state.policy.current().tier(request.action.impact.tier);
    let ask = request.escalate.clone();
    let outcome = state
        .store
        .admit(new, move |replays| {
            let arrival = Arrival {
                workflow: &workflow,
                ask: ask.as_ref(),
                at: received_at,
            };
            admit(report, replays, &rules, arrival)
        })
        .await?;

    match outcome {
        AdmitOutcome::Admitted(stored, event) => {
            tracing::info!(request_id = %stored.request_id, state = stored.state.as_str(), findings = stored.report.findings.len(), "request received");
            state.publish([event]);
            state.wake_workers.notify_waiters();
            Ok(stored)
        }
        AdmitOutcome::Duplicate(stored) => Ok(stored),
        // Worded the same whoever used the id first, so that nothing about another
        // workflow's request (its existence aside, which a unique id makes moot) is told.
        AdmitOutcome::Conflict(_) => Err(Failure::new(
            ErrorCode::RequestIdConflict,
            format!(
                "request id {} is already used by another request; send it under a new id",
                request.request_id
            ),
        )),
    }
}
