//! The gateway's HTTP API: request and response bodies, events and the error envelope.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{DecisionKind, Tier, Timestamp, VerificationReport};

/// Stable error codes of the gateway API. Clients match on these, never on messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No or unusable credentials.
    Unauthenticated,
    /// Authenticated, but the role or tier does not allow this.
    Forbidden,
    /// No such route or resource.
    NotFound,
    /// The body is not valid JSON or does not have the required shape.
    InvalidBody,
    /// A query parameter or a path segment cannot be read (a number that is not one, an
    /// invalid percent-encoding).
    InvalidParameter,
    /// The body is not `application/json`.
    UnsupportedMediaType,
    /// The body is larger than the gateway accepts.
    PayloadTooLarge,
    /// The chain is forged or malformed: refused at intake (the report says why).
    ChainRefused,
    /// The same request id was submitted with a different body.
    RequestIdConflict,
    /// The decision JWS is malformed, of the wrong type, or not signed by an enrolled key.
    DecisionInvalid,
    /// The decision is addressed to another audience, expired, or too long-lived.
    DecisionNotAcceptable,
    /// The decision's jti was already used.
    DecisionReplayed,
    /// The decision does not match the stored request's digests or ids.
    DecisionMismatch,
    /// The principal or an identity in the chain tried to decide the request.
    SelfApproval,
    /// The request is no longer pending (decided, expired, withdrawn or refused).
    NotPending,
    /// Approval is blocked for reviewers: the chain has error findings, or findings the
    /// policy says block reviewers.
    ApprovalBlocked,
    /// This person already approved the request; a quorum needs distinct approvers.
    AlreadyApproved,
    /// A reason, or an acknowledgement of a warning, is missing.
    ReasonRequired,
    /// The method is not allowed on this route.
    MethodNotAllowed,
    /// Something failed inside the gateway; details are in its logs only.
    Internal,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::InvalidBody => "invalid_body",
            ErrorCode::InvalidParameter => "invalid_parameter",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::ChainRefused => "chain_refused",
            ErrorCode::RequestIdConflict => "request_id_conflict",
            ErrorCode::DecisionInvalid => "decision_invalid",
            ErrorCode::DecisionNotAcceptable => "decision_not_acceptable",
            ErrorCode::DecisionReplayed => "decision_replayed",
            ErrorCode::DecisionMismatch => "decision_mismatch",
            ErrorCode::SelfApproval => "self_approval",
            ErrorCode::NotPending => "not_pending",
            ErrorCode::ApprovalBlocked => "approval_blocked",
            ErrorCode::AlreadyApproved => "already_approved",
            ErrorCode::ReasonRequired => "reason_required",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `{"error": {"code", "message"}}`, plus context for some codes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ApiError,
}

/// A typed API error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ApiError {
    /// Stable code.
    pub code: ErrorCode,
    /// Human-readable explanation; never contains internal details.
    pub message: String,
    /// The verification report, for `chain_refused`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<VerificationReport>,
    /// The request's current state, for `not_pending`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<RequestState>,
}

/// Lifecycle of a request at the gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Waiting for a reviewer.
    Pending,
    /// Blocked for reviewers: waiting for a supervisor.
    Escalated,
    /// Approved: the decision JWS says go.
    Approved,
    /// Rejected: the decision JWS says no.
    Rejected,
    /// Nobody decided in time; fail-closed, never approved.
    Expired,
    /// The workflow withdrew it.
    Withdrawn,
    /// Refused at intake (forged or malformed chain).
    Refused,
}

impl RequestState {
    /// Every state.
    pub const ALL: [RequestState; 7] = [
        RequestState::Pending,
        RequestState::Escalated,
        RequestState::Approved,
        RequestState::Rejected,
        RequestState::Expired,
        RequestState::Withdrawn,
        RequestState::Refused,
    ];

