//! What deciding one request takes, for one person: computed by `countersign-review` (the
//! gateway enforces it on every decision; the console shows it before signing), and checked
//! against a draft decision here, so the UI only renders and never re-derives a rule.

use serde::{Deserialize, Serialize};

use crate::{DecisionKind, FindingCode};

/// The conditions a decision on a request must meet, for the person about to decide it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DecisionRequirements {
    /// Finding codes that block reviewers from approving (every error, and what the tier's
    /// policy adds); sorted, each once. Empty: reviewers may approve.
    pub blocked_by: Vec<FindingCode>,
    /// Whether this person may override the block (a supervisor): by acknowledging every
    /// blocking code and giving a reason; the override is recorded.
    pub may_override: bool,
    /// Warning codes to acknowledge before approving (none of them blocking); sorted.
    pub warnings: Vec<FindingCode>,
    /// Whether an approval needs a reason (high and critical tiers, and every override). A
    /// rejection always does.
    pub reason_to_approve: bool,
    /// Whether an approval takes a second, explicit confirmation (a critical, irreversible
    /// action).
    pub confirm_critical: bool,
}

/// What a draft decision still lacks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unmet {
    /// Approval is blocked by these codes, and this person may not override.
    Blocked(Vec<FindingCode>),
    /// It needs a reason.
    Reason(DecisionKind),
    /// These codes must be acknowledged first.
    Acknowledge(Vec<FindingCode>),
}

fn listed(codes: &[FindingCode]) -> String {
    codes
        .iter()
        .map(FindingCode::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

impl std::fmt::Display for Unmet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unmet::Blocked(codes) => write!(
                f,
                "approval is blocked by {}; a supervisor must handle this request",
                listed(codes)
            ),
            Unmet::Reason(DecisionKind::Reject) => write!(f, "a rejection needs a reason"),
            Unmet::Reason(DecisionKind::Approve) => write!(f, "this approval needs a reason"),
            Unmet::Acknowledge(codes) => {
                write!(f, "acknowledge {} before approving", listed(codes))
            }
        }
    }
}

impl DecisionRequirements {
    /// Whether approving is closed to this person (blocked, and no override).
    pub fn approval_blocked(&self) -> bool {
        !self.blocked_by.is_empty() && !self.may_override
    }

    /// Whether an approval by this person would override a block.
    pub fn overriding(&self) -> bool {
        !self.blocked_by.is_empty() && self.may_override
    }

    /// Every code an approval must acknowledge: the warnings, and the blocking codes when
    /// overriding; sorted, each once.
    pub fn to_acknowledge(&self) -> Vec<FindingCode> {
        let mut codes = self.warnings.clone();
        if self.overriding() {
            codes.extend(self.blocked_by.iter().cloned());
        }
        codes.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        codes.dedup();
        codes
    }

    /// What `decision` with `reason` and `acknowledged` still lacks; `None` when it may be
    /// signed (or accepted). Checked in this order: the block, the reason, the
    /// acknowledgements.
    pub fn unmet(
        &self,
        decision: DecisionKind,
        reason: &str,
        acknowledged: &[FindingCode],
    ) -> Option<Unmet> {
        let no_reason = reason.trim().is_empty();
        match decision {
            DecisionKind::Reject => no_reason.then_some(Unmet::Reason(DecisionKind::Reject)),
            DecisionKind::Approve => {
                if self.approval_blocked() {
                    return Some(Unmet::Blocked(self.blocked_by.clone()));
                }
                if self.reason_to_approve && no_reason {
                    return Some(Unmet::Reason(DecisionKind::Approve));
                }
                let missing: Vec<FindingCode> = self
                    .to_acknowledge()
                    .into_iter()
                    .filter(|code| !acknowledged.contains(code))
                    .collect();
                (!missing.is_empty()).then_some(Unmet::Acknowledge(missing))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs(blocked: &[&str], may_override: bool, warnings: &[&str]) -> DecisionRequirements {
        DecisionRequirements {
            blocked_by: blocked
                .iter()
                .map(|c| FindingCode::from(c.to_string()))
                .collect(),
            may_override,
            warnings: warnings
                .iter()
                .map(|c| FindingCode::from(c.to_string()))
                .collect(),
            reason_to_approve: may_override && !blocked.is_empty(),
            confirm_critical: false,
        }
    }

    #[test]
    fn a_draft_is_checked_block_then_reason_then_acknowledgements() {
        use DecisionKind::*;
        let acked = |codes: &[&str]| {
            codes
                .iter()
                .map(|c| FindingCode::from(c.to_string()))
                .collect::<Vec<_>>()
        };
        let blocked = needs(&["GHOST_PERMISSION"], false, &["SCOPE_OVER_PROVISIONED"]);
        assert_eq!(
            blocked.unmet(
                Approve,
                "fine",
                &acked(&["GHOST_PERMISSION", "SCOPE_OVER_PROVISIONED"])
            ),
            Some(Unmet::Blocked(vec![FindingCode::GhostPermission]))
        );
        assert_eq!(blocked.unmet(Reject, " ", &[]), Some(Unmet::Reason(Reject)));
        assert_eq!(blocked.unmet(Reject, "no", &[]), None);

        let overriding = needs(&["GHOST_PERMISSION"], true, &["SCOPE_OVER_PROVISIONED"]);
        assert_eq!(
            overriding.to_acknowledge(),
            vec![
                FindingCode::GhostPermission,
                FindingCode::ScopeOverProvisioned
            ]
        );
        assert_eq!(
            overriding.unmet(Approve, "", &[]),
            Some(Unmet::Reason(Approve))
        );
        assert_eq!(
            overriding.unmet(Approve, "checked", &acked(&["SCOPE_OVER_PROVISIONED"])),
            Some(Unmet::Acknowledge(vec![FindingCode::GhostPermission]))
        );
        assert_eq!(
            overriding.unmet(
                Approve,
                "checked",
                &acked(&["GHOST_PERMISSION", "SCOPE_OVER_PROVISIONED"])
            ),
            None
        );

        let clean = needs(&[], true, &[]);
        assert_eq!(
            clean.unmet(Approve, "", &[]),
            None,
            "a low tier needs no reason"
        );
    }
}
