//! Decisions and receipts: single use, first final decision wins, quorum counting, each with
//! its event and deliveries in one transaction.

use countersign_review::{Raise, Tally};
use countersign_wire::api::{DecisionRecord, EventKind, GatewayEvent, Receipt, RequestState};
use countersign_wire::{DecisionKind, Timestamp};

use crate::error::{Result, corrupt};
use crate::events::{EventRow, append_event, state_of};
use crate::outbox::enqueue_final_delivery;
use crate::rows::Column as _;
use crate::rows::{decision_from_row, parse_state};
use crate::{Store, supervision};

/// A decision to record.
#[derive(Clone, Debug)]
pub struct NewDecision {
    /// Decision jti (single use).
    pub jti: String,
    /// Request id.
    pub request_id: String,
    /// Approve or reject.
    pub decision: DecisionKind,
    /// Reviewer identity.
    pub decided_by: String,
    /// Reason.
    pub reason: String,
    /// When the gateway accepted it.
    pub decided_at: Timestamp,
    /// The JWS.
    pub jws: String,
    /// JSON detail for the audit log (for example an override and what it acknowledged).
    pub detail: Option<String>,
}

/// Outcome of [`Store::record_decision`].
#[derive(Clone, Debug)]
pub enum DecisionWrite {
    /// Recorded; the request moved to its final state.
    Recorded(GatewayEvent),
    /// The jti was used before.
    Replayed,
    /// The request is not open any more.
    NotOpen(RequestState),
    /// Counted toward a quorum; the request stays open.
    Counted(GatewayEvent),
    /// The tally refused it (nothing was stored).
    NotCounted(String),
}

/// Outcome of [`Store::record_receipt`].
#[derive(Clone, Debug)]
pub enum ReceiptWrite {
    /// Recorded.
    Recorded(GatewayEvent),
    /// A receipt was already recorded.
    AlreadyRecorded,
    /// The request has no decision to act on.
    NotDecided(RequestState),
}

impl Store {
    /// The decision that settled a request, if any (with a quorum, the last approval).
    pub async fn decision(&self, request_id: &str) -> Result<Option<DecisionRecord>> {
        Ok(self.decisions(request_id).await?.pop())
    }

    /// Every accepted decision of a request, oldest first: partial approvals of a quorum,
    /// then the one that settled it.
    pub async fn decisions(&self, request_id: &str) -> Result<Vec<DecisionRecord>> {
        sqlx::query("SELECT decision, decided_by, reason, decided_at, jws FROM decisions WHERE request_id = ? ORDER BY rowid")
            .bind(request_id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(decision_from_row)
            .collect()
    }

    /// Every decision row with its request id, in the order recorded: what the audit check
    /// compares with the sealed entries and with each decision's own JWS.
    pub async fn all_decisions(&self) -> Result<Vec<(String, DecisionRecord)>> {
        sqlx::query("SELECT request_id, decision, decided_by, reason, decided_at, jws FROM decisions ORDER BY rowid")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|row| Ok((row.col("request_id")?, decision_from_row(row)?)))
            .collect()
    }

    /// Approvals recorded on open requests (partial quorums), by request, oldest first.
    pub async fn open_approvals(
        &self,
    ) -> Result<std::collections::HashMap<String, Vec<DecisionRecord>>> {
        let mut by_request: std::collections::HashMap<String, Vec<DecisionRecord>> =
            std::collections::HashMap::new();
        for row in sqlx::query(concat!("SELECT d.request_id, d.decision, d.decided_by, d.reason, d.decided_at, d.jws FROM decisions d JOIN requests r ON r.request_id = d.request_id WHERE r.state IN ", open_states!(), " ORDER BY d.rowid"))
            .fetch_all(&self.read)
            .await?
        {
            by_request
                .entry(row.col("request_id")?)
                .or_default()
                .push(decision_from_row(&row)?);
        }
        Ok(by_request)
    }