    /// The state as it appears on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Escalated => "escalated",
            RequestState::Approved => "approved",
            RequestState::Rejected => "rejected",
            RequestState::Expired => "expired",
            RequestState::Withdrawn => "withdrawn",
            RequestState::Refused => "refused",
        }
    }

    /// Parses the storage form.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether a decision can still change it.
    pub fn is_open(self) -> bool {
        matches!(self, RequestState::Pending | RequestState::Escalated)
    }
}

/// Response to `POST /v1/requests`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SubmitResponse {
    /// The request id.
    pub request_id: String,
    /// Where it went: `pending` or `escalated`.
    pub state: RequestState,
    /// The verification report.
    pub report: VerificationReport,
}

/// A request as consoles see it: the request as submitted, its report and its state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RequestRecord {
    /// Request id.
    pub request_id: String,
    /// The request's transaction id, which its decision names. (Absent in records a console
    /// cached before it was sent: such a record's decision names no transaction and is
    /// refused until the record is fetched again.)
    #[serde(default)]
    pub txn: String,
    /// Current state.
    pub state: RequestState,
    /// Impact tier (copied from the action for sorting).
    pub tier: Tier,
    /// Expiry.
    pub expires_at: Timestamp,
    /// Time the gateway received it.
    pub received_at: Timestamp,
    /// The request JSON exactly as submitted.
    pub request: Value,
    /// The verification report (including gateway-only findings such as REPLAYED_JTI).
    pub report: VerificationReport,
    /// The decision, once there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<DecisionRecord>,
    /// Approvals counted so far while a quorum waits for more (oldest first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<DecisionRecord>,
    /// Distinct approvers an approval needs under the gateway's policy (1 unless a quorum).
    #[serde(default = "one")]
    pub approvals_needed: u32,
    /// Why supervisors see it, while it is in their queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<Escalation>,
    /// When the policy expects a decision, if it sets a time to decide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<Timestamp>,
    /// The policy decisions on this request must name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<crate::PolicyRef>,
    /// The reviewer a supervisor assigned it to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
    /// Finding codes that block reviewers from approving (errors, and what the policy adds):
    /// only a supervisor's override, acknowledging each, can approve.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked_by: Vec<crate::FindingCode>,
    /// Notes the requesting workflow sent while the request waited, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<RequesterNote>,
}

/// A note from the requesting workflow, sent while its request waited for a person (an A2A
/// follow-up message naming the task). It is the requester's unverified word: shown to
/// reviewers as untrusted text and sealed in the audit log, it is never part of what a
/// decision signs, so it cannot change what is approved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RequesterNote {
    /// The message's id (a message sent again is one note).
    pub message_id: String,
    /// The text, as sent.
    pub text: String,
    /// When the gateway received it.
    pub at: Timestamp,
}

/// Body of `POST /v1/requests/{id}/notes`: a note from the requesting workflow for whoever
/// reviews the request (see [`RequesterNote`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NoteSubmission {
    /// The workflow's id for this note: sending it again is one note.
    pub message_id: String,
    /// The text, at most 4000 characters.
    pub text: String,
}

impl RequestRecord {
    /// What a decision on this request must name: its ids and its report's digests.
    pub fn decision_subject(&self) -> crate::DecisionSubject {
        crate::DecisionSubject::of(&self.request_id, &self.txn, &self.report)
    }
}

fn one() -> u32 {
    1
}

/// Why a request is in the supervisors' escalation queue.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EscalationReason {
    /// Findings block reviewers: only a supervisor override can approve it.
    BlockedByFindings,
    /// Nobody decided within the policy's time; `level` says how far it has escalated.
    Overdue,
    /// A reviewer asked for a supervisor, with a note.
    ByReviewer,
    /// The workflow asked for a supervisor (its request's `escalate` field).
    ByWorkflow,
    /// One approval is in; the quorum needs another person.
    AwaitingSecondApprover,
}

impl EscalationReason {
    /// Every reason, in the order the supervisor queue groups them.
    pub const ALL: [EscalationReason; 5] = [
        EscalationReason::BlockedByFindings,
        EscalationReason::Overdue,
        EscalationReason::ByReviewer,
        EscalationReason::ByWorkflow,
        EscalationReason::AwaitingSecondApprover,
    ];

