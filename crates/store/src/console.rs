//! The desktop console's local cache (its own database, migrations in `/migrations/console`).
//!
//! It keeps the last known copy of every request the reviewer saw, so the queue and history
//! survive a restart and stay readable offline, and the decisions signed while the gateway was
//! unreachable, so none is lost before it is sent. A decision's outcome is recorded once the
//! gateway answers, so the console can say honestly what happened to it.

use std::path::Path;

use countersign_wire::api::RequestRecord;
use countersign_wire::console::DecideOutcome;
use countersign_wire::{DecisionKind, Timestamp, TrustStore};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::error::{Result, StoreError};
use crate::rows::Column as _;

/// Handle to the console's cache database.
#[derive(Clone)]
pub struct ConsoleCache {
    pool: SqlitePool,
}

/// A decision this console signed, with what became of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedDecision {
    /// Row id (delivery order).
    pub id: i64,
    /// Request decided.
    pub request_id: String,
    /// Approve or reject.
    pub decision: DecisionKind,
    /// The decision JWS, as signed.
    pub jws: String,
    /// When it was queued.
    pub queued_at: Timestamp,
    /// `None` while the gateway has not answered.
    pub outcome: Option<DecideOutcome>,
    /// When the gateway answered.
    pub settled_at: Option<Timestamp>,
}

impl ConsoleCache {
    /// Opens (creating and migrating) the cache at `path`.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // A queued decision must survive the app being killed right after signing.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(10));
        // One process, few writes: one connection keeps writes ordered.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        sqlx::migrate!("../../migrations/console")
            .run(&pool)
            .await?;
        Ok(ConsoleCache { pool })
    }

    /// Every cached record.
    pub async fn records(&self) -> Result<Vec<RequestRecord>> {
        sqlx::query("SELECT record FROM records ORDER BY request_id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                serde_json::from_str(row.col::<&str>("record")?)
                    .map_err(|e| StoreError::Corrupt(format!("cached record: {e}")))
            })
            .collect()
    }

    /// Stores the latest copy of these records (one transaction).
    pub async fn put(&self, records: &[RequestRecord], at: Timestamp) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for record in records {
            let json = serde_json::to_string(record)
                .map_err(|e| StoreError::Corrupt(format!("record to cache: {e}")))?;
            sqlx::query(
                "INSERT INTO records (request_id, state, record, updated_at) VALUES (?, ?, ?, ?)
                 ON CONFLICT(request_id) DO UPDATE SET state = excluded.state,
                     record = excluded.record, updated_at = excluded.updated_at",
            )
            .bind(&record.request_id)
            .bind(record.state.as_str())
            .bind(json)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Remembers the gateway's trust store.
    pub async fn put_trust(&self, trust: &TrustStore, at: Timestamp) -> Result<()> {
        let json = serde_json::to_string(trust)
            .map_err(|e| StoreError::Corrupt(format!("trust store to cache: {e}")))?;
        sqlx::query(
            "INSERT INTO trust (id, store, fetched_at) VALUES (1, ?, ?)
             ON CONFLICT(id) DO UPDATE SET store = excluded.store, fetched_at = excluded.fetched_at",
        )
        .bind(json)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The trust store last fetched from the gateway, if any.
    pub async fn trust(&self) -> Result<Option<TrustStore>> {
        sqlx::query("SELECT store FROM trust WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?
            .map(|row| {
                serde_json::from_str(row.col::<&str>("store")?)
                    .map_err(|e| StoreError::Corrupt(format!("cached trust store: {e}")))
            })
            .transpose()
    }

    /// Records a decision signed by this console, before anything is sent.
    pub async fn queue_decision(
        &self,
        request_id: &str,
        decision: DecisionKind,
        jws: &str,
        at: Timestamp,
    ) -> Result<i64> {
        let id = sqlx::query(
            "INSERT INTO deliveries (request_id, decision, jws, queued_at) VALUES (?, ?, ?, ?)",
        )
        .bind(request_id)
        .bind(decision.as_str())
        .bind(jws)
        .bind(at)
        .execute(&self.pool)
        .await?
        .last_insert_rowid();
        Ok(id)
    }

    /// Records what the gateway said about a queued decision.
    pub async fn settle(&self, id: i64, outcome: &DecideOutcome, at: Timestamp) -> Result<()> {
        let json = serde_json::to_string(outcome)
            .map_err(|e| StoreError::Corrupt(format!("outcome to cache: {e}")))?;
        sqlx::query("UPDATE deliveries SET outcome = ?, settled_at = ? WHERE id = ?")
            .bind(json)
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Puts a request aside until `until` ("Not now"); snoozing it again moves the time.
    pub async fn snooze(&self, request_id: &str, until: Timestamp, at: Timestamp) -> Result<()> {
        sqlx::query(
            "INSERT INTO snoozes (request_id, until, snoozed_at) VALUES (?, ?, ?) \
             ON CONFLICT (request_id) DO UPDATE SET until = excluded.until, snoozed_at = excluded.snoozed_at",
        )
        .bind(request_id)
        .bind(until)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Brings requests back before (or when) their snooze ends.
    pub async fn unsnooze(&self, request_ids: &[String]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for request_id in request_ids {
            sqlx::query("DELETE FROM snoozes WHERE request_id = ?")
                .bind(request_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every snoozed request with the time it comes back.
    pub async fn snoozes(&self) -> Result<Vec<(String, Timestamp)>> {
        sqlx::query("SELECT request_id, until FROM snoozes ORDER BY until, request_id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| Ok((row.col("request_id")?, row.col("until")?)))
            .collect()
    }

    /// Decisions the gateway has not answered yet, oldest first.
    pub async fn unsettled(&self) -> Result<Vec<SignedDecision>> {
        self.deliveries_where("outcome IS NULL ORDER BY id").await
    }

    /// Every decision this console signed, newest first.
    pub async fn deliveries(&self) -> Result<Vec<SignedDecision>> {
        self.deliveries_where("1 ORDER BY id DESC").await
    }

    async fn deliveries_where(&self, clause: &str) -> Result<Vec<SignedDecision>> {
        sqlx::query(&format!(
            "SELECT id, request_id, decision, jws, queued_at, outcome, settled_at FROM deliveries WHERE {clause}"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            let kind = row.col::<&str>("decision")?;
            let decision = DecisionKind::parse(kind)
                .ok_or_else(|| StoreError::Corrupt(format!("decision kind {kind}")))?;
            let outcome = row
                .col::<Option<&str>>("outcome")?
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("cached outcome: {e}")))?;
            Ok(SignedDecision {
                id: row.col("id")?,
                request_id: row.col("request_id")?,
                decision,
                jws: row.col("jws")?,
                queued_at: row.col("queued_at")?,
                outcome,
                settled_at: row.col("settled_at")?,
            })
        })
        .collect()
    }
}
