//! What the operator's metrics read from the database at each scrape: the queue by state and
//! tier, the outbox backlog, and how far the audit log's sealing lags behind the events.

use countersign_wire::api::RequestState;
use countersign_wire::{Tier, Timestamp};

use crate::Store;
use crate::error::Result;
use crate::rows::{Column as _, parse_state, parse_tier};

/// The gauges, as of one read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Gauges {
    /// Open requests by state and tier (combinations with none are absent).
    pub queue: Vec<(RequestState, Tier, i64)>,
    /// Deliveries not yet delivered.
    pub outbox_pending: i64,
    /// Attempts made so far on those.
    pub outbox_attempts: i64,
    /// Events not yet sealed into the audit log.
    pub unsealed_events: i64,
    /// When the oldest of them happened.
    pub oldest_unsealed_at: Option<Timestamp>,
}

impl Store {
    /// Reads the gauges.
    pub async fn gauges(&self) -> Result<Gauges> {
        let queue = sqlx::query(concat!(
            "SELECT state, tier, COUNT(*) AS n FROM requests WHERE state IN ",
            open_states!(),
            " GROUP BY state, tier ORDER BY state, tier"
        ))
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|row| {
            Ok((
                parse_state(row.col("state")?)?,
                parse_tier(row.col("tier")?)?,
                row.col("n")?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
        let outbox = sqlx::query(
            "SELECT COUNT(*) AS n, COALESCE(SUM(attempts), 0) AS attempts FROM outbox WHERE delivered_at IS NULL",
        )
        .fetch_one(&self.read)
        .await?;
        let unsealed = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM events
             WHERE id > COALESCE((SELECT MAX(event_id) FROM audit_entries), 0)",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(Gauges {
            queue,
            outbox_pending: outbox.col("n")?,
            outbox_attempts: outbox.col("attempts")?,
            unsealed_events: unsealed.col("n")?,
            oldest_unsealed_at: unsealed.col("oldest")?,
        })
    }
}
