//! Where a verified request goes at intake, and what is stored and raised with it.

use countersign_wire::api::{EventKind, RequestState};
use countersign_wire::{EscalationAsk, Finding, FindingCode, Timestamp, VerificationReport};

use crate::TierPolicy;
use crate::escalation::Raise;

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

/// What intake stores for a new request, once replays are known.
#[derive(Clone, Debug)]
pub struct Admission {
    /// The state to store.
    pub state: RequestState,
    /// The final report (with `REPLAYED_JTI` findings).
    pub report: VerificationReport,
    /// The event to append.
    pub event: EventKind,
    /// Escalations to raise with it (blocked by findings, asked for by the workflow).
    pub escalations: Vec<Raise>,
}

impl Admission {
    /// The arrival event's audit detail: the reasons it went to supervisors, sealed with it.
    pub fn event_detail(&self) -> Option<String> {
        (!self.escalations.is_empty()).then(|| {
            serde_json::json!({
                "escalations": self
                    .escalations
                    .iter()
                    .map(|r| serde_json::json!({"reason": r.reason.as_str(), "note": r.note}))
                    .collect::<Vec<_>>(),
            })
            .to_string()
        })
    }
}

/// The request being admitted, as far as admission looks at it.
#[derive(Clone, Copy, Debug)]
pub struct Arrival<'a> {
    /// The submitting workflow.
    pub workflow: &'a str,
    /// The workflow's own request for a supervisor, if it made one.
    pub ask: Option<&'a EscalationAsk>,
    /// When it arrived.
    pub at: Timestamp,
}

/// Admits a verified request: adds the replays found, routes it, and says which state,
/// event and escalations to store. A refused request raises nothing.
pub fn admit(
    mut report: VerificationReport,
    replays: &[Replay],
    rules: &TierPolicy,
    arrival: Arrival<'_>,
) -> Admission {
    add_replay_findings(&mut report, replays);
    let routing = route(&report, rules);
    let (state, event) = match routing {
        Routing::Refused => (RequestState::Refused, EventKind::RequestRefused),
        Routing::Escalated => (RequestState::Escalated, EventKind::RequestEscalated),
        Routing::Pending => (RequestState::Pending, EventKind::RequestAdded),
    };
    let mut escalations = Vec::new();
    if routing == Routing::Escalated {
        let codes = rules.blocking_codes(&report.findings);
        escalations.push(Raise::blocked_by_findings(&codes, arrival.at));
    }
    if let (Some(ask), true) = (arrival.ask, routing != Routing::Refused) {
        escalations.push(Raise::by_workflow(arrival.workflow, &ask.note, arrival.at));
    }
    Admission {
        state,
        report,
        event,
        escalations,
    }
}
