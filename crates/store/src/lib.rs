//! The gateway's storage: SQLite through sqlx, migrations from `/migrations`.
//!
//! **Invariant:** this is the only crate with SQL. Each operation that changes state does so
//! in one transaction together with its event and outbox rows, so a crash never leaves a
//! decision without its event or its webhook.
//!
//! SQLite allows one writer at a time; writes go through a one-connection pool (queued in
//! the process instead of failing with `SQLITE_BUSY`), reads through a separate pool.
#![deny(missing_docs)]

use std::path::Path;

mod a2a;
mod audit;
mod console;
mod export;
mod intake;
mod supervision;

pub use a2a::{
    A2aTask, ListedTask, MAX_PUSH_CONFIGS, PushConfig, PushWrite, TaskCursor, TaskFilter,
    WithdrawWrite,
};
pub use audit::{AuditEntry, EventForAudit};
pub use console::{ConsoleCache, SignedDecision};
pub use export::{Selection, StoredReview};
pub use supervision::{OverdueCandidate, Raise, RaisedEscalation, RequestTimes, SupervisionWrite};

use countersign_wire::api::{
    DecisionRecord, EscalationReason, EventKind, GatewayEvent, Receipt, RequestState,
    WebhookDelivery,
};
use countersign_wire::{DecisionKind, Jwk, Tier, VerificationReport};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};

/// Why a storage operation failed. The message never reaches clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A batched write failed (the message of the underlying error).
    #[error("batched write failed: {0}")]
    Batch(String),
    /// A stored value cannot be read back (should not happen; data was written by us).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Events about a refusal that has no usable request id name it `intake-refusal:<n>`.
pub const UNATTRIBUTED_REFUSAL: &str = "intake-refusal:";

/// Handle to the gateway database.
#[derive(Clone)]
pub struct Store {
    write: SqlitePool,
    read: SqlitePool,
    intake: tokio::sync::mpsc::Sender<intake::Job>,
}

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
    /// Expiry, seconds since the epoch.
    pub expires_at: i64,
    /// Expiry as submitted (RFC 3339).
    pub expires_at_text: String,
    /// RFC 3339 time received.
    pub received_at: String,
    /// Digest of the request as submitted.
    pub request_digest: String,
    /// The body exactly as submitted.
    pub body: String,
    /// The report, with gateway findings.
    pub report: VerificationReport,
    /// Principal and chain identities.
    pub parties: Vec<String>,
    /// Webhook URL, if any.
    pub callback_url: Option<String>,
    /// HTTP status of the intake answer.
    pub intake_status: u16,
    /// The reviewer a supervisor assigned it to.
    pub assigned_to: Option<String>,
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
    /// Expiry, seconds since the epoch.
    pub expires_at: i64,
    /// Expiry as submitted.
    pub expires_at_text: String,
    /// RFC 3339 receive time.
    pub received_at: String,
    /// Digest of the request as submitted.
    pub request_digest: String,
    /// Body as submitted.
    pub body: String,
    /// Principal and chain identities.
    pub parties: Vec<String>,
    /// Webhook URL.
    pub callback_url: Option<String>,
    /// Hop jtis with their hop index, for replay detection.
    pub hop_jtis: Vec<(u32, String)>,
}

/// A hop jti already used by another request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JtiSighting {
    /// Hop index in the new request.
    pub hop: u32,
    /// The jti.
    pub jti: String,
    /// The request that used it first.
    pub request_id: String,
}

/// What the caller decided for a new request, given the replays found.
#[derive(Clone, Debug)]
pub struct Admission {
    /// The state to store.
    pub state: RequestState,
    /// The final report.
    pub report: VerificationReport,
    /// HTTP status of the answer.
    pub intake_status: u16,
    /// The event to append.
    pub event: EventKind,
    /// Escalations to raise with it (blocked by findings, asked for by the workflow).
    pub escalations: Vec<Raise>,
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
    /// RFC 3339 acceptance time.
    pub decided_at: String,
    /// The JWS.
    pub jws: String,
    /// JSON detail for the audit log (for example an override and what it acknowledged).
    pub detail: Option<String>,
}

