//! Where a verified request goes at intake.

use countersign_wire::{Finding, FindingCode, VerificationReport};

use crate::TierPolicy;

/// The three destinations of a request at intake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routing {
    /// Forged or malformed: refused with 422, the refusal recorded.
    Refused,
    /// Invalid but attributable (attenuation, purpose, actor, replay, time…): blocked for
    /// reviewers, visible to supervisors.
    Escalated,
    /// Valid: the reviewer queue of its tier.
    Pending,
}

/// Routes by the report: refusal codes win, then any error, or any finding the tier's policy
/// says blocks reviewers, escalates.
pub fn route(report: &VerificationReport, policy: &TierPolicy) -> Routing {
    if report.findings.iter().any(|f| f.code.refuses_intake()) {
        Routing::Refused
    } else if !policy.blocking_codes(&report.findings).is_empty() {
        Routing::Escalated
    } else {
        Routing::Pending
    }
}

/// A hop `jti` already used by another request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replay {
    /// Hop index in this request.
    pub hop: u32,
    /// The reused jti.
    pub jti: String,
    /// The request that used it first.
    pub first_seen_in: String,
}

/// Adds `REPLAYED_JTI` findings (the gateway's own check) and recomputes the verdict.
pub fn add_replay_findings(report: &mut VerificationReport, replays: &[Replay]) {
    for replay in replays {
        report.findings.push(Finding::new(
            FindingCode::ReplayedJti,
            Some(replay.hop),
            format!(
                "hop {} jti {:?} was already presented in request {}",
                replay.hop, replay.jti, replay.first_seen_in
            ),
        ));
    }
    report.settle();
}