    /// Records an accepted decision: single use of its jti, first final decision wins, with
    /// its event and (when the request has a callback) its webhook, all in one transaction.
    ///
    /// `tally` sees who approved the request so far (inside the transaction, so two
    /// approvals racing are counted one after the other) and says whether this decision
    /// settles the request, counts toward a quorum, or cannot count.
    pub async fn record_decision(
        &self,
        decision: NewDecision,
        tally: impl FnOnce(&[String]) -> Tally,
    ) -> Result<DecisionWrite> {
        let mut tx = self.write.begin().await?;
        let used: Option<i64> = sqlx::query_scalar("SELECT 1 FROM decisions WHERE jti = ?")
            .bind(&decision.jti)
            .fetch_optional(&mut *tx)
            .await?;
        if used.is_some() {
            return Ok(DecisionWrite::Replayed);
        }
        let open = sqlx::query(concat!(
            "SELECT state, callback_url FROM requests WHERE request_id = ? AND state IN ",
            open_states!(),
            " AND expires_at > ?"
        ))
        .bind(&decision.request_id)
        .bind(decision.decided_at)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(open) = open else {
            let current = state_of(&mut tx, &decision.request_id)
                .await?
                .unwrap_or(RequestState::Refused);
            // Open but past its expiry: the sweep has not run yet; report it as expired.
            return Ok(DecisionWrite::NotOpen(if current.is_open() {
                RequestState::Expired
            } else {
                current
            }));
        };
        let open_state = parse_state(open.col("state")?)?;
        let callback: Option<String> = open.col("callback_url")?;
        let approvers: Vec<String> = sqlx::query_scalar(
            "SELECT decided_by FROM decisions WHERE request_id = ? AND decision = 'approve' ORDER BY rowid",
        )
        .bind(&decision.request_id)
        .fetch_all(&mut *tx)
        .await?;
        let settles = match tally(&approvers) {
            Tally::Refused(why) => return Ok(DecisionWrite::NotCounted(why)),
            Tally::Settles => true,
            Tally::Counts => false,
        };
        sqlx::query("INSERT INTO decisions (jti, request_id, decision, decided_by, reason, decided_at, jws) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(&decision.jti)
            .bind(&decision.request_id)
            .bind(decision.decision.as_str())
            .bind(&decision.decided_by)
            .bind(&decision.reason)
            .bind(decision.decided_at)
            .bind(&decision.jws)
            .execute(&mut *tx)
            .await?;
        // The decision's event, whether it settles the request or counts toward a quorum.
        let decision_event = |kind, state| EventRow {
            detail: decision.detail.clone(),
            decision_jti: Some(&decision.jti),
            ..EventRow::new(
                kind,
                &decision.request_id,
                state,
                decision.decided_at,
                Some(&decision.decided_by),
            )
        };
        if !settles {
            let event = append_event(
                &mut tx,
                decision_event(EventKind::ApprovalRecorded, open_state),
            )
            .await?;
            supervision::raise_in(
                &mut tx,
                &decision.request_id,
                &Raise::awaiting_second_approver(decision.decided_at),
            )
            .await?;
            tx.commit().await?;
            return Ok(DecisionWrite::Counted(event));
        }
        let state = match decision.decision {
            DecisionKind::Approve => RequestState::Approved,
            DecisionKind::Reject => RequestState::Rejected,
        };
        sqlx::query("UPDATE requests SET state = ? WHERE request_id = ?")
            .bind(state.as_str())
            .bind(&decision.request_id)
            .execute(&mut *tx)
            .await?;
        let event = append_event(&mut tx, decision_event(EventKind::RequestDecided, state)).await?;
        sqlx::query(
            "UPDATE escalations SET closed_at = ? WHERE request_id = ? AND closed_at IS NULL",
        )
        .bind(decision.decided_at)
        .bind(&decision.request_id)
        .execute(&mut *tx)
        .await?;
        enqueue_final_delivery(
            &mut tx,
            &decision.request_id,
            callback.as_deref(),
            state,
            Some(&decision.jws),
            decision.decided_at,
        )
        .await?;
        tx.commit().await?;
        Ok(DecisionWrite::Recorded(event))
    }

    /// Records the workflow's receipt for a decided request (once).
    pub async fn record_receipt(
        &self,
        request_id: &str,
        receipt: &Receipt,
        at: Timestamp,
        workflow: &str,
    ) -> Result<ReceiptWrite> {
        let mut tx = self.write.begin().await?;
        let state = state_of(&mut tx, request_id)
            .await?
            .unwrap_or(RequestState::Refused);
        if !matches!(state, RequestState::Approved | RequestState::Rejected) {
            return Ok(ReceiptWrite::NotDecided(state));
        }
        let receipt_status = serde_json::to_value(receipt.status)
            .map_err(|e| corrupt("receipt", e))?
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let inserted = sqlx::query("INSERT OR IGNORE INTO receipts (request_id, status, executed_at, detail, result_digest, recorded_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(request_id)
            .bind(&receipt_status)
            .bind(&receipt.executed_at)
            .bind(&receipt.detail)
            .bind(&receipt.result_digest)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if inserted == 0 {
            return Ok(ReceiptWrite::AlreadyRecorded);
        }
        // The receipt's content is sealed with its event, so a receipt row changed later is
        // found by `audit verify`.
        let mut row = EventRow::new(
            EventKind::ReceiptRecorded,
            request_id,
            state,
            at,
            Some(workflow),
        );
        row.detail = Some(receipt_detail(
            &receipt_status,
            &receipt.executed_at,
            &receipt.detail,
            receipt.result_digest.as_deref(),
        ));
        let event = append_event(&mut tx, row).await?;
        tx.commit().await?;
        Ok(ReceiptWrite::Recorded(event))
    }
}

/// The JSON detail a `receipt_recorded` event seals: the receipt's columns as stored.
pub fn receipt_detail(
    status: &str,
    executed_at: &str,
    detail: &str,
    result_digest: Option<&str>,
) -> String {
    serde_json::json!({
        "status": status,
        "executed_at": executed_at,
        "detail": detail,
        "result_digest": result_digest,
    })
    .to_string()
}

impl Store {
    /// Every receipt's columns as stored: (request id, its event detail form).
    pub async fn all_receipts(&self) -> Result<Vec<(String, String)>> {
        sqlx::query(
            "SELECT request_id, status, executed_at, detail, result_digest FROM receipts ORDER BY request_id",
        )
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|row| {
            let request_id: String = row.col("request_id")?;
            let status: String = row.col("status")?;
            let executed_at: String = row.col("executed_at")?;
            let detail: String = row.col("detail")?;
            let digest: Option<String> = row.col("result_digest")?;
            Ok((
                request_id,
                receipt_detail(&status, &executed_at, &detail, digest.as_deref()),
            ))
        })
        .collect()
    }

    /// Every request's state column: (request id, state as stored).
    pub async fn request_states(&self) -> Result<Vec<(String, String)>> {
        sqlx::query("SELECT request_id, state FROM requests ORDER BY request_id")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|row| Ok((row.col("request_id")?, row.col("state")?)))
            .collect()
    }
}