    /// Storage and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            EscalationReason::BlockedByFindings => "blocked_by_findings",
            EscalationReason::Overdue => "overdue",
            EscalationReason::ByReviewer => "by_reviewer",
            EscalationReason::ByWorkflow => "by_workflow",
            EscalationReason::AwaitingSecondApprover => "awaiting_second_approver",
        }
    }

    /// Parses the storage form.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// How a supervisor reads it.
    pub fn label(self) -> &'static str {
        match self {
            EscalationReason::BlockedByFindings => "Blocked by findings",
            EscalationReason::Overdue => "Overdue",
            EscalationReason::ByReviewer => "Escalated by a reviewer",
            EscalationReason::ByWorkflow => "Escalated by the workflow",
            EscalationReason::AwaitingSecondApprover => "Waiting for a second approver",
        }
    }
}

/// A request's place in the escalation queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Escalation {
    /// The most pressing reason (see [`EscalationReason::ALL`] for the order).
    pub reason: EscalationReason,
    /// Every open reason, most pressing first.
    pub reasons: Vec<EscalationReason>,
    /// Overdue level reached (1-based), 0 when not overdue.
    #[serde(default)]
    pub level: u32,
    /// Who is called at this level: `role:supervisor` or identities.
    #[serde(default)]
    pub notify: Vec<String>,
    /// The reviewer's or workflow's note (untrusted text).
    #[serde(default)]
    pub note: String,
    /// Who raised it: a reviewer, a workflow, or `gateway`.
    pub raised_by: String,
    /// When it was first raised: the age supervisors see.
    pub since: Timestamp,
}

/// Body of `POST /v1/requests/{id}/escalate` (a reviewer asks for a supervisor).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EscalateSubmission {
    /// Why (required).
    pub note: String,
}

/// Body of `POST /v1/requests/{id}/assign` (a supervisor hands a request to a reviewer).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AssignSubmission {
    /// The reviewer's identity.
    pub reviewer: String,
    /// Optional note for them.
    #[serde(default)]
    pub note: String,
}

/// A decision as stored and delivered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DecisionRecord {
    /// Approve or reject.
    pub decision: DecisionKind,
    /// Reviewer identity.
    pub decided_by: String,
    /// The reviewer's reason.
    pub reason: String,
    /// Time the gateway accepted it.
    pub decided_at: Timestamp,
    /// The decision JWS, verifiable against `/.well-known/jwks.json`.
    pub decision_jws: String,
}

/// `GET /v1/queue`: open requests, and the event id to subscribe from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct QueueSnapshot {
    /// Pending and escalated requests.
    pub requests: Vec<RequestRecord>,
    /// Id of the last event included; pass it as `Last-Event-ID` to `/v1/events`.
    pub last_event_id: i64,
}

/// `GET /v1/history`: recently closed requests, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct History {
    /// Decided, expired, withdrawn and refused requests.
    pub requests: Vec<RequestRecord>,
}

/// Kinds of live events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A request entered the reviewer queue.
    RequestAdded,
    /// A request entered the escalation queue.
    RequestEscalated,
    /// A request was approved or rejected.
    RequestDecided,
    /// A request expired undecided.
    RequestExpired,
    /// A request was withdrawn by its workflow.
    RequestWithdrawn,
    /// A request was refused at intake.
    RequestRefused,
    /// The workflow reported what it executed.
    ReceiptRecorded,
    /// One approval of several a quorum needs was recorded; the request stays open.
    ApprovalRecorded,
    /// A supervisor assigned the request to a reviewer.
    RequestAssigned,
    /// A console showed the request to its reviewer (once per reviewer).
    RequestShown,
    /// The final outcome reached the workflow's webhook.
    DecisionDelivered,
    /// Records were exported; `request_id` names the export.
    RecordsExported,
    /// The requesting workflow sent a note while the request waited (see [`RequesterNote`]).
    RequesterNote,
    /// A reviewer and their keys were enrolled (or keys added): audit only, not sent to
    /// consoles; `request_id` is `enrolment:<identity>`.
    ReviewerEnrolled,
}

