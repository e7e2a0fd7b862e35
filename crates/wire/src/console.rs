//! The console's IPC contract: what the Tauri backend and the Leptos UI exchange.
//!
//! Each command has a request type with a `NAME` (the Tauri command) and an output type, so a
//! rename or a shape change breaks the build on both sides at once.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::api::{RequestRecord, RequestState};
use crate::{AuthorizationDetail, DecisionKind, Finding, Purpose, Tier};

/// A console command: its Tauri name and what it returns.
pub trait Command: Serialize + DeserializeOwned {
    /// The Tauri command name.
    const NAME: &'static str;
    /// What it returns.
    type Output: Serialize + DeserializeOwned;
}

/// Event emitted by the backend whenever the queue, history or connection changes.
pub const CHANGED_EVENT: &str = "console-changed";
/// Event emitted when the user activates a notification: payload is a request id.
pub const FOCUS_EVENT: &str = "focus-request";

/// The whole console state the UI renders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Open requests, most urgent first.
    pub queue: Vec<QueueItem>,
    /// Decided or expired requests, newest first.
    pub history: Vec<HistoryItem>,
    /// Requests refused at intake (forged or malformed), newest first.
    pub refused: Vec<QueueItem>,
    /// Connection to the gateway.
    pub connection: Connection,
    /// Who is reviewing.
    pub reviewer: ReviewerInfo,
}

/// Connection state, shown as a banner when not online.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "detail")]
pub enum Connection {
    /// Starting up.
    Connecting,
    /// Subscribed to live events.
    Online,
    /// The gateway cannot be reached; decisions are queued.
    Offline(String),
}

/// The reviewer using this console.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewerInfo {
    /// Identity.
    pub identity: String,
    /// Display name.
    pub display_name: String,
    /// RFC 7638 thumbprint of their key.
    pub key_fingerprint: String,
    /// Their public JWK as JSON, for enrolment at a gateway.
    pub public_jwk: String,
    /// Gateway URL.
    pub gateway: String,
    /// `embedded demo` or `gateway`.
    pub mode: String,
}

/// One row of the queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueItem {
    /// Request id.
    pub request_id: String,
    /// Open state (pending or escalated), or refused.
    pub state: RequestState,
    /// Impact tier.
    pub tier: Tier,
    /// The action's one-line summary (untrusted text, shown inert).
    pub summary: String,
    /// `type · operation`.
    pub action: String,
    /// Error findings.
    pub errors: usize,
    /// Warning findings.
    pub warnings: usize,
    /// Finding codes, for the row's badges.
    pub codes: Vec<String>,
    /// The agent's confidence, 0..1.
    pub confidence: f64,
    /// Display names from principal to acting agent.
    pub chain: Vec<String>,
    /// RFC 3339 expiry.
    pub expires_at: String,
    /// Whether the action is irreversible.
    pub irreversible: bool,
}

/// One decided or expired request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryItem {
    /// Request id.
    pub request_id: String,
    /// Summary.
    pub summary: String,
    /// Tier.
    pub tier: Tier,
    /// Final state.
    pub state: RequestState,
    /// Who decided, if anyone.
    pub decided_by: Option<String>,
    /// Their reason.
    pub reason: Option<String>,
    /// When.
    pub at: String,
}

/// How a hop's key checked out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "kid")]
pub enum KeyStatus {
    /// Signed by a registered key of the delegator.
    Verified(String),
    /// No registered key of the delegator matches.
    Unknown,
    /// The signature does not verify.
    Invalid,
    /// Not checked (unparseable hop or forbidden algorithm).
    NotChecked,
}

/// How a grant compares with the parent hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantChange {
    /// Hop 0: granted by the principal.
    Root,
    /// The same as the parent's.
    Unchanged,
    /// Narrower than the parent's.
    Narrowed,
    /// Wider than, or absent from, the parent's.
    Widened,
}

/// One grant of a hop, compared with its parent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GrantView {
    /// The grant.
    pub detail: AuthorizationDetail,
    /// How it compares.
    pub change: GrantChange,
}

/// One hop of the chain timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HopView {
    /// Index.
    pub index: u32,
    /// Delegator identity.
    pub delegator: String,
    /// Delegator display name (from the trust store).
    pub delegator_name: Option<String>,
    /// Delegatee identity.
    pub delegatee: String,
    /// Delegatee display name.
    pub delegatee_name: Option<String>,
    /// Signature status.
    pub key: KeyStatus,
    /// Scope with its diff against the parent.
    pub grants: Vec<GrantView>,
    /// Grants of the parent that this hop dropped (narrowing).
    pub dropped: Vec<String>,
    /// Purpose.
    pub purpose: Option<Purpose>,
    /// RFC 3339 expiry.
    pub expires_at: String,
    /// Further delegations allowed.
    pub remaining_depth: i64,
    /// Findings at this hop.
    pub findings: Vec<Finding>,
}

/// Everything the request view shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestView {
    /// The stored record (request as submitted, report, decision).
    pub record: RequestRecord,
    /// The chain, hop by hop (empty if the chain could not be parsed).
    pub hops: Vec<HopView>,
    /// Findings not tied to a hop.
    pub request_findings: Vec<Finding>,
}

/// `queue`: the current snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetSnapshot {}

impl Command for GetSnapshot {
    const NAME: &'static str = "snapshot";
    type Output = Snapshot;
}

/// `request`: one request's full view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetRequest {
    /// Request id.
    pub request_id: String,
}

impl Command for GetRequest {
    const NAME: &'static str = "request";
    type Output = RequestView;
}

/// `decide`: sign and send a decision (the private key never leaves the backend).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decide {
    /// Request id.
    pub request_id: String,
    /// Approve or reject.
    pub decision: DecisionKind,
    /// Reason.
    pub reason: String,
    /// Finding codes the reviewer acknowledged.
    pub acknowledged: Vec<String>,
}

/// What happened to a decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "detail")]
pub enum DecideOutcome {
    /// Accepted by the gateway and delivered to the workflow's channels.
    Delivered,
    /// Someone else decided first.
    AlreadyDecided(String),
    /// The request expired first.
    Expired,
    /// The gateway is unreachable: signed and queued, sent on reconnect.
    Queued,
    /// The gateway refused it (code and message).
    Refused(String),
}

impl Command for Decide {
    const NAME: &'static str = "decide";
    type Output = DecideOutcome;
}

/// Error crossing the IPC boundary: a stable code and a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleError {
    /// Stable code (`not_found`, `invalid`, `internal`, …).
    pub code: String,
    /// Message for the reviewer.
    pub message: String,
}
