//! The review policy: parsing with clear errors, deadlines and escalation levels on a pinned
//! clock, and the quorum rule.

use chrono::{Duration, TimeZone, Utc};
use countersign_review::policy::{Deadline, Quorum, QuorumRefusal, count_approval, parse_duration};
use countersign_review::{Policy, Role, TierPolicy};
use countersign_wire::{Finding, FindingCode, Tier, Timestamp};

fn example() -> Policy {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/policy.toml"
    ))
    .unwrap();
    Policy::from_toml(&text).unwrap()
}

fn t(minutes: i64) -> Timestamp {
    Timestamp::from(Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap())
        + Duration::minutes(minutes)
}

#[test]
fn the_example_policy_reads_and_unlisted_tiers_keep_the_defaults() {
    let policy = example();
    assert_eq!(
        (policy.id.as_str(), policy.version.as_str()),
        ("example-approvals", "1")
    );
    assert_eq!(policy.tier(Tier::Low), TierPolicy::default());
    let critical = policy.tier(Tier::Critical);
    assert_eq!(critical.approvals, 2);
    assert_eq!(critical.decide_within, Some(Duration::minutes(15)));
    assert_eq!(critical.blocking, [FindingCode::ScopeOverProvisioned]);
    assert_eq!(critical.escalation.len(), 2);
    assert!(critical.may_decide(&[Role::Reviewer]));
    assert!(!critical.may_decide(&[Role::Auditor]));
}

#[test]
fn a_deadline_escalates_through_two_levels() {
    let high = example().tier(Tier::High); // 1 h to decide; supervisors at once, Sol 30 min later
    let received = t(0);
    assert_eq!(
        high.deadline(received, t(59)),
        Deadline::OnTime(Some(t(60)))
    );
    let overdue = |level, since, next| Deadline::Overdue { level, since, next };
    assert_eq!(
        high.deadline(received, t(60)),
        overdue(1, t(60), Some(t(90)))
    );
    assert_eq!(
        high.deadline(received, t(89)),
        overdue(1, t(60), Some(t(90)))
    );
    assert_eq!(high.deadline(received, t(90)), overdue(2, t(90), None));
    assert_eq!(high.escalation[1].to, ["user:sol.supervisor"]);
    // No deadline configured: never overdue.
    assert_eq!(
        example().tier(Tier::Low).deadline(received, t(100_000)),
        Deadline::OnTime(None)
    );
}

#[test]
fn a_quorum_needs_distinct_people_outside_the_chain() {
    let chain = ["agent:bookkeeper".to_owned(), "agent:banking".to_owned()];
    let principal = "user:jonas";
    assert_eq!(
        count_approval(&[], "user:rita", principal, &chain, 2),
        Ok(Quorum::Waiting { have: 1, need: 2 })
    );
    // The same reviewer twice does not make two.
    assert_eq!(
        count_approval(&["user:rita".into()], "user:rita", principal, &chain, 2),
        Err(QuorumRefusal::SamePersonTwice("user:rita".into()))
    );
    // The principal cannot countersign their own delegation, nor can anyone in the chain.
    assert_eq!(
        count_approval(&["user:rita".into()], principal, principal, &chain, 2),
        Err(QuorumRefusal::Principal(principal.into()))
    );
    assert_eq!(
        count_approval(&[], "agent:banking", principal, &chain, 2),
        Err(QuorumRefusal::InChain("agent:banking".into()))
    );
    assert_eq!(
        count_approval(&["user:rita".into()], "user:sol", principal, &chain, 2),
        Ok(Quorum::Met)
    );
    assert_eq!(
        count_approval(&[], "user:rita", principal, &chain, 1),
        Ok(Quorum::Met)
    );
}

#[test]
fn blocking_codes_are_picked_out_of_a_report() {
    let findings = [
        Finding::new(FindingCode::ScopeOverProvisioned, Some(2), "x"),
        Finding::new(FindingCode::GhostPermission, Some(1), "y"),
        Finding::new(FindingCode::GhostPermission, Some(2), "z"),
    ];
    // Errors always block, once each; the high tier's policy adds the over-provisioned scope.
    assert_eq!(
        example().tier(Tier::High).blocking_codes(&findings),
        [
            FindingCode::GhostPermission,
            FindingCode::ScopeOverProvisioned
        ]
    );
    assert_eq!(
        example().tier(Tier::Low).blocking_codes(&findings),
        [FindingCode::GhostPermission]
    );
}

#[test]
fn durations_read_as_people_write_them() {
    assert_eq!(parse_duration("30s"), Some(Duration::seconds(30)));
    assert_eq!(parse_duration("90m"), Some(Duration::minutes(90)));
    assert_eq!(parse_duration("1h30m"), Some(Duration::minutes(90)));
    assert_eq!(parse_duration("2d"), Some(Duration::days(2)));
    assert_eq!(parse_duration("0m"), Some(Duration::zero()));
    for bad in ["", "15", "m", "1w", "1.5h", "-3h", "99999999999999999999d"] {
        assert_eq!(parse_duration(bad), None, "{bad:?}");
    }
}

fn refused(text: &str) -> String {
    let error = Policy::from_toml(text).expect_err(text);
    error.to_string()
}

#[test]
fn mistakes_are_refused_with_where_and_why() {
    let head = "id = \"p\"\nversion = \"1\"\n";
    let cases = [
        (
            "[tiers.high]\napprovals = 0\n",
            "tiers.high.approvals: must be between 1 and 5",
        ),
        (
            "[tiers.high]\napprovals = 6\n",
            "tiers.high.approvals: must be between 1 and 5",
        ),
        (
            "[tiers.high]\ndeciders = [\"auditor\"]\n",
            "auditors read and export",
        ),
        (
            "[tiers.high]\ndeciders = []\n",
            "nobody could decide this tier",
        ),
        (
            "[tiers.high]\ndeciders = [\"boss\"]\n",
            "unknown role \"boss\"",
        ),
        (
            "[tiers.high]\nblocking = [\"GHOST\"]\n",
            "unknown finding code \"GHOST\"",
        ),
        (
            "[tiers.high]\ndecide_within = \"soon\"\n",
            "tiers.high.decide_within",
        ),
        ("[tiers.urgent]\n", "tiers.urgent: unknown tier"),
        (
            "[tiers.high]\nescalation = [{ after = \"0m\", to = [\"role:supervisor\"] }]\n",
            "set decide_within",
        ),
        (
            "[tiers.high]\ndecide_within = \"1h\"\nescalation = [{ after = \"30m\", to = [\"role:supervisor\"] }, { after = \"30m\", to = [\"user:sol\"] }]\n",
            "escalation[1].after: each level must come later",
        ),
        (
            "[tiers.high]\ndecide_within = \"1h\"\nescalation = [{ after = \"0m\", to = [\"role:auditor\"] }]\n",
            "escalation[0].to",
        ),
        (
            "[tiers.high]\ndecide_within = \"1h\"\nescalation = [{ after = \"0m\", to = [] }]\n",
            "name whom to call",
        ),
    ];
    for (body, expected) in cases {
        let message = refused(&format!("{head}{body}"));
        assert!(message.contains(expected), "{body:?} → {message}");
    }
    // Unknown fields are typos, reported with their line.
    let message = refused(&format!("{head}[tiers.high]\naprovals = 2\n"));
    assert!(message.starts_with("line 4, column 1"), "{message}");
    assert!(message.contains("aprovals"), "{message}");
    let message = refused("version = \"1\"\n");
    assert!(message.contains("missing field `id`"), "{message}");
    assert!(refused("id = \"\"\nversion = \"1\"\n").contains("needs an id and a version"));
}
