//! Reading rows back into types. A value that does not decode is `StoreError::Corrupt`,
//! never a panic: the database may have been edited by hand.

use countersign_wire::api::{DecisionRecord, GatewayEvent, RequestState};
use countersign_wire::{DecisionKind, Tier};
use sqlx::sqlite::SqliteRow;
use sqlx::{Decode, Row, Sqlite, Type};

use crate::error::{Result, corrupt};
use crate::requests::StoredRequest;

/// Reading a column: a value that is missing or of another type is `Corrupt`, naming the
/// column, instead of the panic `Row::get` would raise.
pub(crate) trait Column {
    /// The column `name` decoded as `T`.
    fn col<'r, T: Decode<'r, Sqlite> + Type<Sqlite>>(&'r self, name: &str) -> Result<T>;
}

impl Column for SqliteRow {
    fn col<'r, T: Decode<'r, Sqlite> + Type<Sqlite>>(&'r self, name: &str) -> Result<T> {
        self.try_get(name).map_err(|e| corrupt(name, e))
    }
}

pub(crate) fn parse_state(text: &str) -> Result<RequestState> {
    RequestState::parse(text).ok_or_else(|| corrupt("state", text))
}

pub(crate) fn parse_tier(text: &str) -> Result<Tier> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|e| corrupt("tier", e))
}

pub(crate) fn request_from_row(row: &SqliteRow) -> Result<StoredRequest> {
    Ok(StoredRequest {
        request_id: row.col("request_id")?,
        workflow: row.col("workflow")?,
        state: parse_state(row.col("state")?)?,
        tier: parse_tier(row.col("tier")?)?,
        txn: row.col("txn")?,
        expires_at: row.col("expires_at")?,
        received_at: row.col("received_at")?,
        request_digest: row.col("request_digest")?,
        body: row.col("body")?,
        report: serde_json::from_str(row.col("report")?).map_err(|e| corrupt("report", e))?,
        principal: row.col("principal")?,
        parties: serde_json::from_str(row.col("parties")?).map_err(|e| corrupt("parties", e))?,
        callback_url: row.col("callback_url")?,
        assigned_to: row.col("assigned_to")?,
    })
}

pub(crate) fn decision_from_row(row: &SqliteRow) -> Result<DecisionRecord> {
    let decision: String = row.col("decision")?;
    Ok(DecisionRecord {
        decision: DecisionKind::parse(&decision).ok_or_else(|| corrupt("decision", &decision))?,
        decided_by: row.col("decided_by")?,
        reason: row.col("reason")?,
        decided_at: row.col("decided_at")?,
        decision_jws: row.col("jws")?,
    })
}

pub(crate) fn event_from_row(row: &SqliteRow) -> Result<GatewayEvent> {
    let kind: String = row.col("kind")?;
    Ok(GatewayEvent {
        id: row.col("id")?,
        kind: serde_json::from_value(serde_json::Value::String(kind.clone()))
            .map_err(|e| corrupt("event kind", e))?,
        request_id: row.col("request_id")?,
        state: parse_state(row.col("state")?)?,
        at: row.col("at")?,
    })
}
