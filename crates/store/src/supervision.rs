//! The supervisors' side of storage: escalations and their reasons, assignment, "shown to a
//! reviewer" and export events. Every change comes with its event in the same transaction.

use std::collections::HashMap;

use countersign_review::escalation::{Raise, RaisedEscalation};
use countersign_review::metrics::RequestFacts;
use countersign_wire::api::{EscalationReason, EventKind, GatewayEvent, RequestState};
use countersign_wire::{Tier, Timestamp};
use sqlx::sqlite::SqliteRow;

use crate::Store;
use crate::error::{Result, corrupt};
use crate::events::{EventRow, append_event, state_of};
use crate::rows::Column as _;
use crate::rows::{parse_state, parse_tier};

/// Outcome of [`Store::escalate`] and [`Store::assign`].
#[derive(Clone, Debug)]
pub enum SupervisionWrite {
    /// Done, with its event.
    Done(GatewayEvent),
    /// Nothing new: already raised at this level with this note.
    Unchanged,
    /// The request is not open (or does not exist: `Refused`).
    NotOpen(RequestState),
}

/// An open request old enough to be overdue under some tier's deadline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverdueCandidate {
    /// Request id.
    pub request_id: String,
    /// Its tier.
    pub tier: Tier,
    /// Receive time.
    pub received_at: Timestamp,
    /// Overdue level already raised, if any.
    pub level: Option<u32>,
}

fn escalation_from_row(row: &SqliteRow) -> Result<RaisedEscalation> {
    let reason: String = row.col("reason")?;
    Ok(RaisedEscalation {
        reason: EscalationReason::parse(&reason).ok_or_else(|| corrupt("reason", &reason))?,
        level: u32::try_from(row.col::<i64>("level")?).unwrap_or(0),
        notify: serde_json::from_str(row.col("notify")?).map_err(|e| corrupt("notify", e))?,
        note: row.col("note")?,
        raised_by: row.col("raised_by")?,
        raised_at: row.col("raised_at")?,
    })
}

/// Inserts or re-opens an escalation; true when something changed (new, reopened, a higher
/// level or a new note).
pub(crate) async fn raise_in(
    tx: &mut sqlx::SqliteConnection,
    request_id: &str,
    raise: &Raise,
) -> Result<bool> {
    let notify = serde_json::to_string(&raise.notify).map_err(|e| corrupt("notify", e))?;
    let changed = sqlx::query(
        "INSERT INTO escalations (request_id, reason, level, notify, note, raised_by, raised_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (request_id, reason) DO UPDATE SET
             level = MAX(level, excluded.level), notify = excluded.notify, note = excluded.note,
             raised_by = excluded.raised_by,
             raised_at = CASE WHEN closed_at IS NULL THEN raised_at ELSE excluded.raised_at END,
             closed_at = NULL
         WHERE closed_at IS NOT NULL OR excluded.level > level OR excluded.note != note",
    )
    .bind(request_id)
    .bind(raise.reason.as_str())
    .bind(i64::from(raise.level))
    .bind(notify)
    .bind(&raise.note)
    .bind(&raise.raised_by)
    .bind(raise.at)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    Ok(changed > 0)
}

/// The state of an open request, or why it is not open.
pub(crate) async fn open_state(
    tx: &mut sqlx::SqliteConnection,
    request_id: &str,
) -> Result<std::result::Result<RequestState, RequestState>> {
    let state = state_of(tx, request_id)
        .await?
        .unwrap_or(RequestState::Refused);
    Ok(if state.is_open() {
        Ok(state)
    } else {
        Err(state)
    })
}

/// The `state` column of events that are not about one request (exports).
const NO_REQUEST_STATE: &str = "none";

