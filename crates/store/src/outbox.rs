//! The outbox: deliveries queued in the transaction that settled a request, attempted until
//! they succeed.

use countersign_wire::Timestamp;
use countersign_wire::api::{EventKind, GatewayEvent, RequestState, WebhookDelivery};

use crate::error::{Result, corrupt};
use crate::events::{EventRow, append_event, state_of};
use crate::rows::Column as _;
use crate::{Store, a2a};

/// A webhook delivery due for an attempt.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// Idempotency key.
    pub delivery_id: String,
    /// Request id.
    pub request_id: String,
    /// Target URL.
    pub url: String,
    /// Exact body.
    pub body: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// What kind of receiver it is for.
    pub channel: DeliveryChannel,
}

/// The receiver an outbox row is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryChannel {
    /// The request's callback; `body` is the exact body.
    Webhook,
    /// An A2A push-notification config; the gateway renders the task it ended as.
    A2aPush {
        /// The task.
        task_id: String,
        /// The config.
        config_id: String,
    },
}

/// Queues what a request's final state is delivered to, in the transaction that set it: its
/// webhook (when it has a callback) and every A2A push config of its task.
pub(crate) async fn enqueue_final_delivery(
    tx: &mut sqlx::SqliteConnection,
    request_id: &str,
    callback: Option<&str>,
    state: RequestState,
    decision_jws: Option<&str>,
    at: Timestamp,
) -> Result<()> {
    // One final delivery per request and receiver; its id doubles as the receiver's
    // idempotency key.
    let delivery_id = format!("{request_id}:{}", state.as_str());
    if let Some(url) = callback {
        let body = serde_json::to_string(&WebhookDelivery {
            delivery_id: delivery_id.clone(),
            request_id: request_id.to_owned(),
            state,
            decision_jws: decision_jws.map(str::to_owned),
        })
        .map_err(|e| corrupt("webhook body", e))?;
        sqlx::query(
            "INSERT OR IGNORE INTO outbox (delivery_id, request_id, url, body, attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, 0, ?, ?)",
        )
        .bind(&delivery_id)
        .bind(request_id)
        .bind(url)
        .bind(body)
        .bind(at)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    }
    a2a::enqueue_pushes(tx, request_id, &delivery_id, None, at).await
}

impl Store {
    /// Deliveries due at `at`.
    pub async fn due_deliveries(&self, at: Timestamp, limit: i64) -> Result<Vec<Delivery>> {
        let rows = sqlx::query("SELECT delivery_id, request_id, url, body, attempts, channel, task_id, config_id FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?")
            .bind(at)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(Delivery {
                    delivery_id: row.col("delivery_id")?,
                    request_id: row.col("request_id")?,
                    url: row.col("url")?,
                    body: row.col("body")?,
                    attempts: row.col::<i64>("attempts")? as u32,
                    channel: match (
                        row.col::<&str>("channel")?,
                        row.col::<Option<String>>("task_id")?,
                        row.col::<Option<String>>("config_id")?,
                    ) {
                        ("a2a_push", Some(task_id), Some(config_id)) => {
                            DeliveryChannel::A2aPush { task_id, config_id }
                        }
                        _ => DeliveryChannel::Webhook,
                    },
                })
            })
            .collect()
    }

    /// Marks a delivery done, with its `decision_delivered` event (once, even if a retry
    /// succeeds again after a crash).
    pub async fn delivery_succeeded(
        &self,
        delivery_id: &str,
        at: Timestamp,
    ) -> Result<Option<GatewayEvent>> {
        let mut tx = self.write.begin().await?;
        let request_id: Option<String> = sqlx::query_scalar("UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE delivery_id = ? AND delivered_at IS NULL RETURNING request_id")
            .bind(at)
            .bind(delivery_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(request_id) = request_id else {
            return Ok(None);
        };
        let state = state_of(&mut tx, &request_id)
            .await?
            .ok_or_else(|| corrupt("outbox request", &request_id))?;
        let event = append_event(
            &mut tx,
            EventRow {
                detail: Some(serde_json::json!({ "delivery_id": delivery_id }).to_string()),
                ..EventRow::new(EventKind::DecisionDelivered, &request_id, state, at, None)
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Some(event))
    }

    /// Records a failed attempt and when to try again.
    pub async fn delivery_failed(
        &self,
        delivery_id: &str,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> Result<()> {
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE delivery_id = ?")
            .bind(next_attempt_at)
            .bind(error)
            .bind(delivery_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
