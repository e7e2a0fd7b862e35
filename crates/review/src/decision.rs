//! Whether a reviewer's decision JWS may be accepted for a stored request.
//!
//! Single use (`jti`) and "the request is still open and unexpired" are enforced by the store,
//! atomically with the state change (checking them here first would be a race); everything
//! else is decided here.

use chrono::{DateTime, Utc};
use countersign_chain::{TypedJwsError, verify_typed};
use countersign_wire::api::ErrorCode;
use countersign_wire::api::RequestRecord;
use countersign_wire::{
    DECISION_TYP, DecisionClaims, DecisionKind, DecisionRequirements, DecisionSubject,
    DelegationRequest, FindingCode, Severity, Tier, Unmet, VerificationReport,
};

use crate::{Reviewer, Role, TierPolicy};

/// Decisions may live at most this long (they are bearer proofs of approval).
pub const MAX_DECISION_LIFETIME_SECONDS: i64 = 900;
const SKEW_SECONDS: i64 = 60;

/// What the gateway knows about the request being decided.
#[derive(Clone, Debug)]
pub struct DecisionTarget<'a> {
    /// The request's ids and digests, which the decision must name.
    pub subject: DecisionSubject,
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
    let claims: DecisionClaims = verify_typed(jws, DECISION_TYP, &reviewer.keys)
        .map_err(|e| {
            let message = match e {
                TypedJwsError::Unverified => {
                    "decision signature does not verify with the reviewer's enrolled key".into()
                }
                TypedJwsError::Claims { path, reason } => {
                    format!("decision claims are invalid at {path}: {reason}")
                }
                other => format!("decision is not a usable decision JWS: {other}"),
            };
            reject(ErrorCode::DecisionInvalid, message)
        })?
        .claims;
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

    let mismatches = claims.unbound(&target.subject);
    if !mismatches.is_empty() {
        return Err(reject(
            ErrorCode::DecisionMismatch,
            format!(
                "decision does not match the stored request: {} differ",
                mismatches.join(", ")
            ),
        ));
    }

    eligible(reviewer, target.tier, target.policy, target.parties)
        .map_err(|e| reject(e.code(), e.to_string()))?;

    let needs = requirements_of(
        target.policy.blocking_codes(&target.report.findings),
        target.report,
        target.tier,
        reviewer.has(Role::Supervisor),
        false,
    );
    if let Some(unmet) = needs.unmet(claims.decision, &claims.reason, &claims.flags_acknowledged) {
        let code = match unmet {
            Unmet::Blocked(_) => ErrorCode::ApprovalBlocked,
            Unmet::Reason(_) | Unmet::Acknowledge(_) => ErrorCode::ReasonRequired,
        };
        return Err(reject(code, unmet.to_string()));
    }
    Ok(claims)
}

/// Why a reviewer may not decide (or be assigned) a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Ineligible {
    /// None of their roles decides this tier.
    #[error("{identity} holds no role that may decide {} requests", .tier.as_str())]
    Role {
        /// The reviewer.
        identity: String,
        /// The request's tier.
        tier: Tier,
    },
    /// They are not enrolled for this tier.
    #[error("{identity} may not decide {} requests", .tier.as_str())]
    Tier {
        /// The reviewer.
        identity: String,
        /// The request's tier.
        tier: Tier,
    },
    /// They are the principal or in the chain: nobody countersigns their own delegation.
    #[error("{identity} is the principal or part of the delegation chain and may not decide it")]
    Party {
        /// The reviewer.
        identity: String,
    },
}

impl Ineligible {
    /// The contract's code for a decision refused for this reason.
    pub fn code(&self) -> ErrorCode {
        match self {
            Ineligible::Role { .. } | Ineligible::Tier { .. } => ErrorCode::Forbidden,
            Ineligible::Party { .. } => ErrorCode::SelfApproval,
        }
    }
}

/// Whether `reviewer` may decide a request of `tier` under `rules` whose principal and chain
/// are `parties`: the one rule for deciding and for being assigned.
pub fn eligible(
    reviewer: &Reviewer,
    tier: Tier,
    rules: &TierPolicy,
    parties: &[String],
) -> Result<(), Ineligible> {
    let identity = || reviewer.identity.clone();
    let roles: Vec<Role> = reviewer.roles.iter().copied().collect();
    if !rules.may_decide(&roles) {
        return Err(Ineligible::Role {
            identity: identity(),
            tier,
        });
    }
    if !reviewer.tiers.contains(&tier) {
        return Err(Ineligible::Tier {
            identity: identity(),
            tier,
        });
    }
    if parties.contains(&reviewer.identity) {
        return Err(Ineligible::Party {
            identity: identity(),
        });
    }
    Ok(())
}

