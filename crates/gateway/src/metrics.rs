//! `GET /v1/metrics` and `countersign-gateway metrics`: the review measures over a range.

use axum::Json;
use axum::extract::{Query, State};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use countersign_review::Role;
use countersign_review::metrics::{RequestFacts, measure};
use countersign_store::{RequestTimes, Store, StoreError};
use countersign_wire::api::{ErrorCode, Metrics};
use serde::Deserialize;

use crate::AppState;
use crate::auth::Console;
use crate::error::{Failure, Result};

/// The range when none is given: the last 30 days.
pub const DEFAULT_DAYS: i64 = 30;

fn time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn facts(times: RequestTimes) -> Option<RequestFacts> {
    Some(RequestFacts {
        received_at: time(&times.received_at)?,
        state: times.state,
        escalated: times.escalated,
        decided: match times.decided {
            Some((at, kind)) => Some((time(&at)?, kind)),
            None => None,
        },
        overridden: times.overridden,
        receipt_at: times.receipt_at.as_deref().and_then(time),
    })
}

/// The measures for requests received in `[from, to)`.
pub async fn metrics(
    store: &Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> std::result::Result<Metrics, StoreError> {
    let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    let times = store.request_times(&stamp(from), &stamp(to)).await?;
    let facts: Vec<RequestFacts> = times.into_iter().filter_map(facts).collect();
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
    now: DateTime<Utc>,
) -> std::result::Result<(DateTime<Utc>, DateTime<Utc>), String> {
    let parse = |name: &str, text: &str| {
        time(text).ok_or_else(|| format!("{name} must be an RFC 3339 time, not {text:?}"))
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
    Query(query): Query<RangeQuery>,
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
        state.clock.now(),
    )
    .map_err(|e| Failure::new(ErrorCode::InvalidBody, e))?;
    Ok(Json(metrics(&state.store, from, to).await?))
}
