//! The measures the review process is judged by: exception rate, correction rate, approval
//! latency, cycle time and audit completeness, overall and per day.

use std::collections::BTreeMap;

use countersign_wire::api::{DayMetrics, Metrics, RequestState, Spread};
use countersign_wire::{DecisionKind, Timestamp};

/// What the measures need to know about one request.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestFacts {
    /// When the gateway received it.
    pub received_at: Timestamp,
    /// Its state now.
    pub state: RequestState,
    /// Whether it was ever escalated (any reason).
    pub escalated: bool,
    /// The settling decision: when and which.
    pub decided: Option<(Timestamp, DecisionKind)>,
    /// Whether a supervisor approved it over blocking findings.
    pub overridden: bool,
    /// When the workflow reported executing it.
    pub receipt_at: Option<Timestamp>,
}

fn rate(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Nearest-rank percentiles of `samples` (seconds).
pub fn spread(mut samples: Vec<f64>) -> Spread {
    if samples.is_empty() {
        return Spread::default();
    }
    samples.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        let index = ((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[index]
    };
    Spread {
        count: samples.len() as u64,
        p50: rank(0.5),
        p90: rank(0.9),
        max: samples[samples.len() - 1],
    }
}

fn seconds(from: Timestamp, to: Timestamp) -> f64 {
    (to - from).num_milliseconds().max(0) as f64 / 1000.0
}

fn is_exception(fact: &RequestFacts) -> bool {
    fact.escalated || matches!(fact.state, RequestState::Refused | RequestState::Escalated)
}

fn is_correction(fact: &RequestFacts) -> bool {
    fact.overridden || matches!(fact.decided, Some((_, DecisionKind::Reject)))
}

/// The measures over `facts` (requests received in `[from, to)`) and the audit log's counts.
pub fn measure(
    facts: &[RequestFacts],
    events: u64,
    sealed: u64,
    from: Timestamp,
    to: Timestamp,
) -> Metrics {
    let received = facts.len() as u64;
    let exceptions = facts.iter().filter(|f| is_exception(f)).count() as u64;
    let decided = facts.iter().filter(|f| f.decided.is_some()).count() as u64;
    let rejected = facts
        .iter()
        .filter(|f| matches!(f.decided, Some((_, DecisionKind::Reject))))
        .count() as u64;
    let overridden = facts.iter().filter(|f| f.overridden).count() as u64;
    let corrected = facts.iter().filter(|f| is_correction(f)).count() as u64;
    let latency = |f: &RequestFacts| f.decided.map(|(at, _)| seconds(f.received_at, at));

    let mut days: BTreeMap<String, Vec<&RequestFacts>> = BTreeMap::new();
    for fact in facts {
        days.entry(fact.received_at.datetime().format("%Y-%m-%d").to_string())
            .or_default()
            .push(fact);
    }
    let days = days
        .into_iter()
        .map(|(day, of_day)| DayMetrics {
            day,
            received: of_day.len() as u64,
            exceptions: of_day.iter().filter(|f| is_exception(f)).count() as u64,
            decided: of_day.iter().filter(|f| f.decided.is_some()).count() as u64,
            corrected: of_day.iter().filter(|f| is_correction(f)).count() as u64,
            latency_p50: spread(of_day.iter().filter_map(|f| latency(f)).collect()).p50,
        })
        .collect();

    Metrics {
        from,
        to,
        received,
        exceptions,
        exception_rate: rate(exceptions, received),
        decided,
        rejected,
        overridden,
        correction_rate: rate(corrected, decided),
        approval_latency: spread(facts.iter().filter_map(latency).collect()),
        cycle_time: spread(
            facts
                .iter()
                .filter_map(|f| f.receipt_at.map(|at| seconds(f.received_at, at)))
                .collect(),
        ),
        events,
        sealed,
        audit_completeness: if events == 0 {
            1.0
        } else {
            rate(sealed.min(events), events)
        },
        days,
    }
}
