//! Escalations: why a request is raised to supervisors, to whom, at what level, with what
//! note. Every raise the gateway or the store makes is built here.

use countersign_wire::api::{Escalation, EscalationReason};
use countersign_wire::{FindingCode, Timestamp};

use crate::TierPolicy;

/// The notify target that calls every supervisor.
pub const SUPERVISORS: &str = "role:supervisor";
/// Who raised an escalation the gateway raised on its own (blocked, overdue, quorum).
pub const RAISED_BY_GATEWAY: &str = "gateway";

/// An escalation to raise (or raise further).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Raise {
    /// Why.
    pub reason: EscalationReason,
    /// Overdue level (0 for other reasons).
    pub level: u32,
    /// Who is called: `role:supervisor` or identities.
    pub notify: Vec<String>,
    /// Note from the reviewer or workflow (untrusted text), or what the gateway saw.
    pub note: String,
    /// A reviewer, a workflow, or `gateway`.
    pub raised_by: String,
    /// When it was raised.
    pub at: Timestamp,
}

impl Raise {
    fn to_supervisors(
        reason: EscalationReason,
        note: String,
        raised_by: &str,
        at: Timestamp,
    ) -> Raise {
        Raise {
            reason,
            level: 0,
            notify: vec![SUPERVISORS.to_owned()],
            note,
            raised_by: raised_by.to_owned(),
            at,
        }
    }

    /// Findings block reviewers (`codes`, as the tier's policy counts them).
    pub fn blocked_by_findings(codes: &[FindingCode], at: Timestamp) -> Raise {
        let codes: Vec<&str> = codes.iter().map(FindingCode::as_str).collect();
        Raise::to_supervisors(
            EscalationReason::BlockedByFindings,
            codes.join(", "),
            RAISED_BY_GATEWAY,
            at,
        )
    }

    /// The workflow asked for a supervisor in its request.
    pub fn by_workflow(workflow: &str, note: &str, at: Timestamp) -> Raise {
        Raise::to_supervisors(EscalationReason::ByWorkflow, note.to_owned(), workflow, at)
    }

    /// A reviewer asked for a supervisor, with a note.
    pub fn by_reviewer(reviewer: &str, note: &str, at: Timestamp) -> Raise {
        Raise::to_supervisors(EscalationReason::ByReviewer, note.to_owned(), reviewer, at)
    }

    /// One approval of a quorum is in; another person must approve. Nobody in particular is
    /// called: any eligible reviewer may be the second.
    pub fn awaiting_second_approver(at: Timestamp) -> Raise {
        Raise {
            reason: EscalationReason::AwaitingSecondApprover,
            level: 0,
            notify: Vec::new(),
            note: String::new(),
            raised_by: RAISED_BY_GATEWAY.to_owned(),
            at,
        }
    }

    /// Overdue at `level` of `rules`' escalation ladder (0: past the deadline, before the
    /// first level): supervisors at 0, then whoever each level names.
    pub fn overdue(rules: &TierPolicy, level: u32, at: Timestamp) -> Raise {
        let notify = match level {
            0 => vec![SUPERVISORS.to_owned()],
            n => rules
                .escalation
                .get(n as usize - 1)
                .map(|l| l.to.clone())
                .unwrap_or_default(),
        };
        let within = rules
            .decide_within
            .map(|d| match d.num_seconds() {
                s if s % 3600 == 0 => format!("{}h", s / 3600),
                s if s % 60 == 0 => format!("{}m", s / 60),
                s => format!("{s}s"),
            })
            .unwrap_or_default();
        Raise {
            reason: EscalationReason::Overdue,
            level,
            notify,
            note: format!("no decision within {within}"),
            raised_by: RAISED_BY_GATEWAY.to_owned(),
            at,
        }
    }
}

/// An open escalation, as raised and stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaisedEscalation {
    /// Why.
    pub reason: EscalationReason,
    /// Overdue level.
    pub level: u32,
    /// Who is called.
    pub notify: Vec<String>,
    /// Note.
    pub note: String,
    /// Who raised it.
    pub raised_by: String,
    /// When it was raised.
    pub raised_at: Timestamp,
}

/// Folds a request's open escalations into what a supervisor sees: the most pressing reason
/// first, the oldest time raised, the highest overdue level, whom the overdue level calls
/// (or the first reason's), and every note.
pub fn summarize(mut raised: Vec<RaisedEscalation>) -> Option<Escalation> {
    raised.sort_by_key(|r| r.reason);
    let first = raised.first()?;
    let notes: Vec<&str> = raised
        .iter()
        .map(|r| r.note.as_str())
        .filter(|n| !n.is_empty())
        .collect();
    Some(Escalation {
        reason: first.reason,
        reasons: raised.iter().map(|r| r.reason).collect(),
        level: raised.iter().map(|r| r.level).max().unwrap_or(0),
        notify: raised
            .iter()
            .find(|r| r.reason == EscalationReason::Overdue)
            .unwrap_or(first)
            .notify
            .clone(),
        note: notes.join(" · "),
        raised_by: first.raised_by.clone(),
        since: raised
            .iter()
            .map(|r| r.raised_at)
            .min()
            .unwrap_or(first.raised_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Policy;
    use countersign_wire::Tier;

    #[test]
    fn overdue_levels_call_supervisors_then_whom_the_policy_names() {
        let rules = Policy::from_toml(
            "id = \"p\"\nversion = \"1\"\n[tiers.high]\ndecide_within = \"90m\"\nescalation = [{ after = \"30m\", to = [\"user:sol\"] }]\n",
        )
        .unwrap()
        .tier(Tier::High);
        let at: Timestamp = "2026-12-01T10:00:00.000Z".parse().unwrap();
        let first = Raise::overdue(&rules, 0, at);
        assert_eq!(first.notify, vec![SUPERVISORS.to_owned()]);
        assert_eq!(first.note, "no decision within 90m");
        assert_eq!(first.raised_by, RAISED_BY_GATEWAY);
        assert_eq!(
            Raise::overdue(&rules, 1, at).notify,
            vec!["user:sol".to_owned()]
        );
        // A level beyond the ladder calls nobody rather than panicking.
        assert!(Raise::overdue(&rules, 5, at).notify.is_empty());
    }
}