impl EventKind {
    /// The SSE `event:` name and storage form.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::RequestAdded => "request_added",
            EventKind::RequestEscalated => "request_escalated",
            EventKind::RequestDecided => "request_decided",
            EventKind::RequestExpired => "request_expired",
            EventKind::RequestWithdrawn => "request_withdrawn",
            EventKind::RequestRefused => "request_refused",
            EventKind::ReceiptRecorded => "receipt_recorded",
            EventKind::ApprovalRecorded => "approval_recorded",
            EventKind::RequestAssigned => "request_assigned",
            EventKind::RequestShown => "request_shown",
            EventKind::DecisionDelivered => "decision_delivered",
            EventKind::RecordsExported => "records_exported",
            EventKind::RequesterNote => "requester_note",
            EventKind::ReviewerEnrolled => "reviewer_enrolled",
        }
    }
}

/// One live event (the SSE `data:`); its `id` is the SSE id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GatewayEvent {
    /// Monotonic event id.
    pub id: i64,
    /// What happened.
    pub kind: EventKind,
    /// The request concerned.
    pub request_id: String,
    /// The request's state after the event.
    pub state: RequestState,
    /// Time of the event.
    pub at: Timestamp,
}

/// Body of `POST /v1/requests/{id}/decisions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DecisionSubmission {
    /// The reviewer's decision JWS.
    pub decision_jws: String,
}

/// `GET /v1/requests/{id}/decision`: the outcome a workflow waits for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DecisionOutcome {
    /// Request id.
    pub request_id: String,
    /// Current state; `pending` or `escalated` if the wait ran out.
    pub state: RequestState,
    /// The decision JWS, when approved or rejected: the one that settled it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_jws: Option<String>,
    /// When a quorum approved it: every approver's decision JWS, oldest first (the last is
    /// `decision_jws`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<String>,
}

/// What an agent gets back over MCP (the `request_approval` and `get_decision` tools' structured
/// content, and a completed task's result): the request's state and, once decided, the signed
/// decision, with the digests it binds, so the agent can check it against what it asked for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ApprovalResult {
    /// Request id.
    pub request_id: String,
    /// Current state: `pending` or `escalated` while a person decides.
    pub state: RequestState,
    /// SHA-256 (`sha-256:` + base64url) of the request as received; the decision names it.
    pub request_digest: String,
    /// The action's arguments digest as the request states it; the decision binds it.
    pub arguments_digest: String,
    /// RFC 3339 time the request expires if nobody decides.
    pub expires_at: String,
    /// The decision JWS, when approved or rejected: the one that settled it. Verify it
    /// against the gateway's JWKS before acting on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_jws: Option<String>,
    /// When a quorum approved it: every approver's decision JWS, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<String>,
    /// The link that opens the request in a reviewer's console (`countersign://request/<id>`).
    pub review_link: String,
}

/// Body of `POST /v1/requests/{id}/receipt`: what the workflow did with the decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Receipt {
    /// `executed`, `failed` or `skipped`.
    pub status: ReceiptStatus,
    /// RFC 3339 time of execution.
    pub executed_at: String,
    /// Free-text detail.
    #[serde(default)]
    pub detail: String,
    /// Digest of the execution result, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_digest: Option<String>,
}

/// Outcomes a workflow can report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptStatus {
    /// The action was carried out.
    Executed,
    /// It was attempted and failed.
    Failed,
    /// It was not carried out (for example after a rejection).
    Skipped,
}

/// Body the gateway POSTs to a request's callback URL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WebhookDelivery {
    /// Unique per delivery; repeated on retries (the idempotency key).
    pub delivery_id: String,
    /// Request id.
    pub request_id: String,
    /// Final state.
    pub state: RequestState,
    /// The decision JWS, when approved or rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_jws: Option<String>,
}

