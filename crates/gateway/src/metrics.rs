//! `GET /v1/metrics` and `countersign-gateway metrics`: the review measures over a range.

use axum::Json;
use axum::extract::State;
use chrono::Duration;
use countersign_review::Role;
use countersign_review::metrics::measure;
use countersign_store::{Store, StoreError};
use countersign_wire::Timestamp;
use countersign_wire::api::{ErrorCode, Metrics};
use serde::Deserialize;

use crate::AppState;
use crate::auth::Console;
use crate::error::{Failure, Result};
use crate::extract::QueryParams;

/// The range when none is given: the last 30 days.
pub const DEFAULT_DAYS: i64 = 30;

/// The measures for requests received in `[from, to)`.
pub async fn metrics(
    store: &Store,
    from: Timestamp,
    to: Timestamp,
) -> std::result::Result<Metrics, StoreError> {
    let facts = store.request_times(from, to).await?;
    let (events, sealed) = store.audit_counts().await?;
    Ok(measure(&facts, events, sealed, from, to))
}

#[derive(Deserialize)]
pub(crate) struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
}

/// Parses an optional `from`/`to` pair (`to` exclusive), defaulting to the last
/// [`DEFAULT_DAYS`] days up to and including `now`.
pub fn range(
    from: Option<&str>,
    to: Option<&str>,
    now: Timestamp,
) -> std::result::Result<(Timestamp, Timestamp), String> {
    let parse = |name: &str, text: &str| {
        Timestamp::parse(text).map_err(|_| format!("{name} must be an RFC 3339 time, not {text:?}"))
    };
    // Without an end, everything up to and including this very moment.
    let to = to
        .map(|t| parse("to", t))
        .transpose()?
        .unwrap_or(now + Duration::milliseconds(1));
    let from = from
        .map(|f| parse("from", f))
        .transpose()?
        .unwrap_or(to - Duration::days(DEFAULT_DAYS));
    if from >= to {
        return Err("from must come before to".into());
    }
    Ok((from, to))
}

pub(crate) async fn dashboard(
    State(state): State<AppState>,
    Console(caller): Console,
    QueryParams(query): QueryParams<RangeQuery>,
) -> Result<Json<Metrics>> {
    if !(caller.has(Role::Supervisor) || caller.has(Role::Auditor)) {
        return Err(Failure::new(
            ErrorCode::Forbidden,
            "metrics are for supervisors and auditors",
        ));
    }
    let (from, to) = range(
        query.from.as_deref(),
        query.to.as_deref(),
        state.clock.timestamp(),
    )
    .map_err(|e| Failure::new(ErrorCode::InvalidBody, e))?;
    Ok(Json(metrics(&state.store, from, to).await?))
}
