//! Tauri commands: one per `countersign_wire::console::Command`, each taking `req`.

use chrono::Utc;
use countersign_client::ClientError;
use countersign_review::decision_claims;
use countersign_wire::DECISION_TYP;
use countersign_wire::api::{ErrorCode, RequestState};
use countersign_wire::console::{
    ConsoleError, Decide, DecideOutcome, GetRequest, GetSnapshot, RequestView, Snapshot,
};
use tauri::State;

use crate::sync::Console;

fn error(code: &str, message: impl Into<String>) -> ConsoleError {
    ConsoleError {
        code: code.into(),
        message: message.into(),
    }
}

#[tauri::command]
pub(crate) fn snapshot(console: State<'_, Console>, req: GetSnapshot) -> Snapshot {
    let GetSnapshot {} = req;
    console.snapshot()
}

#[tauri::command]
pub(crate) async fn request(
    console: State<'_, Console>,
    req: GetRequest,
) -> Result<RequestView, ConsoleError> {
    console
        .request_view(&req.request_id)
        .await
        .map_err(|e| match e {
            ClientError::Api { error: api, .. } if api.code == ErrorCode::NotFound => {
                error("not_found", api.message)
            }
            ClientError::Unreachable(m) => error("offline", m),
            other => error("internal", other.to_string()),
        })
}

#[tauri::command]
pub(crate) async fn decide(
    console: State<'_, Console>,
    req: Decide,
) -> Result<DecideOutcome, ConsoleError> {
    let view = console
        .request_view(&req.request_id)
        .await
        .map_err(|e| error("offline", e.to_string()))?;
    let reason = req.reason.trim();
    if req.decision == countersign_wire::DecisionKind::Reject && reason.is_empty() {
        return Err(error("reason_required", "a rejection needs a reason"));
    }
    let claims = decision_claims(
        &view.record,
        &console.identity.identity,
        &console.identity.audience,
        req.decision,
        reason,
        req.acknowledged,
        Utc::now(),
        &uuid::Uuid::new_v4().to_string(),
    );
    // Signed here, in the backend: the private key never enters the webview.
    let jws = console
        .identity
        .key
        .sign_jws(DECISION_TYP, &claims)
        .map_err(|e| error("internal", e.to_string()))?;
    let outcome = match console
        .client
        .decide(&console.identity, &req.request_id, &jws)
        .await
    {
        Ok(_) => DecideOutcome::Delivered,
        Err(e) if e.is_unreachable() => {
            console.queue_decision(&req.request_id, jws);
            DecideOutcome::Queued
        }
        Err(ClientError::Api { error: api, .. }) => match (api.code, api.state) {
            (ErrorCode::NotPending, Some(RequestState::Expired)) => DecideOutcome::Expired,
            (ErrorCode::NotPending, Some(state)) => {
                DecideOutcome::AlreadyDecided(state.as_str().into())
            }
            (code, _) => DecideOutcome::Refused(format!("{code}: {}", api.message)),
        },
        Err(other) => return Err(error("internal", other.to_string())),
    };
    console.changed();
    Ok(outcome)
}
