//! The audit log's storage: events as they are sealed into the Merkle tree, and the signed
//! checkpoints. The tree itself is computed by `countersign-audit`; this only stores and reads.

use crate::Store;
use crate::error::Result;
use crate::rows::Column as _;
use countersign_wire::Timestamp;

/// An event with what the audit entry commits to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventForAudit {
    /// Event id.
    pub id: i64,
    /// Kind (`request_added`, …).
    pub kind: String,
    /// Request id.
    pub request_id: String,
    /// Request state after the event.
    pub state: String,
    /// When.
    pub at: Timestamp,
    /// Who caused it, if a person.
    pub actor: Option<String>,
    /// The request's digest, if the request is stored.
    pub request_digest: Option<String>,
    /// The decision's JWS, for decision events.
    pub decision_jws: Option<String>,
    /// Structured detail (JSON), for events that have it.
    pub detail: Option<String>,
}

/// One sealed entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Leaf index.
    pub seq: i64,
    /// The event it records.
    pub event_id: i64,
    /// The exact bytes hashed into the leaf.
    pub entry: String,
    /// The RFC 9162 leaf hash.
    pub leaf_hash: Vec<u8>,
}

impl Store {
    /// Events after `after` (an event id), oldest first, with what their entries commit to.
    pub async fn events_for_audit(&self, after: i64, limit: i64) -> Result<Vec<EventForAudit>> {
        self.events_for_audit_where("e.id > ? ORDER BY e.id LIMIT ?", after, limit)
            .await
    }

    /// Specific events (by id), as they are stored now: what `audit verify` re-derives.
    pub async fn event_for_audit(&self, id: i64) -> Result<Option<EventForAudit>> {
        Ok(self
            .events_for_audit_where("e.id = ? LIMIT ?", id, 1)
            .await?
            .pop())
    }

