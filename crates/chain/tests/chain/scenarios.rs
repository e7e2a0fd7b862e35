//! The brief's seven scenarios verify with exactly the findings the brief names.

use countersign_chain::{TrustIndex, verify_value};
use countersign_scenarios::demo::demo;
use countersign_wire::FindingCode;

use crate::support::{assert_findings, now};

#[test]
fn each_demo_scenario_has_exactly_its_findings() {
    let demo = demo(now(), "test");
    let trust = TrustIndex::from_store(&demo.trust_store()).unwrap();
    assert_eq!(demo.scenarios.len(), 7);
    for scenario in &demo.scenarios {
        let report = verify_value(&scenario.request, &trust, now()).report;
        assert_findings(&report, &scenario.expected);
    }
}

#[test]
fn the_demo_names_the_brief_codes_for_each_scenario() {
    // Guards against a scenario quietly losing the finding it exists to show.
    let demo = demo(now(), "test");
    let codes: Vec<Vec<FindingCode>> = demo
        .scenarios
        .iter()
        .map(|s| s.expected.iter().map(|(c, _)| c.clone()).collect())
        .collect();
    use FindingCode::*;
    assert_eq!(
        codes,
        vec![
            vec![],
            vec![],
            vec![ScopeOverProvisioned],
            vec![UndelegatedActor],
            vec![GhostPermission, PurposeDrift],
            vec![LimitIncreased],
            vec![UnknownKey],
        ]
    );
    // The forged request is refused at intake; the others reach a queue.
    let refused: Vec<bool> = demo
        .scenarios
        .iter()
        .map(|s| s.expected.iter().any(|(c, _)| c.refuses_intake()))
        .collect();
    assert_eq!(refused, [false, false, false, false, false, false, true]);
}

#[test]
fn the_demo_is_reproducible_for_a_pinned_time_and_run() {
    let a = demo(now(), "r1");
    let b = demo(now(), "r1");
    let c = demo(now(), "r2");
    assert_eq!(a.scenarios[1].request, b.scenarios[1].request);
    assert_ne!(
        a.scenarios[1].request["chain"],
        c.scenarios[1].request["chain"]
    );
}
