//! Whether a reviewer's decision JWS may be accepted for a stored request.
//!
//! Single use (`jti`) and "the request is still open and unexpired" are enforced by the store,
//! atomically with the state change (checking them here first would be a race); everything
//! else is decided here.

use chrono::{DateTime, Utc};
use countersign_chain::CompactJws;
use countersign_wire::api::ErrorCode;
use countersign_wire::{
    DECISION_TYP, DecisionClaims, DecisionKind, Severity, Tier, VerificationReport,
};

use crate::{Reviewer, Role, TierPolicy};

/// Decisions may live at most this long (they are bearer proofs of approval).
pub const MAX_DECISION_LIFETIME_SECONDS: i64 = 900;
const SKEW_SECONDS: i64 = 60;

/// What the gateway knows about the request being decided.
#[derive(Clone, Debug)]
pub struct DecisionTarget<'a> {
    /// Request id.
    pub request_id: &'a str,
    /// Transaction id.
    pub txn: &'a str,
    /// Digests from the stored report.
    pub request_digest: &'a str,
    /// Chain digest.
    pub chain_digest: &'a str,
    /// Action digest.
    pub action_digest: &'a str,
    /// Impact tier.
    pub tier: Tier,
    /// The principal and every identity in the chain: none of them may decide.
    pub parties: &'a [String],
    /// The stored report (with gateway findings).
    pub report: &'a VerificationReport,
    /// The policy's rules for the request's tier.
    pub policy: &'a TierPolicy,
}

/// A refused decision: a stable code and a message for the reviewer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// Error code.
    pub code: ErrorCode,
    /// Explanation.
    pub message: String,
}

fn reject(code: ErrorCode, message: impl Into<String>) -> Rejection {
    Rejection {
        code,
        message: message.into(),
    }
}

/// Checks a decision JWS signed by `reviewer` (resolved from its `kid`) against `target`.
pub fn check_decision(
    jws: &str,
    reviewer: &Reviewer,
    target: &DecisionTarget<'_>,
    audience: &str,
    now: DateTime<Utc>,
) -> Result<DecisionClaims, Rejection> {
    let parsed = CompactJws::parse(jws).map_err(|e| {
        reject(
            ErrorCode::DecisionInvalid,
            format!("decision is not a usable JWS: {e}"),
        )
    })?;
    if parsed.header.alg != "EdDSA" {
        return Err(reject(
            ErrorCode::DecisionInvalid,
            format!(
                "decision uses alg {}; only EdDSA is allowed",
                parsed.header.alg
            ),
        ));
    }
    if parsed.header.typ.as_deref() != Some(DECISION_TYP) {
        return Err(reject(
            ErrorCode::DecisionInvalid,
            format!(
                "decision has typ {:?}; it must be {DECISION_TYP:?}",
                parsed.header.typ
            ),
        ));
    }
    if !reviewer.keys.iter().any(|key| parsed.verify_with(key)) {
        return Err(reject(
            ErrorCode::DecisionInvalid,
            "decision signature does not verify with the reviewer's enrolled key",
        ));
    }
    let claims: DecisionClaims = parsed.claims().map_err(|e| {
        reject(
            ErrorCode::DecisionInvalid,
            format!("decision claims are invalid at {}: {}", e.path(), e.inner()),
        )
    })?;
    if claims.iss != reviewer.identity {
        return Err(reject(
            ErrorCode::DecisionInvalid,
            format!(
                "decision is issued by {}, but signed by {}'s key",
                claims.iss, reviewer.identity
            ),
        ));
    }

    let now_s = now.timestamp();
    if claims.aud != audience {
        return Err(reject(
            ErrorCode::DecisionNotAcceptable,
            format!(
                "decision is for audience {:?}, not {audience:?}",
                claims.aud
            ),
        ));
    }
    if claims.exp <= now_s {
        return Err(reject(
            ErrorCode::DecisionNotAcceptable,
            "decision has expired",
        ));
    }
    if claims.iat > now_s + SKEW_SECONDS || claims.exp - claims.iat > MAX_DECISION_LIFETIME_SECONDS
    {
        return Err(reject(
            ErrorCode::DecisionNotAcceptable,
            format!(
                "decision must be issued now and live at most {MAX_DECISION_LIFETIME_SECONDS} seconds"
            ),
        ));
    }

    let mismatches: Vec<&str> = [
        ("request_id", claims.request_id == target.request_id),
        ("txn", claims.txn == target.txn),
        (
            "request_digest",
            claims.request_digest == target.request_digest,
        ),
        ("chain_digest", claims.chain_digest == target.chain_digest),
        (
            "action_digest",
            claims.action_digest == target.action_digest,
        ),
    ]
    .into_iter()
    .filter(|(_, ok)| !ok)
    .map(|(name, _)| name)
    .collect();
    if !mismatches.is_empty() {
        return Err(reject(
            ErrorCode::DecisionMismatch,
            format!(
                "decision does not match the stored request: {} differ",
                mismatches.join(", ")
            ),
        ));
    }

    let roles: Vec<Role> = reviewer.roles.iter().copied().collect();
    if !target.policy.may_decide(&roles) {
        return Err(reject(
            ErrorCode::Forbidden,
            format!(
                "{} holds no role that may decide {} requests",
                reviewer.identity,
                target.tier.as_str()
            ),
        ));
    }
    if !reviewer.tiers.contains(&target.tier) {
        return Err(reject(
            ErrorCode::Forbidden,
            format!(
                "{} may not decide {} requests",
                reviewer.identity,
                target.tier.as_str()
            ),
        ));
    }
    if target.parties.contains(&claims.iss) {
        return Err(reject(
            ErrorCode::SelfApproval,
            format!(
                "{} is the principal or part of the delegation chain and may not decide it",
                claims.iss
            ),
        ));
    }

    // What blocks reviewers: every error, and whatever else the policy names.
    let blocking = target.policy.blocking_codes(&target.report.findings);
    let errors: Vec<&str> = blocking.iter().map(String::as_str).collect();
    let warnings: Vec<&str> = target
        .report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .map(|f| f.code.as_str())
        .collect();
    let acknowledged = |code: &&str| claims.flags_acknowledged.iter().any(|a| a == code);
    match claims.decision {
        DecisionKind::Reject => {
            if claims.reason.trim().is_empty() {
                return Err(reject(
                    ErrorCode::ReasonRequired,
                    "a rejection needs a reason",
                ));
            }
        }
        DecisionKind::Approve => {
            if !errors.is_empty() {
                // Blocked for reviewers; a supervisor may override, acknowledging every error.
                if !reviewer.has(Role::Supervisor) {
                    return Err(reject(
                        ErrorCode::ApprovalBlocked,
                        format!(
                            "approval is blocked by {}; a supervisor must handle this request",
                            errors.join(", ")
                        ),
                    ));
                }
                let missing: Vec<&str> = errors
                    .iter()
                    .copied()
                    .filter(|c| !acknowledged(c))
                    .collect();
                if !missing.is_empty() || claims.reason.trim().is_empty() {
                    return Err(reject(
                        ErrorCode::ReasonRequired,
                        format!(
                            "an override must give a reason and acknowledge {}",
                            errors.join(", ")
                        ),
                    ));
                }
            }
            if target.tier >= Tier::High && claims.reason.trim().is_empty() {
                return Err(reject(
                    ErrorCode::ReasonRequired,
                    format!(
                        "approving a {} request needs a reason",
                        target.tier.as_str()
                    ),
                ));
            }
            let missing: Vec<&str> = warnings
                .iter()
                .copied()
                .filter(|c| !acknowledged(c) && !errors.contains(c))
                .collect();
            if !missing.is_empty() {
                return Err(reject(
                    ErrorCode::ReasonRequired,
                    format!("acknowledge {} before approving", missing.join(", ")),
                ));
            }
        }
    }
    Ok(claims)
}