/// What an accepted decision does to its request, given who approved it so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tally {
    /// It settles the request (a rejection, or the approval that meets the quorum).
    Settles,
    /// It counts toward a quorum; the request stays open.
    Counts,
    /// It cannot count (for example the same person approving twice).
    Refused(String),
}

/// Tallies `decision` by `approver` against the approvals recorded before it (`earlier`) and
/// the tier's quorum (`need`). The principal and the chain (`parties`) never count, even if
/// an earlier check were skipped.
pub fn tally(
    decision: DecisionKind,
    approver: &str,
    earlier: &[String],
    principal: &str,
    parties: &[String],
    need: u32,
) -> Tally {
    if decision == DecisionKind::Reject {
        return Tally::Settles;
    }
    let chain: Vec<String> = parties
        .iter()
        .filter(|party| *party != principal)
        .cloned()
        .collect();
    match crate::policy::count_approval(earlier, approver, principal, &chain, need) {
        Ok(crate::policy::Quorum::Met) => Tally::Settles,
        Ok(crate::policy::Quorum::Waiting { .. }) => Tally::Counts,
        Err(refusal) => Tally::Refused(refusal.to_string()),
    }
}

/// The audit detail of an accepted decision: an approval of a request that blocks reviewers
/// is a supervisor's override, recorded with what was acknowledged and the policy. `None`
/// for every other decision.
pub fn override_detail(
    claims: &DecisionClaims,
    rules: &TierPolicy,
    report: &VerificationReport,
) -> Option<String> {
    let blocked = !rules.blocking_codes(&report.findings).is_empty();
    (claims.decision == DecisionKind::Approve && blocked).then(|| {
        serde_json::json!({
            "override": true,
            "flags_acknowledged": claims.flags_acknowledged,
            "policy": claims.policy,
        })
        .to_string()
    })
}

/// What deciding takes, from the codes that block reviewers, the report's warnings, the
/// tier and whether the decider is a supervisor: the rules `check_decision` enforces and a
/// console shows.
fn requirements_of(
    blocked_by: Vec<FindingCode>,
    report: &VerificationReport,
    tier: Tier,
    supervisor: bool,
    confirm_critical: bool,
) -> DecisionRequirements {
    let mut warnings: Vec<FindingCode> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .map(|f| f.code.clone())
        .filter(|code| !blocked_by.contains(code))
        .collect();
    crate::policy::sort_codes(&mut warnings);
    let overriding = supervisor && !blocked_by.is_empty();
    DecisionRequirements {
        reason_to_approve: tier >= Tier::High || overriding,
        blocked_by,
        may_override: supervisor,
        warnings,
        confirm_critical,
    }
}

/// What deciding `record` takes for someone holding `roles`, as a console shows it. The
/// blocking codes are the gateway's (`record.blocked_by`, under its policy); a record from a
/// gateway that predates them falls back to the errors. `request` is the request as
/// verified, for what its action says about itself (critical and irreversible: confirm).
pub fn requirements(
    record: &RequestRecord,
    request: Option<&DelegationRequest>,
    roles: &[Role],
) -> DecisionRequirements {
    let blocked_by = if record.blocked_by.is_empty() {
        // The default policy blocks on errors only.
        TierPolicy::default().blocking_codes(&record.report.findings)
    } else {
        record.blocked_by.clone()
    };
    let irreversible = request.is_some_and(|r| !r.action.impact.reversible);
    requirements_of(
        blocked_by,
        &record.report,
        record.tier,
        roles.contains(&Role::Supervisor),
        record.tier == Tier::Critical && irreversible,
    )
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
    flags_acknowledged: Vec<FindingCode>,
    now: DateTime<Utc>,
    jti: &str,
) -> DecisionClaims {
    let subject = record.decision_subject();
    DecisionClaims {
        iss: reviewer.to_owned(),
        aud: audience.to_owned(),
        jti: jti.to_owned(),
        iat: now.timestamp(),
        exp: now.timestamp() + DECISION_LIFETIME_SECONDS,
        txn: subject.txn,
        request_id: subject.request_id,
        request_digest: subject.request_digest,
        chain_digest: subject.chain_digest,
        action_digest: subject.action_digest,
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
