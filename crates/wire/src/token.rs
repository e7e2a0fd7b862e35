//! Claims of the two signed artefacts: hop attestations and reviewer decisions.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Purpose;

/// `typ` header of a hop attestation JWS.
pub const HOP_TYP: &str = "delegation-hop+jwt";
/// `typ` header of a reviewer decision JWS.
pub const DECISION_TYP: &str = "delegation-decision+jwt";

/// The protected header of a compact JWS, as far as Countersign reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JwsHeader {
    /// Signature algorithm; only `EdDSA` is allowed.
    pub alg: String,
    /// Explicit type (RFC 8725 §3.11); checked on every artefact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// RFC 7638 thumbprint of the signing key. Only selects among trusted keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
}

/// Claims of a hop attestation, signed by the delegator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HopClaims {
    /// Delegator identity.
    pub iss: String,
    /// Delegatee identity.
    pub sub: String,
    /// Unique id of this attestation; replays across requests are refused by the gateway.
    pub jti: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch); never later than the parent's.
    pub exp: i64,
    /// Not valid before (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Transaction id, the same on every hop.
    pub txn: String,
    /// The root human, the same on every hop.
    pub principal: String,
    /// 0-based index of this hop in the chain.
    pub hop: u32,
    /// How many further delegations are allowed; each child is at most parent − 1.
    pub max_depth: i64,
    /// Digest of the parent hop's compact JWS bytes; absent on hop 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<String>,
    /// The delegatee's key: the next hop must be signed by it.
    pub cnf: Confirmation,
    /// The authority granted (RFC 9396), which must narrow along the chain.
    #[serde(default)]
    pub authorization_details: Vec<AuthorizationDetail>,
    /// Purpose of the delegation; absence is a finding, not a parse error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Purpose>,
    /// Commitments to evidence items of the request.
    #[serde(default)]
    pub evidence: Vec<EvidenceCommitment>,
}

/// RFC 7800 style confirmation: which key holds the delegated authority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Confirmation {
    /// RFC 7638 thumbprint of the delegatee's Ed25519 key.
    pub jkt: String,
}

/// One RFC 9396 authorization detail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuthorizationDetail {
    /// Authorization type, e.g. `payments.transfer`.
    #[serde(rename = "type")]
    pub detail_type: String,
    /// Operations allowed.
    #[serde(default)]
    pub actions: Vec<String>,
    /// Resources allowed; absent means any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locations: Option<Vec<String>>,
    /// Limits: `max_X`, `min_X`, arrays (allowed sets) and exact values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<Map<String, Value>>,
}

/// A hop's commitment to one evidence item of the request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EvidenceCommitment {
    /// Evidence id.
    pub id: String,
    /// Digest the evidence must have.
    pub digest: String,
}

/// Claims of a reviewer's decision, signed with the reviewer's own key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DecisionClaims {
    /// Reviewer identity.
    pub iss: String,
    /// The gateway's audience.
    pub aud: String,
    /// Unique id; a decision is single-use.
    pub jti: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch); short-lived.
    pub exp: i64,
    /// Transaction id of the request.
    pub txn: String,
    /// The request decided.
    pub request_id: String,
    /// Digest of the request as submitted.
    pub request_digest: String,
    /// Digest of the chain.
    pub chain_digest: String,
    /// Digest of the action.
    pub action_digest: String,
    /// Approve or reject.
    pub decision: DecisionKind,
    /// The reviewer's reason.
    pub reason: String,
    /// Finding codes the reviewer explicitly acknowledged.
    #[serde(default)]
    pub flags_acknowledged: Vec<crate::FindingCode>,
    /// Policy under which the decision was taken.
    pub policy: PolicyRef,
}

/// The one request a decision decides: its ids and the three digests of what was submitted.
/// A decision binds a request exactly when every one of these equals the decision's claim;
/// the gateway, the workflow client and the bundle verifier all ask [`DecisionClaims::unbound`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionSubject {
    /// Request id.
    pub request_id: String,
    /// Transaction id of the request.
    pub txn: String,
    /// Digest of the request as submitted (RFC 8785).
    pub request_digest: String,
    /// Digest of the chain.
    pub chain_digest: String,
    /// Digest of the action.
    pub action_digest: String,
}

impl DecisionSubject {
    /// The subject of request `request_id` in transaction `txn`: the digests its report gives.
    pub fn of(request_id: &str, txn: &str, report: &crate::VerificationReport) -> Self {
        let digest = |d: &Option<String>| d.clone().unwrap_or_default();
        DecisionSubject {
            request_id: request_id.to_owned(),
            txn: txn.to_owned(),
            request_digest: digest(&report.request_digest),
            chain_digest: digest(&report.chain_digest),
            action_digest: digest(&report.action_digest),
        }
    }
}

impl DecisionClaims {
    /// The claims in which this decision names another request than `subject` (none: it binds
    /// `subject`), in the order of the contract.
    pub fn unbound(&self, subject: &DecisionSubject) -> Vec<&'static str> {
        [
            ("request_id", self.request_id == subject.request_id),
            ("txn", self.txn == subject.txn),
            (
                "request_digest",
                self.request_digest == subject.request_digest,
            ),
            ("chain_digest", self.chain_digest == subject.chain_digest),
            ("action_digest", self.action_digest == subject.action_digest),
        ]
        .into_iter()
        .filter(|(_, same)| !same)
        .map(|(name, _)| name)
        .collect()
    }
}

/// The two possible decisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DecisionKind {
    /// The action may go ahead.
    Approve,
    /// The action must not go ahead.
    Reject,
}

impl DecisionKind {
    /// The decision as it appears on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Approve => "approve",
            DecisionKind::Reject => "reject",
        }
    }

    /// Reads the wire form back.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "approve" => Some(DecisionKind::Approve),
            "reject" => Some(DecisionKind::Reject),
            _ => None,
        }
    }
}

/// A reference to a versioned policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PolicyRef {
    /// Policy id.
    pub id: String,
    /// Policy version.
    pub version: String,
}
