//! Property tests: narrowing never invalidates a chain; one widening step is always caught,
//! with the right code, at the hop where it happens.

use chrono::Duration;
use countersign_scenarios::{Cast, ChainDraft};
use countersign_wire::{FindingCode, PartyKind, Purpose, Severity, Verdict};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::support::{Fixture, now, scope};

/// Per-hop narrowing choices; each hop applies them relative to its parent.
#[derive(Clone, Debug)]
struct Narrowing {
    drop_refund: bool,
    drop_payroll: bool,
    drop_ledger: bool,
    amount_cut: u32,
    payees_kept: usize,
    depth_slack_drop: i64,
    expiry_cut_minutes: i64,
}

fn narrowing() -> impl Strategy<Value = Narrowing> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        0u32..=20_000,
        1usize..=3,
        0i64..=2,
        0i64..=30,
    )
        .prop_map(
            |(
                drop_refund,
                drop_payroll,
                drop_ledger,
                amount_cut,
                payees_kept,
                depth_slack_drop,
                expiry_cut_minutes,
            )| Narrowing {
                drop_refund,
                drop_payroll,
                drop_ledger,
                amount_cut,
                payees_kept,
                depth_slack_drop,
                expiry_cut_minutes,
            },
        )
}

#[derive(Clone, Copy, Debug)]
enum WideningStep {
    AddAction,
    AddType,
    AddLocation,
    RaiseLimit,
    DropConstraint,
    WidenSet,
    ExtendExpiry,
    KeepDepth,
}

impl WideningStep {
    fn code(self) -> FindingCode {
        match self {
            WideningStep::AddAction | WideningStep::AddType | WideningStep::AddLocation => {
                FindingCode::GhostPermission
            }
            WideningStep::RaiseLimit | WideningStep::DropConstraint | WideningStep::WidenSet => {
                FindingCode::LimitIncreased
            }
            WideningStep::ExtendExpiry => FindingCode::ExpiryExtended,
            WideningStep::KeepDepth => FindingCode::DepthExceeded,
        }
    }
}

fn widening() -> impl Strategy<Value = WideningStep> {
    prop_oneof![
        Just(WideningStep::AddAction),
        Just(WideningStep::AddType),
        Just(WideningStep::AddLocation),
        Just(WideningStep::RaiseLimit),
        Just(WideningStep::DropConstraint),
        Just(WideningStep::WidenSet),
        Just(WideningStep::ExtendExpiry),
        Just(WideningStep::KeepDepth),
    ]
}

/// Builds a chain of `steps.len() + 1` hops from a broad root, narrowing at each step. The
/// fixture's action (pay/send/acct:ops, 250.00 EUR to x) stays inside every hop.
fn narrowed_chain(steps: &[Narrowing], root_slack: i64) -> Fixture {
    let mut fixture = Fixture::new();
    let hops = steps.len() + 1;
    let mut cast = Cast::new("property tests");
    let mut path = vec!["user:p".to_owned()];
    cast.add("user:p", PartyKind::Human, "P");
    for i in 0..hops {
        let agent = format!("agent:{i}");
        cast.add(&agent, PartyKind::Agent, &agent);
        path.push(agent);
    }
    let path_refs: Vec<&str> = path.iter().map(String::as_str).collect();

    let mut actions = vec!["send", "refund"];
    let mut locations = vec!["acct:ops", "acct:payroll"];
    let mut ledger = true;
    let mut max_cents: u64 = 1_000_000;
    let mut payees = vec!["x", "y", "z"];
    let mut scopes = Vec::new();
    let mut push_scope = |actions: &[&str],
                          locations: &[&str],
                          ledger: bool,
                          max_cents: u64,
                          payees: &[&str]| {
        let mut entries = vec![
            json!({"type": "pay", "actions": actions, "locations": locations,
            "constraints": {"max_amount": format!("{}.{:02}", max_cents / 100, max_cents % 100), "currency": "EUR", "payees": payees}}),
        ];
        if ledger {
            entries.push(json!({"type": "ledger.read", "actions": ["read"]}));
        }
        scopes.push(scope(Value::Array(entries)));
    };
    push_scope(&actions, &locations, ledger, max_cents, &payees);
    for step in steps {
        if step.drop_refund {
            actions.retain(|a| *a != "refund");
        }
        if step.drop_payroll {
            locations.retain(|l| *l != "acct:payroll");
        }
        ledger &= !step.drop_ledger;
        max_cents = max_cents
            .saturating_sub(u64::from(step.amount_cut))
            .max(25_000);
        payees.truncate(step.payees_kept.min(payees.len()));
        push_scope(&actions, &locations, ledger, max_cents, &payees);
    }

    let purpose = Purpose {
        id: "pay-invoice-1".into(),
        text: "Pay invoice 1".into(),
    };
    let mut chain = ChainDraft::linked(
        &cast,
        "txn-1",
        &purpose,
        &path_refs,
        scopes,
        now() - Duration::minutes(10),
        now() + Duration::hours(8),
    );
    let mut slack = root_slack;
    chain.hops[0].claims.max_depth = (hops as i64 - 1) + slack;
    let mut exp = chain.hops[0].claims.exp;
    for (i, step) in steps.iter().enumerate() {
        slack -= step.depth_slack_drop.min(slack);
        exp -= step.expiry_cut_minutes * 60;
        let hop = &mut chain.hops[i + 1].claims;
        hop.max_depth = (hops as i64 - 2 - i as i64) + slack;
        hop.exp = exp;
    }
    fixture.request.principal = "user:p".into();
    fixture.request.action.requested_by = path[hops].clone();
    fixture.cast = cast;
    fixture.chain = chain;
    fixture
}

