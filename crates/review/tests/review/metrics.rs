//! The review measures on hand-made facts.

use chrono::{Duration, TimeZone, Utc};
use countersign_review::metrics::{RequestFacts, measure, spread};
use countersign_wire::api::RequestState;
use countersign_wire::{DecisionKind, Timestamp};

#[test]
fn percentiles_use_the_nearest_rank_and_an_empty_sample_is_zero() {
    let s = spread(vec![5.0, 1.0, 3.0, 2.0, 4.0, 10.0, 6.0, 7.0, 8.0, 9.0]);
    assert_eq!((s.count, s.p50, s.p90, s.max), (10, 5.0, 9.0, 10.0));
    assert_eq!(spread(Vec::new()).count, 0);
}

#[test]
fn rates_latency_cycle_time_and_days_from_facts() {
    let day1 = Timestamp::from(Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap());
    let day2 = day1 + Duration::days(1);
    let fact = |at,
                state,
                escalated,
                decided: Option<(i64, DecisionKind)>,
                overridden,
                receipt: Option<i64>| RequestFacts {
        received_at: at,
        state,
        escalated,
        decided: decided.map(|(s, k)| (at + Duration::seconds(s), k)),
        overridden,
        receipt_at: receipt.map(|s| at + Duration::seconds(s)),
    };
    use DecisionKind::*;
    let facts = vec![
        fact(
            day1,
            RequestState::Approved,
            false,
            Some((60, Approve)),
            false,
            Some(90),
        ),
        fact(
            day1,
            RequestState::Rejected,
            false,
            Some((120, Reject)),
            false,
            None,
        ),
        fact(
            day2,
            RequestState::Approved,
            true,
            Some((600, Approve)),
            true,
            Some(700),
        ),
        fact(day2, RequestState::Refused, false, None, false, None),
        fact(day2, RequestState::Pending, true, None, false, None),
    ];
    let m = measure(&facts, 20, 19, day1, day2 + Duration::days(1));
    assert_eq!((m.received, m.exceptions), (5, 3));
    assert!((m.exception_rate - 0.6).abs() < 1e-9);
    assert_eq!((m.decided, m.rejected, m.overridden), (3, 1, 1));
    assert!((m.correction_rate - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(
        (
            m.approval_latency.count,
            m.approval_latency.p50,
            m.approval_latency.max
        ),
        (3, 120.0, 600.0)
    );
    assert_eq!((m.cycle_time.count, m.cycle_time.p50), (2, 90.0));
    assert!((m.audit_completeness - 0.95).abs() < 1e-9);
    let days: Vec<(&str, u64, u64, u64, f64)> = m
        .days
        .iter()
        .map(|d| {
            (
                d.day.as_str(),
                d.received,
                d.exceptions,
                d.corrected,
                d.latency_p50,
            )
        })
        .collect();
    assert_eq!(
        days,
        [
            ("2026-11-20", 2, 0, 1, 60.0),
            ("2026-11-21", 3, 3, 1, 600.0)
        ]
    );
    // Nothing received: rates are 0, completeness of an empty log is 1.
    let empty = measure(&[], 0, 0, day1, day2);
    assert_eq!((empty.exception_rate, empty.audit_completeness), (0.0, 1.0));
}
