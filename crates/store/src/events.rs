//! The events table: every state change appends one, in the transaction that made it; consoles
//! and the audit log follow it.

use countersign_wire::Timestamp;
use countersign_wire::api::{EventKind, GatewayEvent, RequestState};

use crate::Store;
use crate::error::Result;
use crate::rows::{event_from_row, parse_state};

/// An event about to be appended.
pub(crate) struct EventRow<'a> {
    pub(crate) kind: EventKind,
    pub(crate) request_id: &'a str,
    pub(crate) state: RequestState,
    pub(crate) at: Timestamp,
    pub(crate) actor: Option<&'a str>,
    /// JSON detail sealed with the event.
    pub(crate) detail: Option<String>,
    /// For decision events: the decision recorded.
    pub(crate) decision_jti: Option<&'a str>,
}

impl<'a> EventRow<'a> {
    pub(crate) fn new(
        kind: EventKind,
        request_id: &'a str,
        state: RequestState,
        at: Timestamp,
        actor: Option<&'a str>,
    ) -> Self {
        EventRow {
            kind,
            request_id,
            state,
            at,
            actor,
            detail: None,
            decision_jti: None,
        }
    }
}

/// A request's state inside a transaction; `None` when there is no such request.
pub(crate) async fn state_of(
    tx: &mut sqlx::SqliteConnection,
    request_id: &str,
) -> Result<Option<RequestState>> {
    let state: Option<String> =
        sqlx::query_scalar("SELECT state FROM requests WHERE request_id = ?")
            .bind(request_id)
            .fetch_optional(&mut *tx)
            .await?;
    state.as_deref().map(parse_state).transpose()
}

pub(crate) async fn append_event(
    tx: &mut sqlx::SqliteConnection,
    row: EventRow<'_>,
) -> Result<GatewayEvent> {
    let id: i64 = sqlx::query_scalar("INSERT INTO events (kind, request_id, state, at, actor, detail, decision_jti) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id")
        .bind(row.kind.as_str())
        .bind(row.request_id)
        .bind(row.state.as_str())
        .bind(row.at)
        .bind(row.actor)
        .bind(&row.detail)
        .bind(row.decision_jti)
        .fetch_one(&mut *tx)
        .await?;
    Ok(GatewayEvent {
        id,
        kind: row.kind,
        request_id: row.request_id.to_owned(),
        state: row.state,
        at: row.at,
    })
}

impl Store {
    /// Events after `after`, oldest first: what consoles follow (exports and refusals
    /// without a request id are only in the audit log).
    pub async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<GatewayEvent>> {
        sqlx::query(
            "SELECT id, kind, request_id, state, at FROM events WHERE id > ? AND kind NOT IN ('records_exported', 'reviewer_enrolled') AND request_id NOT LIKE 'intake-refusal:%' ORDER BY id LIMIT ?",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(event_from_row)
        .collect()
    }

    /// Id of the newest event (0 when there is none).
    pub async fn last_event_id(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM events")
                .fetch_one(&self.read)
                .await?,
        )
    }
}
