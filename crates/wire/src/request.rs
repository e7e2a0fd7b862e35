//! The DelegationRequest a workflow submits, with its action, evidence and uncertainty.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The `schema` value of a v1 DelegationRequest.
pub const REQUEST_SCHEMA: &str = "countersign.request/v1";

/// A high-impact handoff awaiting a human countersignature.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DelegationRequest {
    /// Always [`REQUEST_SCHEMA`] for v1.
    pub schema: String,
    /// Unique id chosen by the workflow; submissions are idempotent on it.
    pub request_id: String,
    /// Transaction id, the same on every hop of the chain.
    pub txn: String,
    /// RFC 3339 time the workflow created the request.
    pub created_at: String,
    /// RFC 3339 time after which the request can no longer be approved.
    pub expires_at: String,
    /// Identity of the root human on whose behalf the chain acts.
    pub principal: String,
    /// Why the work is being done.
    pub purpose: Purpose,
    /// Hop attestations as compact JWS strings, root first.
    pub chain: Vec<String>,
    /// What the leaf agent wants to do.
    pub action: Action,
    /// Sources, tool outputs and other material the reviewer may inspect. Untrusted text.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// How sure the requesting agent is, and why.
    pub uncertainty: Uncertainty,
    /// Where the gateway delivers the decision by webhook, if anywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<Callback>,
    /// The workflow asks for a supervisor from the start (for example its own rules flagged
    /// the case); the request still verifies and reviewers still see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate: Option<EscalationAsk>,
}

/// A workflow's request for supervisor attention.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EscalationAsk {
    /// Why, for the supervisor (untrusted text).
    pub note: String,
}

/// The purpose a delegation serves: `id` must stay the same along the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Purpose {
    /// Stable identifier of the purpose.
    pub id: String,
    /// Human-readable statement of the purpose.
    pub text: String,
}

/// The concrete operation the leaf agent asks to perform.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Action {
    /// Authorization type, matched against `authorization_details[].type`.
    #[serde(rename = "type")]
    pub action_type: String,
    /// Operation, matched against `authorization_details[].actions`.
    pub operation: String,
    /// Resource, matched against `authorization_details[].locations`.
    pub resource: String,
    /// Arguments of the call; limits in the leaf scope are checked against them.
    #[serde(default)]
    pub arguments: Map<String, Value>,
    /// Digest of the JCS canonical form of `arguments`.
    pub arguments_digest: String,
    /// Identity of the agent asking; must be the leaf delegatee.
    pub requested_by: String,
    /// The tool that would perform the action, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<Tool>,
    /// How much is at stake.
    pub impact: Impact,
    /// One-line description for the reviewer's queue.
    pub summary: String,
}

/// A tool (for example an MCP tool) that would carry out the action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Tool {
    /// Tool name.
    pub name: String,
    /// Server that exposes the tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
}

/// Impact of the action, which decides who may approve it and how urgently.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Impact {
    /// Impact tier.
    pub tier: Tier,
    /// Whether the action can be undone.
    pub reversible: bool,
    /// Monetary value at stake, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Money>,
}

/// Impact tiers, ordered from least to most urgent.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Routine.
    Low,
    /// Noticeable.
    Medium,
    /// Needs a prompt human look; raises a notification.
    High,
    /// Irreversible or large; raises a notification.
    Critical,
}

impl Tier {
    /// Every tier, lowest first.
    pub const ALL: [Tier; 4] = [Tier::Low, Tier::Medium, Tier::High, Tier::Critical];

    /// The tier as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Low => "low",
            Tier::Medium => "medium",
            Tier::High => "high",
            Tier::Critical => "critical",
        }
    }
}

/// An amount of money; the amount is a decimal string so it survives JCS exactly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Money {
    /// Decimal amount, e.g. `"1250.00"`.
    pub amount: String,
    /// ISO 4217 currency code.
    pub currency: String,
}

/// One piece of evidence. Its text is untrusted and is only ever displayed as inert text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Evidence {
    /// Id that hop `evidence` commitments refer to.
    pub id: String,
    /// What sort of evidence this is.
    pub kind: EvidenceKind,
    /// Identity of the agent or tool that produced it.
    pub produced_by: String,
    /// Short title.
    pub title: String,
    /// Media type of `content`.
    pub content_type: String,
    /// Inline content, if carried inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Where the content lives, if not inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Digest over the raw `content` bytes.
    pub digest: String,
    /// RFC 3339 time the evidence was captured.
    pub captured_at: String,
}

/// Kinds of evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// A document or record consulted.
    Source,
    /// Output of a tool call.
    ToolOutput,
    /// A retrieval result.
    Retrieval,
    /// A trace span.
    TraceSpan,
    /// An attached file.
    Attachment,
}

/// The requesting agent's account of its own uncertainty.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Uncertainty {
    /// Confidence between 0 and 1.
    pub confidence: f64,
    /// How the confidence was obtained.
    pub method: String,
    /// Assumptions the agent made.
    #[serde(default)]
    pub assumptions: Vec<String>,
    /// Things the agent knows it does not know.
    #[serde(default)]
    pub known_unknowns: Vec<String>,
    /// Alternatives considered and why they were not chosen.
    #[serde(default)]
    pub alternatives: Vec<Alternative>,
}

/// An alternative the agent considered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Alternative {
    /// What the alternative was.
    pub summary: String,
    /// Why it was not chosen.
    pub why_not: String,
}

/// Where to deliver the decision by webhook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Callback {
    /// HTTPS (or loopback HTTP) URL the gateway POSTs the decision to.
    pub url: String,
}