/// What a decision does to a request, given the approvals already recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tally {
    /// It settles the request (a rejection, or the approval that meets the quorum).
    Settles,
    /// It counts toward a quorum; the request stays open.
    Counts,
    /// It cannot count (for example the same person approving twice).
    Refused(String),
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

/// An enrolled reviewer as stored.
#[derive(Clone, Debug)]
pub struct ReviewerRow {
    /// Identity.
    pub identity: String,
    /// Display name.
    pub display_name: String,
    /// Roles as stored.
    pub roles: Vec<String>,
    /// Tiers as stored.
    pub tiers: Vec<Tier>,
    /// Public keys.
    pub keys: Vec<Jwk>,
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

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn parse_state(text: &str) -> Result<RequestState> {
    RequestState::parse(text).ok_or_else(|| corrupt("state", text))
}

fn parse_tier(text: &str) -> Result<Tier> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|e| corrupt("tier", e))
}

fn request_from_row(row: &SqliteRow) -> Result<StoredRequest> {
    Ok(StoredRequest {
        request_id: row.get("request_id"),
        workflow: row.get("workflow"),
        state: parse_state(row.get("state"))?,
        tier: parse_tier(row.get("tier"))?,
        txn: row.get("txn"),
        expires_at: row.get("expires_at"),
        expires_at_text: row.get("expires_at_text"),
        received_at: row.get("received_at"),
        request_digest: row.get("request_digest"),
        body: row.get("body"),
        report: serde_json::from_str(row.get("report")).map_err(|e| corrupt("report", e))?,
        parties: serde_json::from_str(row.get("parties")).map_err(|e| corrupt("parties", e))?,
        callback_url: row.get("callback_url"),
        intake_status: row.get::<i64, _>("intake_status") as u16,
        assigned_to: row.get("assigned_to"),
    })
}

fn decision_from_row(row: &SqliteRow) -> Result<DecisionRecord> {
    let decision: String = row.get("decision");
    Ok(DecisionRecord {
        decision: DecisionKind::parse(&decision).ok_or_else(|| corrupt("decision", &decision))?,
        decided_by: row.get("decided_by"),
        reason: row.get("reason"),
        decided_at: row.get("decided_at"),
        decision_jws: row.get("jws"),
    })
}

fn event_from_row(row: &SqliteRow) -> Result<GatewayEvent> {
    let kind: String = row.get("kind");
    Ok(GatewayEvent {
        id: row.get("id"),
        kind: serde_json::from_value(serde_json::Value::String(kind.clone()))
            .map_err(|e| corrupt("event kind", e))?,
        request_id: row.get("request_id"),
        state: parse_state(row.get("state"))?,
        at: row.get("at"),
    })
}

/// An event about to be appended.
pub(crate) struct EventRow<'a> {
    pub(crate) kind: EventKind,
    pub(crate) request_id: &'a str,
    pub(crate) state: RequestState,
    pub(crate) at: &'a str,
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
        at: &'a str,
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
        at: row.at.to_owned(),
    })
}

/// Queues what a request's final state is delivered to, in the transaction that set it: its
/// webhook (when it has a callback) and every A2A push config of its task.
async fn enqueue_final_delivery(
    tx: &mut sqlx::SqliteConnection,
    request_id: &str,
    callback: Option<&str>,
    state: RequestState,
    decision_jws: Option<&str>,
    now_s: i64,
    at: &str,
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
        .bind(now_s)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    }
    a2a::enqueue_pushes(tx, request_id, &delivery_id, None, now_s, at).await
}