impl Store {
    /// Raises an escalation on an open request, with its `request_escalated` event.
    pub async fn escalate(&self, request_id: &str, raise: &Raise) -> Result<SupervisionWrite> {
        let mut tx = self.write.begin().await?;
        let state = match open_state(&mut tx, request_id).await? {
            Ok(state) => state,
            Err(state) => return Ok(SupervisionWrite::NotOpen(state)),
        };
        if !raise_in(&mut tx, request_id, raise).await? {
            return Ok(SupervisionWrite::Unchanged);
        }
        let detail = serde_json::json!({
            "reason": raise.reason.as_str(),
            "level": raise.level,
            "notify": raise.notify,
            "note": raise.note,
        });
        let event = append_event(
            &mut tx,
            EventRow {
                detail: Some(detail.to_string()),
                ..EventRow::new(
                    EventKind::RequestEscalated,
                    request_id,
                    state,
                    raise.at,
                    Some(&raise.raised_by),
                )
            },
        )
        .await?;
        tx.commit().await?;
        Ok(SupervisionWrite::Done(event))
    }

    /// A supervisor hands an open request to a reviewer: the escalations a reviewer can
    /// settle are closed (findings that block reviewers and a waiting quorum stay).
    pub async fn assign(
        &self,
        request_id: &str,
        reviewer: &str,
        by: &str,
        note: &str,
        at: Timestamp,
    ) -> Result<SupervisionWrite> {
        let mut tx = self.write.begin().await?;
        let state = match open_state(&mut tx, request_id).await? {
            Ok(state) => state,
            Err(state) => return Ok(SupervisionWrite::NotOpen(state)),
        };
        sqlx::query("UPDATE requests SET assigned_to = ? WHERE request_id = ?")
            .bind(reviewer)
            .bind(request_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE escalations SET closed_at = ? WHERE request_id = ? AND closed_at IS NULL AND reason NOT IN ('blocked_by_findings', 'awaiting_second_approver')")
            .bind(at)
            .bind(request_id)
            .execute(&mut *tx)
            .await?;
        let event = append_event(
            &mut tx,
            EventRow {
                detail: Some(serde_json::json!({ "to": reviewer, "note": note }).to_string()),
                ..EventRow::new(EventKind::RequestAssigned, request_id, state, at, Some(by))
            },
        )
        .await?;
        tx.commit().await?;
        Ok(SupervisionWrite::Done(event))
    }

    /// Records that a console showed a request to `reviewer`: once per reviewer and request.
    pub async fn mark_shown(
        &self,
        request_id: &str,
        reviewer: &str,
        at: Timestamp,
    ) -> Result<Option<GatewayEvent>> {
        let mut tx = self.write.begin().await?;
        let Some(state) = state_of(&mut tx, request_id).await? else {
            return Ok(None);
        };
        let seen: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM events WHERE request_id = ? AND kind = 'request_shown' AND actor = ?",
        )
        .bind(request_id)
        .bind(reviewer)
        .fetch_optional(&mut *tx)
        .await?;
        if seen.is_some() {
            return Ok(None);
        }
        let event = append_event(
            &mut tx,
            EventRow::new(
                EventKind::RequestShown,
                request_id,
                state,
                at,
                Some(reviewer),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(event))
    }

    /// Records an export in the audit log (`request_id` is the export's id; `detail` what
    /// was exported and the manifest's digest). Not sent to consoles.
    pub async fn record_export(
        &self,
        export_id: &str,
        actor: &str,
        at: Timestamp,
        detail: &serde_json::Value,
    ) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO events (kind, request_id, state, at, actor, detail) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(EventKind::RecordsExported.as_str())
        .bind(export_id)
        .bind(NO_REQUEST_STATE)
        .bind(at)
        .bind(actor)
        .bind(detail.to_string())
        .fetch_one(&self.write)
        .await?)
    }

    /// Open requests received at or before `received_before`, with the overdue level
    /// already raised.
    pub async fn overdue_candidates(
        &self,
        received_before: Timestamp,
    ) -> Result<Vec<OverdueCandidate>> {
        sqlx::query(
            concat!("SELECT r.request_id, r.tier, r.received_at,
                 (SELECT level FROM escalations e WHERE e.request_id = r.request_id AND e.reason = 'overdue') AS level
             FROM requests r WHERE r.state IN ", open_states!(), " AND r.received_at <= ?"),
        )
        .bind(received_before)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|row| {
            Ok(OverdueCandidate {
                request_id: row.col("request_id")?,
                tier: parse_tier(row.col("tier")?)?,
                received_at: row.col("received_at")?,
                level: row
                    .col::<Option<i64>>("level")?
                    .map(|l| u32::try_from(l).unwrap_or(0)),
            })
        })
        .collect()
    }

    /// Open escalations of open requests, by request.
    pub async fn open_escalations(&self) -> Result<HashMap<String, Vec<RaisedEscalation>>> {
        let mut by_request: HashMap<String, Vec<RaisedEscalation>> = HashMap::new();
        for row in sqlx::query(concat!(
            "SELECT e.* FROM escalations e JOIN requests r ON r.request_id = e.request_id
             WHERE e.closed_at IS NULL AND r.state IN ",
            open_states!(),
            ""
        ))
        .fetch_all(&self.read)
        .await?
        {
            by_request
                .entry(row.col("request_id")?)
                .or_default()
                .push(escalation_from_row(&row)?);
        }
        Ok(by_request)
    }

    /// Open escalations of one request.
    pub async fn escalations_of(&self, request_id: &str) -> Result<Vec<RaisedEscalation>> {
        sqlx::query("SELECT * FROM escalations WHERE request_id = ? AND closed_at IS NULL")
            .bind(request_id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(escalation_from_row)
            .collect()
    }
}

