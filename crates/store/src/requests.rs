//! Requests: intake (with replay detection), reads, expiry.

use countersign_review::{Admission, Replay};
use countersign_wire::api::{EventKind, GatewayEvent, RequestState};
use countersign_wire::{Tier, Timestamp, VerificationReport};

use crate::error::{Result, StoreError, corrupt};
use crate::events::{EventRow, append_event};
use crate::outbox::enqueue_final_delivery;
use crate::rows::Column as _;
use crate::rows::request_from_row;
use crate::{Store, UNATTRIBUTED_REFUSAL, intake};

/// A request as stored.
#[derive(Clone, Debug)]
pub struct StoredRequest {
    /// Request id.
    pub request_id: String,
    /// Workflow that submitted it.
    pub workflow: String,
    /// Current state.
    pub state: RequestState,
    /// Impact tier.
    pub tier: Tier,
    /// Transaction id.
    pub txn: String,
    /// Expiry (the sender's text is in `body`).
    pub expires_at: Timestamp,
    /// When it was received.
    pub received_at: Timestamp,
    /// Digest of the request as submitted.
    pub request_digest: String,
    /// The body exactly as submitted.
    pub body: String,
    /// The report, with gateway findings.
    pub report: VerificationReport,
    /// The root human on whose behalf the chain acts.
    pub principal: String,
    /// Principal and chain identities.
    pub parties: Vec<String>,
    /// Webhook URL, if any.
    pub callback_url: Option<String>,
    /// The reviewer a supervisor assigned it to.
    pub assigned_to: Option<String>,
}

impl StoredRequest {
    /// What a decision on this request must name: its ids and the digests of its report.
    pub fn decision_subject(&self) -> countersign_wire::DecisionSubject {
        countersign_wire::DecisionSubject::of(&self.request_id, &self.txn, &self.report)
    }
}

/// A request to store at intake (state and report are decided inside the transaction).
#[derive(Clone, Debug)]
pub struct NewRequest {
    /// Request id.
    pub request_id: String,
    /// Submitting workflow.
    pub workflow: String,
    /// Impact tier.
    pub tier: Tier,
    /// Transaction id.
    pub txn: String,
    /// Expiry.
    pub expires_at: Timestamp,
    /// When it was received.
    pub received_at: Timestamp,
    /// Digest of the request as submitted.
    pub request_digest: String,
    /// Body as submitted.
    pub body: String,
    /// The root human on whose behalf the chain acts.
    pub principal: String,
    /// Principal and chain identities.
    pub parties: Vec<String>,
    /// Webhook URL.
    pub callback_url: Option<String>,
    /// Hop jtis with their hop index, for replay detection.
    pub hop_jtis: Vec<(u32, String)>,
    /// The trust store version the chain was verified against (see
    /// [`Store::remember_trust`]); sealed with the arrival.
    pub trust_digest: Option<String>,
}

/// Outcome of [`Store::admit`].
#[derive(Clone, Debug)]
pub enum AdmitOutcome {
    /// Stored now.
    Admitted(StoredRequest, GatewayEvent),
    /// Already stored with the same digest: answer as before.
    Duplicate(StoredRequest),
    /// Already stored with a different digest.
    Conflict(StoredRequest),
}