fn widen(fixture: &mut Fixture, hop: usize, step: WideningStep) {
    let parent = fixture.chain.hops[hop - 1].claims.clone();
    let claims = &mut fixture.chain.hops[hop].claims;
    let pay = &mut claims.authorization_details[0];
    let constraints = pay.constraints.as_mut().unwrap();
    match step {
        WideningStep::AddAction => pay.actions.push("approve".into()),
        WideningStep::AddType => claims
            .authorization_details
            .extend(scope(json!([{"type": "admin", "actions": ["all"]}]))),
        WideningStep::AddLocation => pay.locations.as_mut().unwrap().push("acct:treasury".into()),
        WideningStep::RaiseLimit => {
            let parent_max = parent.authorization_details[0]
                .constraints
                .as_ref()
                .unwrap()["max_amount"]
                .as_str()
                .unwrap()
                .to_owned();
            constraints["max_amount"] = json!(format!("{parent_max}1")); // e.g. 500.00 → 500.001
        }
        WideningStep::DropConstraint => {
            constraints.remove("currency");
        }
        WideningStep::WidenSet => constraints["payees"]
            .as_array_mut()
            .unwrap()
            .push(json!("w")),
        WideningStep::ExtendExpiry => claims.exp = parent.exp + 1,
        WideningStep::KeepDepth => claims.max_depth = parent.max_depth,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

    #[test]
    fn a_chain_built_only_by_narrowing_is_always_valid(steps in prop::collection::vec(narrowing(), 0..7), root_slack in 0i64..3) {
        let fixture = narrowed_chain(&steps, root_slack);
        let report = fixture.verify();
        let errors: Vec<_> = report.findings.iter().filter(|f| f.severity == Severity::Error).collect();
        prop_assert!(errors.is_empty(), "narrowing produced errors: {errors:#?}");
        prop_assert_eq!(report.verdict, Verdict::Valid);
    }

    #[test]
    fn one_widening_step_is_caught_at_its_hop(
        steps in prop::collection::vec(narrowing(), 1..7),
        root_slack in 0i64..3,
        at in any::<prop::sample::Index>(),
        step in widening(),
    ) {
        let mut fixture = narrowed_chain(&steps, root_slack);
        let hop = 1 + at.index(steps.len());
        widen(&mut fixture, hop, step);
        let report = fixture.verify();
        prop_assert_eq!(report.verdict, Verdict::Invalid);
        let errors: Vec<_> = report.findings.iter().filter(|f| f.severity == Severity::Error).map(|f| (f.code.clone(), f.hop)).collect();
        prop_assert_eq!(errors, vec![(step.code(), Some(hop as u32))], "report: {:#?}", report);
    }
}