impl Store {
    /// What the review measures need about each request received in `[from, to)`.
    pub async fn request_times(&self, from: Timestamp, to: Timestamp) -> Result<Vec<RequestFacts>> {
        sqlx::query(
            "SELECT r.received_at, r.state,
                 -- a quorum waiting for its second approver is the normal path, not an exception
                 EXISTS (SELECT 1 FROM escalations e WHERE e.request_id = r.request_id
                         AND e.reason != 'awaiting_second_approver') AS escalated,
                 (SELECT d.decided_at FROM decisions d WHERE d.request_id = r.request_id ORDER BY d.rowid DESC LIMIT 1) AS decided_at,
                 (SELECT d.decision FROM decisions d WHERE d.request_id = r.request_id ORDER BY d.rowid DESC LIMIT 1) AS decision,
                 EXISTS (SELECT 1 FROM events v WHERE v.request_id = r.request_id AND v.kind = 'request_decided'
                         AND json_extract(v.detail, '$.override') = 1) AS overridden,
                 (SELECT recorded_at FROM receipts c WHERE c.request_id = r.request_id) AS receipt_at
             FROM requests r WHERE r.received_at >= ? AND r.received_at < ? ORDER BY r.received_at",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|row| {
            let state = parse_state(row.col("state")?)?;
            let decided_at: Option<Timestamp> = row.col("decided_at")?;
            let decision: Option<String> = row.col("decision")?;
            let settled = matches!(state, RequestState::Approved | RequestState::Rejected);
            let decided = match (decided_at, decision) {
                (Some(at), Some(kind)) if settled => Some((
                    at,
                    countersign_wire::DecisionKind::parse(&kind)
                        .ok_or_else(|| corrupt("decision", &kind))?,
                )),
                _ => None,
            };
            Ok(RequestFacts {
                received_at: row.col("received_at")?,
                state,
                escalated: row.col("escalated")?,
                decided,
                overridden: row.col("overridden")?,
                receipt_at: row.col("receipt_at")?,
            })
        })
        .collect()
    }

    /// Events recorded and events sealed into the audit log.
    pub async fn audit_counts(&self) -> Result<(u64, u64)> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM events) AS events, (SELECT COUNT(*) FROM audit_entries) AS sealed",
        )
        .fetch_one(&self.read)
        .await?;
        let count = |name: &str| row.col::<i64>(name).map(|n| u64::try_from(n).unwrap_or(0));
        Ok((count("events")?, count("sealed")?))
    }
}