impl Store {
    /// Stores a new request atomically with replay detection: `decide` sees the hop jtis
    /// other requests already used and decides state, report and answer; hop jtis of requests
    /// that are not refused are then remembered. Concurrent calls are committed together
    /// (see `intake.rs`).
    pub async fn admit(
        &self,
        new: NewRequest,
        decide: impl FnOnce(&[Replay]) -> Admission + Send + 'static,
    ) -> Result<AdmitOutcome> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = intake::Job {
            new,
            decide: Box::new(decide),
            reply,
        };
        self.intake
            .send(job)
            .await
            .map_err(|_| StoreError::Batch("the intake writer stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Batch("the intake writer stopped".into()))?
    }

    /// Records a refusal of a body that had no usable request id.
    pub async fn record_anonymous_refusal(
        &self,
        workflow: &str,
        at: Timestamp,
        request_digest: Option<&str>,
        report: &VerificationReport,
    ) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let id: i64 = sqlx::query_scalar("INSERT INTO intake_refusals (workflow, received_at, request_digest, report) VALUES (?, ?, ?, ?) RETURNING id")
            .bind(workflow)
            .bind(at)
            .bind(request_digest)
            .bind(serde_json::to_string(report).map_err(|e| corrupt("report", e))?)
            .fetch_one(&mut *tx)
            .await?;
        // The refusal is an event too, so the audit log holds every refusal; it names no
        // stored request, so consoles do not get it (see `events_after`).
        let codes: Vec<String> = report.findings.iter().map(|f| f.code.to_string()).collect();
        let subject = format!("{UNATTRIBUTED_REFUSAL}{id}");
        append_event(
            &mut tx,
            EventRow {
                detail: Some(
                    serde_json::json!({ "request_digest": request_digest, "findings": codes })
                        .to_string(),
                ),
                ..EventRow::new(
                    EventKind::RequestRefused,
                    &subject,
                    RequestState::Refused,
                    at,
                    Some(workflow),
                )
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A stored request.
    pub async fn request(&self, request_id: &str) -> Result<Option<StoredRequest>> {
        sqlx::query("SELECT * FROM requests WHERE request_id = ?")
            .bind(request_id)
            .fetch_optional(&self.read)
            .await?
            .as_ref()
            .map(request_from_row)
            .transpose()
    }

    /// Every stored request's id, body and recorded digest, for the audit check that
    /// recomputes each digest from its body.
    pub async fn request_digests(&self) -> Result<Vec<(String, String, String)>> {
        sqlx::query("SELECT request_id, body, request_digest FROM requests ORDER BY request_id")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|row| {
                Ok((
                    row.col("request_id")?,
                    row.col("body")?,
                    row.col("request_digest")?,
                ))
            })
            .collect()
    }

    /// Pending and escalated requests, most urgent expiry first.
    pub async fn open_requests(&self) -> Result<Vec<StoredRequest>> {
        sqlx::query(concat!(
            "SELECT * FROM requests WHERE state IN ",
            open_states!(),
            " ORDER BY expires_at, request_id"
        ))
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(request_from_row)
        .collect()
    }

    /// The most recently received requests that are no longer open (decided, expired,
    /// withdrawn or refused), newest first.
    pub async fn recent_closed_requests(&self, limit: u32) -> Result<Vec<StoredRequest>> {
        sqlx::query(concat!(
            "SELECT * FROM requests WHERE state NOT IN ",
            open_states!(),
            " ORDER BY received_at DESC, request_id LIMIT ?"
        ))
        .bind(limit)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(request_from_row)
        .collect()
    }

    /// Expires every open request whose expiry has passed; fail-closed, never approved.
    pub async fn expire_due(&self, at: Timestamp) -> Result<Vec<GatewayEvent>> {
        let mut tx = self.write.begin().await?;
        let due = sqlx::query(concat!(
            "UPDATE requests SET state = 'expired' WHERE state IN ",
            open_states!(),
            " AND expires_at <= ? RETURNING request_id, callback_url"
        ))
        .bind(at)
        .fetch_all(&mut *tx)
        .await?;
        let mut events = Vec::with_capacity(due.len());
        for row in due {
            let request_id: String = row.col("request_id")?;
            let callback: Option<String> = row.col("callback_url")?;
            events.push(
                append_event(
                    &mut tx,
                    EventRow::new(
                        EventKind::RequestExpired,
                        &request_id,
                        RequestState::Expired,
                        at,
                        None,
                    ),
                )
                .await?,
            );
            enqueue_final_delivery(
                &mut tx,
                &request_id,
                callback.as_deref(),
                RequestState::Expired,
                None,
                at,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(events)
    }
}

impl Store {
    /// Keeps a trust store version (its RFC 8785 text, by digest), once.
    pub async fn remember_trust(&self, digest: &str, body: &str, at: Timestamp) -> Result<()> {
        sqlx::query(
            "INSERT INTO trust_versions (digest, body, first_used_at) VALUES (?, ?, ?)
             ON CONFLICT (digest) DO NOTHING",
        )
        .bind(digest)
        .bind(body)
        .bind(at)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// A trust store version's text, by digest.
    pub async fn trust_version(&self, digest: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT body FROM trust_versions WHERE digest = ?")
                .bind(digest)
                .fetch_optional(&self.read)
                .await?,
        )
    }
}