    async fn events_for_audit_where(
        &self,
        clause: &str,
        first: i64,
        second: i64,
    ) -> Result<Vec<EventForAudit>> {
        let sql = format!(
            "SELECT e.id, e.kind, e.request_id, e.state, e.at, e.actor, e.detail, r.request_digest,
                 COALESCE(
                     (SELECT d.jws FROM decisions d WHERE d.jti = e.decision_jti),
                     -- events from before decision_jti existed: one decision per request then
                     CASE WHEN e.decision_jti IS NULL THEN (SELECT d.jws FROM decisions d WHERE d.request_id = e.request_id ORDER BY d.decided_at LIMIT 1) END
                 ) AS decision_jws
             FROM events e LEFT JOIN requests r ON r.request_id = e.request_id
             WHERE {clause}"
        );
        sqlx::query(&sql)
            .bind(first)
            .bind(second)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|row| {
                Ok(EventForAudit {
                    id: row.col("id")?,
                    kind: row.col("kind")?,
                    request_id: row.col("request_id")?,
                    state: row.col("state")?,
                    at: row.col("at")?,
                    actor: row.col("actor")?,
                    request_digest: row.col("request_digest")?,
                    decision_jws: row.col("decision_jws")?,
                    detail: row.col("detail")?,
                })
            })
            .collect()
    }

    /// Every sealed entry, in leaf order.
    pub async fn audit_entries(&self) -> Result<Vec<AuditEntry>> {
        sqlx::query("SELECT seq, event_id, entry, leaf_hash FROM audit_entries ORDER BY seq")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|row| {
                Ok(AuditEntry {
                    seq: row.col("seq")?,
                    event_id: row.col("event_id")?,
                    entry: row.col("entry")?,
                    leaf_hash: row.col("leaf_hash")?,
                })
            })
            .collect()
    }

    /// Appends entries and the checkpoint that covers them, in one transaction.
    pub async fn seal(
        &self,
        entries: &[AuditEntry],
        checkpoint: &str,
        at: Timestamp,
    ) -> Result<()> {
        let mut tx = self.write.begin().await?;
        for entry in entries {
            sqlx::query(
                "INSERT INTO audit_entries (seq, event_id, entry, leaf_hash) VALUES (?, ?, ?, ?)",
            )
            .bind(entry.seq)
            .bind(entry.event_id)
            .bind(&entry.entry)
            .bind(&entry.leaf_hash)
            .execute(&mut *tx)
            .await?;
        }
        let size = entries.last().map_or(0, |e| e.seq + 1);
        sqlx::query("INSERT INTO audit_checkpoints (size, note, signed_at) VALUES (?, ?, ?)")
            .bind(size)
            .bind(checkpoint)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every signed checkpoint, smallest tree first: (size, signed note).
    pub async fn audit_checkpoints(&self) -> Result<Vec<(i64, String)>> {
        sqlx::query("SELECT size, note FROM audit_checkpoints ORDER BY size")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|row| Ok((row.col("size")?, row.col("note")?)))
            .collect()
    }

    /// The newest signed checkpoint (the largest tree), if any: (size, signed note).
    pub async fn latest_checkpoint(&self) -> Result<Option<(i64, String)>> {
        sqlx::query("SELECT size, note FROM audit_checkpoints ORDER BY size DESC LIMIT 1")
            .fetch_optional(&self.read)
            .await?
            .map(|row| Ok((row.col("size")?, row.col("note")?)))
            .transpose()
    }

    /// Leaf hashes of the entries `[start, end)`, in order.
    pub async fn leaf_hash_range(&self, start: i64, end: i64) -> Result<Vec<Vec<u8>>> {
        Ok(sqlx::query_scalar(
            "SELECT leaf_hash FROM audit_entries WHERE seq >= ? AND seq < ? ORDER BY seq",
        )
        .bind(start)
        .bind(end)
        .fetch_all(&self.read)
        .await?)
    }

    /// The entries' bytes `[start, end)`, in order.
    pub async fn entry_range(&self, start: i64, end: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT entry FROM audit_entries WHERE seq >= ? AND seq < ? ORDER BY seq",
        )
        .bind(start)
        .bind(end)
        .fetch_all(&self.read)
        .await?)
    }

    /// The signed checkpoint of one size, if the log signed one.
    pub async fn checkpoint_of_size(&self, size: i64) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT note FROM audit_checkpoints WHERE size = ?")
                .bind(size)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    /// Records a witness's cosignature on the checkpoint of `size`, and that the witness now
    /// holds that size, in one transaction.
    pub async fn add_cosignature(&self, size: i64, witness: &str, line: &str) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO audit_cosignatures (size, witness, line) VALUES (?, ?, ?)
             ON CONFLICT (size, witness) DO UPDATE SET line = excluded.line",
        )
        .bind(size)
        .bind(witness)
        .bind(line)
        .execute(&mut *tx)
        .await?;
        set_witness_size(&mut tx, witness, size).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Cosignature lines on the checkpoint of `size`, by witness name.
    pub async fn cosignatures(&self, size: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT line FROM audit_cosignatures WHERE size = ? ORDER BY witness",
        )
        .bind(size)
        .fetch_all(&self.read)
        .await?)
    }

    /// The size of the latest checkpoint `witness` is known to hold (0: none).
    pub async fn witness_size(&self, witness: &str) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT size FROM audit_witnesses WHERE witness = ?")
                .bind(witness)
                .fetch_optional(&self.read)
                .await?
                .unwrap_or(0),
        )
    }

    /// What a witness said it holds (its answer to a stale `old` size).
    pub async fn set_witness_size(&self, witness: &str, size: i64) -> Result<()> {
        let mut tx = self.write.begin().await?;
        set_witness_size(&mut tx, witness, size).await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn set_witness_size(tx: &mut sqlx::SqliteConnection, witness: &str, size: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_witnesses (witness, size) VALUES (?, ?)
         ON CONFLICT (witness) DO UPDATE SET size = excluded.size",
    )
    .bind(witness)
    .bind(size)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
