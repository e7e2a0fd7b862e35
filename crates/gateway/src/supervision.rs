//! What reviewers and supervisors do besides deciding: escalate a request with a note, hand
//! one to a reviewer, and record that a request was shown.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use countersign_review::{Ineligible, Raise, Role, eligible};
use countersign_store::SupervisionWrite;
use countersign_wire::api::{AssignSubmission, ErrorCode, EscalateSubmission, RequestRecord};

use crate::AppState;
use crate::auth::{Console, reviewer_from_row};
use crate::consoles::load_record;
use crate::error::{Failure, Result};
use crate::extract::{JsonBody, PathParams};

/// Longest note kept (notes are shown to supervisors and sealed into the audit log).
const MAX_NOTE_CHARS: usize = 2000;

fn note_of(text: &str, required: bool) -> Result<String> {
    let note = text.trim();
    if required && note.is_empty() {
        return Err(Failure::new(
            ErrorCode::ReasonRequired,
            "say why a supervisor is needed",
        ));
    }
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(Failure::new(
            ErrorCode::InvalidBody,
            format!("a note may have at most {MAX_NOTE_CHARS} characters"),
        ));
    }
    Ok(note.to_owned())
}

fn written(state: &AppState, write: SupervisionWrite) -> Result<()> {
    match write {
        SupervisionWrite::Done(event) => {
            state.publish([event]);
            Ok(())
        }
        SupervisionWrite::Unchanged => Ok(()),
        SupervisionWrite::NotOpen(current) => Err(Failure::new(
            ErrorCode::NotPending,
            format!("request is already {}", current.as_str()),
        )
        .with_state(current)),
    }
}

/// `POST /v1/requests/{id}/escalate`: a reviewer asks for a supervisor, with a note.
pub(crate) async fn escalate(
    State(state): State<AppState>,
    Console(caller): Console,
    PathParams(id): PathParams<String>,
    JsonBody(submission): JsonBody<EscalateSubmission>,
) -> Result<(StatusCode, Json<RequestRecord>)> {
    if !(caller.has(Role::Reviewer) || caller.has(Role::Supervisor)) {
        return Err(Failure::new(
            ErrorCode::Forbidden,
            "only reviewers and supervisors escalate requests",
        ));
    }
    let note = note_of(&submission.note, true)?;
    let at = state.clock.timestamp();
    let write = state
        .store
        .escalate(&id, &Raise::by_reviewer(&caller.identity, &note, at))
        .await?;
    written(&state, write)?;
    Ok((StatusCode::CREATED, Json(load_record(&state, &id).await?)))
}

/// `POST /v1/requests/{id}/assign`: a supervisor hands a request to a reviewer who may decide
/// it.
pub(crate) async fn assign(
    State(state): State<AppState>,
    Console(caller): Console,
    PathParams(id): PathParams<String>,
    JsonBody(submission): JsonBody<AssignSubmission>,
) -> Result<Json<RequestRecord>> {
    if !caller.has(Role::Supervisor) {
        return Err(Failure::new(
            ErrorCode::Forbidden,
            "only supervisors assign requests",
        ));
    }
    let note = note_of(&submission.note, false)?;
    let request = state
        .store
        .request(&id)
        .await?
        .ok_or_else(|| Failure::new(ErrorCode::NotFound, format!("no request {id}")))?;
    let assignee = state
        .store
        .reviewer(&submission.reviewer)
        .await?
        .ok_or_else(|| {
            Failure::new(
                ErrorCode::InvalidBody,
                format!("{} is not an enrolled reviewer", submission.reviewer),
            )
        })
        .and_then(reviewer_from_row)?;
    let rules = state.policy.current().tier(request.tier);
    eligible(&assignee, request.tier, &rules, &request.parties).map_err(|e| {
        // Naming someone who may not decide is a bad body, not the caller's lack of a right.
        let code = match e {
            Ineligible::Party { .. } => ErrorCode::SelfApproval,
            _ => ErrorCode::InvalidBody,
        };
        Failure::new(code, e.to_string())
    })?;
    let at = state.clock.timestamp();
    let write = state
        .store
        .assign(&id, &assignee.identity, &caller.identity, &note, at)
        .await?;
    written(&state, write)?;
    Ok(Json(load_record(&state, &id).await?))
}

/// `POST /v1/requests/{id}/shown`: the console showed the request to its reviewer (recorded
/// once per reviewer in the audit log).
pub(crate) async fn shown(
    State(state): State<AppState>,
    Console(caller): Console,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode> {
    let at = state.clock.timestamp();
    match state.store.mark_shown(&id, &caller.identity, at).await? {
        Some(event) => {
            state.publish([event]);
            Ok(StatusCode::CREATED)
        }
        None if state.store.request(&id).await?.is_some() => Ok(StatusCode::OK),
        None => Err(Failure::new(
            ErrorCode::NotFound,
            format!("no request {id}"),
        )),
    }
}