/// `GET /v1/metrics`: how the review process is doing over a time range (requests received
/// in `[from, to)`), for the supervisor dashboard and `countersign-gateway metrics`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Metrics {
    /// Start of the range.
    pub from: Timestamp,
    /// End of the range (exclusive).
    pub to: Timestamp,
    /// Requests received.
    pub received: u64,
    /// Requests that left the normal path: refused, blocked, overdue or escalated.
    pub exceptions: u64,
    /// `exceptions / received`.
    pub exception_rate: f64,
    /// Requests approved or rejected.
    pub decided: u64,
    /// Rejected: a person corrected the agents.
    pub rejected: u64,
    /// Approved over blocking findings by a supervisor.
    pub overridden: u64,
    /// `(rejected + overridden) / decided`: how often people changed what the agents
    /// would have done unreviewed.
    pub correction_rate: f64,
    /// From receipt to the settling decision, seconds.
    pub approval_latency: Spread,
    /// From receipt to the workflow's receipt of execution, seconds.
    pub cycle_time: Spread,
    /// Events recorded.
    pub events: u64,
    /// Events sealed into the audit log.
    pub sealed: u64,
    /// `sealed / events` (1 when there are none).
    pub audit_completeness: f64,
    /// Per day (UTC), oldest first: the plot.
    pub days: Vec<DayMetrics>,
}

/// Percentiles of a duration in seconds; all zero when there is no sample.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Spread {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// Longest.
    pub max: f64,
}

/// One day of the dashboard plot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DayMetrics {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Requests received.
    pub received: u64,
    /// Of which exceptions.
    pub exceptions: u64,
    /// Decided.
    pub decided: u64,
    /// Rejected or overridden.
    pub corrected: u64,
    /// Median approval latency of that day's requests, seconds.
    pub latency_p50: f64,
}

/// `GET /v1/me`: who a console is at this gateway.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Me {
    /// Identity.
    pub identity: String,
    /// Display name.
    pub display_name: String,
    /// Roles: `reviewer`, `supervisor`, `auditor`.
    pub roles: Vec<crate::Role>,
    /// Tiers they may decide.
    pub tiers: Vec<Tier>,
}

/// One review record as exported (JSONL line or CSV row): what was asked, what the verifier
/// found, who decided what and why, and what the workflow did. Flat on purpose, so a
/// spreadsheet reads it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReviewRecord {
    /// Request id.
    pub request_id: String,
    /// Receive time.
    pub received_at: Timestamp,
    /// Workflow that submitted it.
    pub workflow: String,
    /// Impact tier.
    pub tier: Tier,
    /// Final (or current) state.
    pub state: RequestState,
    /// The principal.
    pub principal: String,
    /// `type · operation` on `resource`.
    pub action: String,
    /// The action's summary (untrusted text).
    pub summary: String,
    /// `valid` or `invalid`.
    pub verdict: String,
    /// Finding codes, space-separated.
    pub findings: String,
    /// Escalation reasons ever raised, space-separated.
    pub escalations: String,
    /// Who decided (space-separated when a quorum approved).
    pub decided_by: String,
    /// `approve`, `reject`, or empty.
    pub decision: String,
    /// The settling decision's reason.
    pub reason: String,
    /// Finding codes the settling decision acknowledged.
    pub flags_acknowledged: String,
    /// Time of the settling decision; empty when undecided (as in the CSV).
    #[serde(with = "crate::timestamp::empty_when_none")]
    #[schemars(with = "String")]
    pub decided_at: Option<Timestamp>,
    /// What the workflow reported: `executed`, `failed`, `skipped`, or empty.
    pub receipt: String,
    /// Digest of the request as submitted.
    pub request_digest: String,
    /// `sha256` of the settling decision JWS (find it in a bundle), or empty.
    pub decision_digest: String,
}

/// `GET /v1/export/bundle`: an export bundle's files (all text) by relative path; written
/// back as a directory, it verifies with `countersign verify-bundle`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BundleFiles {
    /// Relative path → content.
    pub files: std::collections::BTreeMap<String, String>,
}