/// The claims a console signs to decide `record`: ids and digests copied from the stored
/// request and its report, so the decision binds exactly what the reviewer saw.
#[allow(clippy::too_many_arguments)]
pub fn decision_claims(
    record: &countersign_wire::api::RequestRecord,
    reviewer: &str,
    audience: &str,
    decision: DecisionKind,
    reason: &str,
    flags_acknowledged: Vec<String>,
    now: DateTime<Utc>,
    jti: &str,
) -> DecisionClaims {
    let text = |key: &str| {
        record
            .request
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    DecisionClaims {
        iss: reviewer.to_owned(),
        aud: audience.to_owned(),
        jti: jti.to_owned(),
        iat: now.timestamp(),
        exp: now.timestamp() + DECISION_LIFETIME_SECONDS,
        txn: text("txn"),
        request_id: record.request_id.clone(),
        request_digest: record.report.request_digest.clone().unwrap_or_default(),
        chain_digest: record.report.chain_digest.clone().unwrap_or_default(),
        action_digest: record.report.action_digest.clone().unwrap_or_default(),
        decision,
        reason: reason.to_owned(),
        flags_acknowledged,
        policy: record
            .policy
            .clone()
            .unwrap_or_else(|| countersign_wire::PolicyRef {
                id: DEFAULT_POLICY_ID.into(),
                version: DEFAULT_POLICY_VERSION.into(),
            }),
    }
}

/// The policy a gateway without a policy file applies (and decisions then name).
pub const DEFAULT_POLICY_ID: &str = "default";
/// Its version.
pub const DEFAULT_POLICY_VERSION: &str = "1";

/// How long the decisions a console signs live: long enough to reach a gateway that was
/// briefly down, short enough to be worthless later.
pub const DECISION_LIFETIME_SECONDS: i64 = 600;
