//! Reading whole review records for export: requests with every decision, escalation reason,
//! receipt and audit entry, by time range or by id, in a handful of queries (an export of
//! 100,000 records must not cost a query per record).

use std::collections::HashMap;

use countersign_wire::Timestamp;
use countersign_wire::api::DecisionRecord;
use sqlx::sqlite::SqliteRow;

use crate::error::Result;
use crate::rows::Column as _;
use crate::rows::{decision_from_row, request_from_row};
use crate::{Store, StoredRequest};

/// Which requests to export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// Received in `[from, to)`.
    Received {
        /// Start.
        from: Timestamp,
        /// End, exclusive.
        to: Timestamp,
    },
    /// These request ids.
    Ids(Vec<String>),
}

/// A request and everything recorded about it.
#[derive(Clone, Debug)]
pub struct StoredReview {
    /// The request as stored.
    pub request: StoredRequest,
    /// Accepted decisions, oldest first (the settling one last).
    pub decisions: Vec<DecisionRecord>,
    /// Escalation reasons ever raised (storage form).
    pub escalations: Vec<String>,
    /// The workflow's receipt status, if any.
    pub receipt: Option<String>,
    /// Sealed audit entries about it: (leaf index, exact entry bytes), in log order.
    pub entries: Vec<(u64, String)>,
}

impl Selection {
    /// The `WHERE` clause on `requests r` and its bind values (a time binds as its text form).
    fn clause(&self) -> (String, Vec<String>) {
        match self {
            Selection::Received { from, to } => (
                "r.received_at >= ? AND r.received_at < ?".into(),
                vec![from.to_string(), to.to_string()],
            ),
            Selection::Ids(ids) => (
                format!(
                    "r.request_id IN ({})",
                    vec!["?"; ids.len().max(1)].join(", ")
                ),
                if ids.is_empty() {
                    vec![String::new()]
                } else {
                    ids.clone()
                },
            ),
        }
    }
}

impl Store {
    /// The review records selected, oldest first.
    pub async fn reviews(&self, selection: &Selection) -> Result<Vec<StoredReview>> {
        let (clause, binds) = selection.clause();
        let fetch = async |sql: String| -> Result<Vec<SqliteRow>> {
            let mut query = sqlx::query(&sql);
            for value in &binds {
                query = query.bind(value);
            }
            Ok(query.fetch_all(&self.read).await?)
        };
        let requests = fetch(format!(
            "SELECT r.* FROM requests r WHERE {clause} ORDER BY r.received_at, r.request_id"
        ))
        .await?;

        let mut decisions: HashMap<String, Vec<DecisionRecord>> = HashMap::new();
        for row in fetch(format!(
            "SELECT d.request_id, d.decision, d.decided_by, d.reason, d.decided_at, d.jws
             FROM decisions d JOIN requests r ON r.request_id = d.request_id WHERE {clause} ORDER BY d.rowid"
        ))
        .await?
        {
            decisions
                .entry(row.col("request_id")?)
                .or_default()
                .push(decision_from_row(&row)?);
        }
        let mut escalations: HashMap<String, Vec<String>> = HashMap::new();
        for row in fetch(format!(
            "SELECT e.request_id, e.reason FROM escalations e JOIN requests r ON r.request_id = e.request_id
             WHERE {clause} ORDER BY e.raised_at"
        ))
        .await?
        {
            escalations
                .entry(row.col("request_id")?)
                .or_default()
                .push(row.col("reason")?);
        }
        let mut receipts: HashMap<String, String> = HashMap::new();
        for row in fetch(format!(
            "SELECT c.request_id, c.status FROM receipts c JOIN requests r ON r.request_id = c.request_id WHERE {clause}"
        ))
        .await?
        {
            receipts.insert(row.col("request_id")?, row.col("status")?);
        }
        let mut entries: HashMap<String, Vec<(u64, String)>> = HashMap::new();
        for row in fetch(format!(
            "SELECT e.request_id, a.seq, a.entry FROM audit_entries a
             JOIN events e ON e.id = a.event_id JOIN requests r ON r.request_id = e.request_id
             WHERE {clause} ORDER BY a.seq"
        ))
        .await?
        {
            entries.entry(row.col("request_id")?).or_default().push((
                u64::try_from(row.col::<i64>("seq")?).unwrap_or(0),
                row.col("entry")?,
            ));
        }

        requests
            .iter()
            .map(|row| {
                let request = request_from_row(row)?;
                let id = request.request_id.clone();
                Ok(StoredReview {
                    decisions: decisions.remove(&id).unwrap_or_default(),
                    escalations: escalations.remove(&id).unwrap_or_default(),
                    receipt: receipts.remove(&id),
                    entries: entries.remove(&id).unwrap_or_default(),
                    request,
                })
            })
            .collect()
    }

    /// Every sealed leaf hash, in order, up to `size` (what a bundle's proof is built from).
    pub async fn leaf_hashes(&self, size: i64) -> Result<Vec<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT leaf_hash FROM audit_entries WHERE seq < ? ORDER BY seq")
                .bind(size)
                .fetch_all(&self.read)
                .await?,
        )
    }
}