impl Store {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL: a commit survives a process crash (kill -9); only an OS crash
            // may lose the last transactions.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(10));
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("../../migrations").run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        let intake = intake::spawn(write.clone());
        Ok(Store {
            write,
            read,
            intake,
        })
    }

    /// Registers a workflow credential (its SHA-256 digest).
    pub async fn add_workflow(&self, name: &str, token_hash: &str, at: &str) -> Result<()> {
        sqlx::query("INSERT INTO workflows (name, token_hash, created_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET token_hash = excluded.token_hash")
            .bind(name)
            .bind(token_hash)
            .bind(at)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The workflow whose credential hashes to `token_hash`.
    pub async fn workflow_for_token(&self, token_hash: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT name FROM workflows WHERE token_hash = ?")
                .bind(token_hash)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    /// Enrols (or updates) a reviewer and adds keys.
    pub async fn enrol_reviewer(
        &self,
        reviewer: &ReviewerRow,
        kids: &[String],
        at: &str,
    ) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let tiers: Vec<&str> = reviewer.tiers.iter().map(|t| t.as_str()).collect();
        sqlx::query(
            "INSERT INTO reviewers (identity, display_name, roles, tiers, enrolled_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT(identity) DO UPDATE SET display_name = excluded.display_name, roles = excluded.roles, tiers = excluded.tiers",
        )
        .bind(&reviewer.identity)
        .bind(&reviewer.display_name)
        .bind(serde_json::to_string(&reviewer.roles).map_err(|e| corrupt("roles", e))?)
        .bind(serde_json::to_string(&tiers).map_err(|e| corrupt("tiers", e))?)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        for (jwk, kid) in reviewer.keys.iter().zip(kids) {
            sqlx::query("INSERT OR REPLACE INTO reviewer_keys (kid, identity, jwk, enrolled_at) VALUES (?, ?, ?, ?)")
                .bind(kid)
                .bind(&reviewer.identity)
                .bind(serde_json::to_string(jwk).map_err(|e| corrupt("jwk", e))?)
                .bind(at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The reviewer who enrolled the key `kid`, with all their keys.
    pub async fn reviewer_by_kid(&self, kid: &str) -> Result<Option<ReviewerRow>> {
        let Some(identity): Option<String> =
            sqlx::query_scalar("SELECT identity FROM reviewer_keys WHERE kid = ?")
                .bind(kid)
                .fetch_optional(&self.read)
                .await?
        else {
            return Ok(None);
        };
        self.reviewer(&identity).await
    }

    /// Every enrolled reviewer, with their keys (an export's identities).
    pub async fn reviewers(&self) -> Result<Vec<ReviewerRow>> {
        let identities: Vec<String> =
            sqlx::query_scalar("SELECT identity FROM reviewers ORDER BY identity")
                .fetch_all(&self.read)
                .await?;
        let mut rows = Vec::with_capacity(identities.len());
        for identity in identities {
            rows.extend(self.reviewer(&identity).await?);
        }
        Ok(rows)
    }

    /// An enrolled reviewer by identity, with all their keys.
    pub async fn reviewer(&self, identity: &str) -> Result<Option<ReviewerRow>> {
        let Some(row) = sqlx::query(
            "SELECT identity, display_name, roles, tiers FROM reviewers WHERE identity = ?",
        )
        .bind(identity)
        .fetch_optional(&self.read)
        .await?
        else {
            return Ok(None);
        };
        let keys: Vec<String> =
            sqlx::query_scalar("SELECT jwk FROM reviewer_keys WHERE identity = ? ORDER BY kid")
                .bind(identity)
                .fetch_all(&self.read)
                .await?;
        let tiers: Vec<String> =
            serde_json::from_str(row.get("tiers")).map_err(|e| corrupt("tiers", e))?;
        Ok(Some(ReviewerRow {
            identity: identity.to_owned(),
            display_name: row.get("display_name"),
            roles: serde_json::from_str(row.get("roles")).map_err(|e| corrupt("roles", e))?,
            tiers: tiers.iter().map(|t| parse_tier(t)).collect::<Result<_>>()?,
            keys: keys
                .iter()
                .map(|k| serde_json::from_str(k).map_err(|e| corrupt("jwk", e)))
                .collect::<Result<_>>()?,
        }))
    }

    /// Every enrolled reviewer key, for the JWKS.
    pub async fn reviewer_keys(&self) -> Result<Vec<Jwk>> {
        let keys: Vec<String> = sqlx::query_scalar("SELECT jwk FROM reviewer_keys ORDER BY kid")
            .fetch_all(&self.read)
            .await?;
        keys.iter()
            .map(|k| serde_json::from_str(k).map_err(|e| corrupt("jwk", e)))
            .collect()
    }

    /// Remembers a console token's jti until it expires; false if it was already used.
    pub async fn consume_console_jti(
        &self,
        jti: &str,
        expires_at: i64,
        now_s: i64,
    ) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM console_token_jtis WHERE expires_at < ?")
            .bind(now_s)
            .execute(&mut *tx)
            .await?;
        let inserted =
            sqlx::query("INSERT OR IGNORE INTO console_token_jtis (jti, expires_at) VALUES (?, ?)")
                .bind(jti)
                .bind(expires_at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        tx.commit().await?;
        Ok(inserted == 1)
    }

    /// Stores a new request atomically with replay detection: `decide` sees the hop jtis
    /// other requests already used and decides state, report and answer; hop jtis of requests
    /// that are not refused are then remembered. Concurrent calls are committed together
    /// (see `intake.rs`).
    pub async fn admit(
        &self,
        new: NewRequest,
        decide: impl FnOnce(&[JtiSighting]) -> Admission + Send + 'static,
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
        at: &str,
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

    /// Number of refusals recorded without a request id.
    pub async fn anonymous_refusal_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM intake_refusals")
            .fetch_one(&self.read)
            .await?)
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

    /// Pending and escalated requests, most urgent expiry first.
    pub async fn open_requests(&self) -> Result<Vec<StoredRequest>> {
        sqlx::query("SELECT * FROM requests WHERE state IN ('pending', 'escalated') ORDER BY expires_at, request_id")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(request_from_row)
            .collect()
    }

    /// The most recently received requests that are no longer open (decided, expired,
    /// withdrawn or refused), newest first.
    pub async fn recent_closed_requests(&self, limit: u32) -> Result<Vec<StoredRequest>> {
        sqlx::query("SELECT * FROM requests WHERE state NOT IN ('pending', 'escalated') ORDER BY received_at DESC, request_id LIMIT ?")
            .bind(limit)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(request_from_row)
            .collect()
    }

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

    /// Approvals recorded on open requests (partial quorums), by request, oldest first.
    pub async fn open_approvals(
        &self,
    ) -> Result<std::collections::HashMap<String, Vec<DecisionRecord>>> {
        let mut by_request: std::collections::HashMap<String, Vec<DecisionRecord>> =
            std::collections::HashMap::new();
        for row in sqlx::query("SELECT d.request_id, d.decision, d.decided_by, d.reason, d.decided_at, d.jws FROM decisions d JOIN requests r ON r.request_id = d.request_id WHERE r.state IN ('pending', 'escalated') ORDER BY d.rowid")
            .fetch_all(&self.read)
            .await?
        {
            by_request
                .entry(row.get("request_id"))
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
        now_s: i64,
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
        let open = sqlx::query(
            "SELECT state, callback_url FROM requests WHERE request_id = ? AND state IN ('pending', 'escalated') AND expires_at > ?",
        )
        .bind(&decision.request_id)
        .bind(now_s)
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
        let open_state = parse_state(open.get("state"))?;
        let callback: Option<String> = open.get("callback_url");
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
            .bind(&decision.decided_at)
            .bind(&decision.jws)
            .execute(&mut *tx)
            .await?;
        if !settles {
            let event = append_event(
                &mut tx,
                EventRow {
                    detail: decision.detail.clone(),
                    decision_jti: Some(&decision.jti),
                    ..EventRow::new(
                        EventKind::ApprovalRecorded,
                        &decision.request_id,
                        open_state,
                        &decision.decided_at,
                        Some(&decision.decided_by),
                    )
                },
            )
            .await?;
            supervision::raise_in(
                &mut tx,
                &decision.request_id,
                &supervision::Raise {
                    reason: EscalationReason::AwaitingSecondApprover,
                    level: 0,
                    notify: Vec::new(),
                    note: String::new(),
                    raised_by: "gateway".into(),
                    at: decision.decided_at.clone(),
                },
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
        let event = append_event(
            &mut tx,
            EventRow {
                detail: decision.detail.clone(),
                decision_jti: Some(&decision.jti),
                ..EventRow::new(
                    EventKind::RequestDecided,
                    &decision.request_id,
                    state,
                    &decision.decided_at,
                    Some(&decision.decided_by),
                )
            },
        )
        .await?;
        sqlx::query(
            "UPDATE escalations SET closed_at = ? WHERE request_id = ? AND closed_at IS NULL",
        )
        .bind(&decision.decided_at)
        .bind(&decision.request_id)
        .execute(&mut *tx)
        .await?;
        enqueue_final_delivery(
            &mut tx,
            &decision.request_id,
            callback.as_deref(),
            state,
            Some(&decision.jws),
            now_s,
            &decision.decided_at,
        )
        .await?;
        tx.commit().await?;
        Ok(DecisionWrite::Recorded(event))
    }

    /// Expires every open request whose expiry has passed; fail-closed, never approved.
    pub async fn expire_due(&self, now_s: i64, at: &str) -> Result<Vec<GatewayEvent>> {
        let mut tx = self.write.begin().await?;
        let due = sqlx::query("UPDATE requests SET state = 'expired' WHERE state IN ('pending', 'escalated') AND expires_at <= ? RETURNING request_id, callback_url")
            .bind(now_s)
            .fetch_all(&mut *tx)
            .await?;
        let mut events = Vec::with_capacity(due.len());
        for row in due {
            let request_id: String = row.get("request_id");
            let callback: Option<String> = row.get("callback_url");
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
                now_s,
                at,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(events)
    }

    /// The earliest expiry among open requests, to sleep until.
    pub async fn next_expiry(&self) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(expires_at) FROM requests WHERE state IN ('pending', 'escalated')",
        )
        .fetch_one(&self.read)
        .await?)
    }

    /// Events after `after`, oldest first: what consoles follow (exports and refusals
    /// without a request id are only in the audit log).
    pub async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<GatewayEvent>> {
        sqlx::query(
            "SELECT id, kind, request_id, state, at FROM events WHERE id > ? AND kind != 'records_exported' AND request_id NOT LIKE 'intake-refusal:%' ORDER BY id LIMIT ?",
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

    /// Deliveries due at `now_s`.
    pub async fn due_deliveries(&self, now_s: i64, limit: i64) -> Result<Vec<Delivery>> {
        let rows = sqlx::query("SELECT delivery_id, request_id, url, body, attempts, channel, task_id, config_id FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?")
            .bind(now_s)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        Ok(rows
            .iter()
            .map(|row| Delivery {
                delivery_id: row.get("delivery_id"),
                request_id: row.get("request_id"),
                url: row.get("url"),
                body: row.get("body"),
                attempts: row.get::<i64, _>("attempts") as u32,
                channel: match (
                    row.get::<&str, _>("channel"),
                    row.get::<Option<String>, _>("task_id"),
                    row.get::<Option<String>, _>("config_id"),
                ) {
                    ("a2a_push", Some(task_id), Some(config_id)) => {
                        DeliveryChannel::A2aPush { task_id, config_id }
                    }
                    _ => DeliveryChannel::Webhook,
                },
            })
            .collect())
    }

    /// The earliest pending delivery attempt, to sleep until.
    pub async fn next_delivery_at(&self) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar(
                "SELECT MIN(next_attempt_at) FROM outbox WHERE delivered_at IS NULL",
            )
            .fetch_one(&self.read)
            .await?,
        )
    }

    /// Marks a delivery done, with its `decision_delivered` event (once, even if a retry
    /// succeeds again after a crash).
    pub async fn delivery_succeeded(
        &self,
        delivery_id: &str,
        at: &str,
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
        next_attempt_at: i64,
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

    /// Records the workflow's receipt for a decided request (once).
    pub async fn record_receipt(
        &self,
        request_id: &str,
        receipt: &Receipt,
        at: &str,
        workflow: &str,
    ) -> Result<ReceiptWrite> {
        let mut tx = self.write.begin().await?;
        let state = state_of(&mut tx, request_id)
            .await?
            .unwrap_or(RequestState::Refused);
        if !matches!(state, RequestState::Approved | RequestState::Rejected) {
            return Ok(ReceiptWrite::NotDecided(state));
        }
        let inserted = sqlx::query("INSERT OR IGNORE INTO receipts (request_id, status, executed_at, detail, result_digest, recorded_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(request_id)
            .bind(serde_json::to_value(receipt.status).map_err(|e| corrupt("receipt", e))?.as_str().unwrap_or_default().to_owned())
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
        let event = append_event(
            &mut tx,
            EventRow::new(
                EventKind::ReceiptRecorded,
                request_id,
                state,
                at,
                Some(workflow),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(ReceiptWrite::Recorded(event))
    }
}
