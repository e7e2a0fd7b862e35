//! Exports of review records: JSONL and CSV for reading, and (see [`crate::bundle`]) the
//! offline-verifiable bundle. Every export is itself an event in the audit log, with what was
//! selected and the digest of what was handed out.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use countersign_chain::digest::sha256_digest;
use countersign_review::Role;
use countersign_review::export::{to_csv, to_jsonl};
use countersign_store::{Selection, Store, StoreError, StoredReview};
use countersign_wire::api::{ErrorCode, ReviewRecord};
use countersign_wire::{DelegationRequest, Severity, Timestamp, Verdict};
use serde::Deserialize;

use crate::AppState;
use crate::auth::Console;
use crate::error::{Failure, Result};
use crate::extract::QueryParams;

/// The flat review record of a stored request.
pub fn review_record(review: &StoredReview) -> ReviewRecord {
    let stored = &review.request;
    let request: Option<DelegationRequest> = serde_json::from_str(&stored.body).ok();
    let settled = review.decisions.last().filter(|_| !stored.state.is_open());
    let claims = settled.and_then(|d| {
        countersign_chain::CompactJws::parse(&d.decision_jws)
            .ok()?
            .claims::<countersign_wire::DecisionClaims>()
            .ok()
    });
    let mut deciders: Vec<&str> = Vec::new();
    if settled.is_some() {
        for d in &review.decisions {
            if !deciders.contains(&d.decided_by.as_str()) {
                deciders.push(&d.decided_by);
            }
        }
    }
    let mut escalations = review.escalations.clone();
    escalations.dedup();
    ReviewRecord {
        request_id: stored.request_id.clone(),
        received_at: stored.received_at,
        workflow: stored.workflow.clone(),
        tier: stored.tier,
        state: stored.state,
        principal: request
            .as_ref()
            .map(|r| r.principal.clone())
            .unwrap_or_default(),
        action: request
            .as_ref()
            .map(|r| {
                format!(
                    "{} · {} on {}",
                    r.action.action_type, r.action.operation, r.action.resource
                )
            })
            .unwrap_or_default(),
        summary: request
            .as_ref()
            .map(|r| r.action.summary.clone())
            .unwrap_or_default(),
        verdict: match stored.report.verdict {
            Verdict::Valid => "valid".into(),
            Verdict::Invalid => "invalid".into(),
        },
        findings: stored
            .report
            .findings
            .iter()
            .map(|f| match f.severity {
                Severity::Error => f.code.to_string(),
                _ => format!("{}?", f.code),
            })
            .collect::<Vec<_>>()
            .join(" "),
        escalations: escalations.join(" "),
        decided_by: deciders.join(" "),
        decision: settled
            .map(|d| d.decision.as_str().to_owned())
            .unwrap_or_default(),
        reason: settled.map(|d| d.reason.clone()).unwrap_or_default(),
        flags_acknowledged: claims
            .map(|c| {
                c.flags_acknowledged
                    .iter()
                    .map(|code| code.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default(),
        decided_at: settled.map(|d| d.decided_at),
        receipt: review.receipt.clone().unwrap_or_default(),
        request_digest: stored.request_digest.clone(),
        decision_digest: settled
            .map(|d| sha256_digest(d.decision_jws.as_bytes()))
            .unwrap_or_default(),
    }
}

/// What to export, from a query string or the CLI.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ExportQuery {
    /// `jsonl` (default) or `csv`.
    pub format: Option<String>,
    /// Start of the receive-time range (RFC 3339).
    pub from: Option<String>,
    /// End of the range, exclusive.
    pub to: Option<String>,
    /// Comma-separated request ids, instead of a range.
    pub request_id: Option<String>,
}

impl ExportQuery {
    /// The selection, defaulting to the last 30 days up to `now`.
    pub fn selection(&self, now: Timestamp) -> std::result::Result<Selection, String> {
        if let Some(ids) = &self.request_id {
            let ids: Vec<String> = ids
                .split(',')
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
                .collect();
            if ids.is_empty() {
                return Err("request_id lists no request".into());
            }
            if self.from.is_some() || self.to.is_some() {
                return Err("give either request ids or a time range, not both".into());
            }
            return Ok(Selection::Ids(ids));
        }
        let (from, to) = crate::metrics::range(self.from.as_deref(), self.to.as_deref(), now)?;
        Ok(Selection::Received { from, to })
    }
}

/// Records an export in the audit log: who, what was selected, in which format, how many
/// records, and the digest that pins what was handed out (`("sha256", …)` of the file, or
/// `("manifest", …)` of a bundle's manifest).
pub async fn seal_export(
    store: &Store,
    selection: &Selection,
    format: &str,
    records: u64,
    digest: (&str, String),
    actor: &str,
    at: Timestamp,
) -> std::result::Result<(), StoreError> {
    let mut detail = match selection {
        Selection::Received { from, to } => serde_json::json!({ "from": from, "to": to }),
        Selection::Ids(ids) => serde_json::json!({ "request_ids": ids }),
    };
    detail["format"] = format.into();
    detail["records"] = records.into();
    detail[digest.0] = digest.1.into();
    store
        .record_export(
            &format!("export:{}", uuid::Uuid::new_v4()),
            actor,
            at,
            &detail,
        )
        .await?;
    Ok(())
}

/// The records selected, as text in `format`, with its media type.
pub async fn records(
    store: &Store,
    selection: &Selection,
    format: &str,
) -> std::result::Result<(String, &'static str, usize), ExportError> {
    let reviews = store.reviews(selection).await?;
    let records: Vec<ReviewRecord> = reviews.iter().map(review_record).collect();
    let (body, media) = match format {
        "jsonl" => (to_jsonl(&records), "application/jsonl"),
        "csv" => (to_csv(&records), "text/csv; charset=utf-8"),
        other => return Err(ExportError::Format(other.to_owned())),
    };
    Ok((body, media, records.len()))
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Unknown format.
    #[error("unknown export format {0:?}: use jsonl or csv (or bundle)")]
    Format(String),
}

pub(crate) fn may_export(caller: &countersign_review::Reviewer) -> Result<()> {
    if caller.has(Role::Supervisor) || caller.has(Role::Auditor) {
        Ok(())
    } else {
        Err(Failure::new(
            ErrorCode::Forbidden,
            "exports are for supervisors and auditors",
        ))
    }
}

/// `GET /v1/export/records?format=jsonl|csv&from=&to=` or `&request_id=a,b`.
pub(crate) async fn export_records(
    State(state): State<AppState>,
    Console(caller): Console,
    QueryParams(query): QueryParams<ExportQuery>,
) -> Result<Response> {
    may_export(&caller)?;
    let now = state.clock.timestamp();
    let selection = query
        .selection(now)
        .map_err(|e| Failure::new(ErrorCode::InvalidBody, e))?;
    let format = query.format.as_deref().unwrap_or("jsonl");
    let (body, media, count) =
        records(&state.store, &selection, format)
            .await
            .map_err(|e| match e {
                ExportError::Format(_) => Failure::new(ErrorCode::InvalidBody, e.to_string()),
                ExportError::Store(e) => Failure::from(e),
            })?;
    seal_export(
        &state.store,
        &selection,
        format,
        count as u64,
        ("sha256", sha256_digest(body.as_bytes())),
        &caller.identity,
        now,
    )
    .await?;
    let name = format!("countersign-records.{format}");
    Ok((
        [
            (header::CONTENT_TYPE, media.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}
