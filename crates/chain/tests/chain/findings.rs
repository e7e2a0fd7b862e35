//! One test per finding code: the valid fixture bent in exactly one way. Each asserts the
//! exact set of findings, so removing a check (or over-reporting) fails the test.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use countersign_chain::digest::sha256_digest;
use countersign_scenarios::Prev;
use countersign_wire::{DECISION_TYP, FindingCode::*, Purpose, Severity, Verdict};
use serde_json::{Value, json};

use crate::support::{Fixture, assert_findings, now, scope};

#[test]
fn the_fixture_is_valid_with_no_findings() {
    let fixture = Fixture::new();
    let report = fixture.verify();
    assert_findings(&report, &[]);
    assert_eq!(report.verdict, Verdict::Valid);
    assert!(
        report
            .request_digest
            .as_deref()
            .unwrap()
            .starts_with("sha256:")
    );
}

fn replace_hop(value: &mut Value, index: usize, token: String) {
    value["chain"][index] = Value::String(token);
}

#[test]
fn malformed_hop_is_reported_at_its_index() {
    let fixture = Fixture::new();
    let mut value = fixture.json();
    replace_hop(&mut value, 2, "this-is-not-a-jws".into());
    let report = fixture.verify_json_at(&value, now());
    assert_findings(&report, &[(Malformed, Some(2))]);
    assert!(
        report.findings[0]
            .detail
            .contains("expected 3 dot-separated parts")
    );
}

#[test]
fn alg_other_than_eddsa_is_not_allowed() {
    let fixture = Fixture::new();
    let mut value = fixture.json();
    let original = value["chain"][2].as_str().unwrap().to_owned();
    let payload = original.split('.').nth(1).unwrap();
    for alg in ["HS256", "none", "ES256"] {
        let header =
            URL_SAFE_NO_PAD.encode(json!({"alg": alg, "typ": "delegation-hop+jwt"}).to_string());
        let signature = if alg == "none" {
            String::new()
        } else {
            URL_SAFE_NO_PAD.encode([7u8; 32])
        };
        replace_hop(&mut value, 2, format!("{header}.{payload}.{signature}"));
        assert_findings(
            &fixture.verify_json_at(&value, now()),
            &[(AlgNotAllowed, Some(2))],
        );
    }
}

#[test]
fn wrong_typ_is_type_confusion() {
    let mut fixture = Fixture::new();
    fixture.chain.hops[1].typ = DECISION_TYP.into();
    assert_findings(&fixture.verify(), &[(TypeConfusion, Some(1))]);
}

#[test]
fn a_key_nobody_registered_is_unknown() {
    let mut fixture = Fixture::new();
    fixture.chain.hops[1].signer = "forger".into();
    let report = fixture.verify();
    assert_findings(&report, &[(UnknownKey, Some(1))]);
    assert!(report.findings[0].detail.contains("no party registered it"));
}

#[test]
fn a_key_registered_to_someone_else_is_unknown_for_the_claimed_issuer() {
    let mut fixture = Fixture::new();
    fixture.chain.hops[1].signer = "agent:c".into();
    let report = fixture.verify();
    assert_findings(&report, &[(UnknownKey, Some(1))]);
    assert!(report.findings[0].detail.contains("belongs to agent:c"));
}

#[test]
fn an_issuer_missing_from_the_trust_store_is_unknown() {
    let mut fixture = Fixture::new();
    fixture.cast.add_unregistered("user:ghost", "Ghost");
    // Hop 0 issued and signed by a party the trust store does not list.
    fixture.request.principal = "user:ghost".into();
    for hop in &mut fixture.chain.hops {
        hop.claims.principal = "user:ghost".into();
    }
    fixture.chain.hops[0].claims.iss = "user:ghost".into();
    fixture.chain.hops[0].signer = "user:ghost".into();
    assert_findings(&fixture.verify(), &[(UnknownKey, Some(0))]);
}

#[test]
fn a_tampered_payload_fails_the_signature() {
    let fixture = Fixture::new();
    let mut value = fixture.json();
    let token = value["chain"][2].as_str().unwrap().to_owned();
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["jti"] = json!("swapped-jti");
    let forged_payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    replace_hop(
        &mut value,
        2,
        format!("{}.{forged_payload}.{}", parts[0], parts[2]),
    );
    assert_findings(
        &fixture.verify_json_at(&value, now()),
        &[(SignatureInvalid, Some(2))],
    );
}

#[test]
fn a_hop_signed_by_a_key_other_than_the_bound_one_is_a_binding_mismatch() {
    let mut fixture = Fixture::new();
    // Hop 1 binds the delegation to agent:c's key instead of agent:b's; agent:b signs hop 2.
    fixture.chain.hops[1].claims.cnf.jkt = fixture.cast.jkt("agent:c");
    assert_findings(&fixture.verify(), &[(KeyBindingMismatch, Some(2))]);
}

#[test]
fn a_prev_that_does_not_commit_to_the_parent_is_a_broken_link() {
    let mut fixture = Fixture::new();
    fixture.chain.hops[2].prev = Prev::Set(Some(sha256_digest(b"another hop")));
    assert_findings(&fixture.verify(), &[(BrokenLink, Some(2))]);
    fixture.chain.hops[2].prev = Prev::Set(None);
    assert_findings(&fixture.verify(), &[(BrokenLink, Some(2))]);
}

#[test]
fn hop_index_transaction_and_root_prev_are_links() {
    let mut fixture = Fixture::new();
    fixture.chain.hops[1].claims.hop = 5;
    assert_findings(&fixture.verify(), &[(BrokenLink, Some(1))]);

    let mut fixture = Fixture::new();
    fixture.chain.hops[1].claims.txn = "txn-other".into();
    assert_findings(&fixture.verify(), &[(BrokenLink, Some(1))]);

    let mut fixture = Fixture::new();
    fixture.chain.hops[0].prev = Prev::Set(Some(sha256_digest(b"x")));
    assert_findings(&fixture.verify(), &[(BrokenLink, Some(0))]);
}

#[test]
fn an_issuer_who_was_not_the_delegatee_breaks_the_chain() {
    let mut fixture = Fixture::new();
    // agent:b's hop claims to be issued by agent:a, though hop 1 delegated to agent:b. It is
    // signed with agent:a's registered key, so the signature itself is fine.
    fixture.chain.hops[2].claims.iss = "agent:a".into();
    fixture.chain.hops[2].signer = "agent:a".into();
    assert_findings(
        &fixture.verify(),
        &[(BrokenLink, Some(2)), (KeyBindingMismatch, Some(2))],
    );
}

#[test]
fn hop_zero_must_come_from_the_principal_or_a_grant_issuing_service() {
    let mut fixture = Fixture::new();
    fixture.chain.hops[0].claims.iss = "agent:b".into();
    fixture.chain.hops[0].signer = "agent:b".into();
    assert_findings(&fixture.verify(), &[(BrokenLink, Some(0))]);

    let mut fixture = Fixture::new();
    fixture.chain.hops[0].claims.iss = "service:grants".into();
    fixture.chain.hops[0].signer = "service:grants".into();
    assert_findings(&fixture.verify(), &[]);
}

#[test]
fn reordering_or_dropping_hops_is_detected() {
    let fixture = Fixture::new();
    let mut value = fixture.json();
    let chain = value["chain"].as_array_mut().unwrap();
    chain.swap(1, 2);
    let report = fixture.verify_json_at(&value, now());
    assert!(
        report.has(&BrokenLink) && report.verdict == Verdict::Invalid,
        "{report:#?}"
    );

    let mut value = fixture.json();
    value["chain"].as_array_mut().unwrap().remove(1);
    let report = fixture.verify_json_at(&value, now());
    assert!(
        report.has(&BrokenLink) && report.has(&KeyBindingMismatch),
        "{report:#?}"
    );
}

#[test]
fn a_different_principal_on_a_hop_is_reported() {
    let mut fixture = Fixture::new();
    fixture.chain.hops[1].claims.principal = "user:mallory".into();
    assert_findings(&fixture.verify(), &[(PrincipalChanged, Some(1))]);
}

#[test]
fn an_action_the_parent_never_had_is_a_ghost_permission() {
    let mut fixture = Fixture::new();
    fixture.chain.hops[1].claims.authorization_details[0]
        .actions
        .push("approve".into());
    assert_findings(&fixture.verify(), &[(GhostPermission, Some(1))]);
}

#[test]
fn a_type_or_location_the_parent_never_had_is_a_ghost_permission() {
    let mut fixture = Fixture::new();
    fixture.chain.hops[1]
        .claims
        .authorization_details
        .extend(scope(
            json!([{"type": "data.export", "actions": ["upload"]}]),
        ));
    let report = fixture.verify();
    assert_findings(&report, &[(GhostPermission, Some(1))]);
    assert!(report.findings[0].detail.contains("data.export"));

    let mut fixture = Fixture::new();
    fixture.chain.hops[2].claims.authorization_details[0].locations =
        Some(vec!["acct:ops".into(), "acct:treasury".into()]);
    assert_findings(&fixture.verify(), &[(GhostPermission, Some(2))]);
}

#[test]
fn raising_or_dropping_a_limit_is_limit_increased() {
    let mut fixture = Fixture::new();
    fixture.chain.hops[1].claims.authorization_details[0]
        .constraints
        .as_mut()
        .unwrap()["max_amount"] = json!("1000.01");
    let report = fixture.verify();
    assert_findings(&report, &[(LimitIncreased, Some(1))]);
    assert!(report.findings[0].detail.contains("max_amount"));

    let mut fixture = Fixture::new();
    fixture.chain.hops[2].claims.authorization_details[0]
        .constraints
        .as_mut()
        .unwrap()
        .remove("currency");
    assert_findings(&fixture.verify(), &[(LimitIncreased, Some(2))]);

    let mut fixture = Fixture::new();
    fixture.chain.hops[2].claims.authorization_details[0]
        .constraints
        .as_mut()
        .unwrap()["payees"] = json!(["x", "z"]);
    // z was allowed at hop 0 but hop 1 narrowed it away: widening relative to the parent.
    assert_findings(&fixture.verify(), &[(LimitIncreased, Some(2))]);
}

#[test]
fn a_child_outliving_its_parent_extends_expiry() {
    let mut fixture = Fixture::new();
    fixture.chain.hops[1].claims.exp = fixture.chain.hops[0].claims.exp + 60;
    assert_findings(&fixture.verify(), &[(ExpiryExtended, Some(1))]);
}

#[test]
fn an_expired_hop_is_reported_at_verification_time() {
    let fixture = Fixture::new();
    let leaf_exp = fixture.chain.hops[2].claims.exp;
    let at = chrono::DateTime::from_timestamp(leaf_exp, 0).unwrap();
    assert_findings(
        &fixture.verify_json_at(&fixture.json(), at),
        &[(Expired, Some(2))],
    );
    let just_before = at - Duration::seconds(1);
    assert_findings(&fixture.verify_json_at(&fixture.json(), just_before), &[]);
}

#[test]
fn a_hop_before_its_nbf_is_not_yet_valid() {
    let mut fixture = Fixture::new();
    fixture.chain.hops[1].claims.nbf = Some((now() + Duration::hours(1)).timestamp());
    assert_findings(&fixture.verify(), &[(NotYetValid, Some(1))]);
}

#[test]
fn delegating_beyond_the_allowed_depth_is_reported() {
    let mut fixture = Fixture::new();
    fixture.chain.hops[1].claims.max_depth = fixture.chain.hops[0].claims.max_depth;
    assert_findings(&fixture.verify(), &[(DepthExceeded, Some(1))]);

    let mut fixture = Fixture::new();
    fixture.chain.hops[1].claims.max_depth = 0;
    fixture.chain.hops[2].claims.max_depth = 0;
    let report = fixture.verify();
    assert_findings(&report, &[(DepthExceeded, Some(2))]);
    assert!(
        report.findings[0]
            .detail
            .contains("allows no further delegation")
    );

    let mut fixture = Fixture::new();
    fixture.chain.hops[2].claims.max_depth = -1;
    assert_findings(&fixture.verify(), &[(DepthExceeded, Some(2))]);
}

#[test]
fn a_hop_without_purpose_is_reported() {
    let mut fixture = Fixture::new();
    fixture.chain.hops[1].claims.purpose = None;
    assert_findings(&fixture.verify(), &[(PurposeMissing, Some(1))]);
    let mut fixture = Fixture::new();
    fixture.chain.hops[2].claims.purpose = Some(Purpose {
        id: "pay-invoice-1".into(),
        text: "  ".into(),
    });
    assert_findings(&fixture.verify(), &[(PurposeMissing, Some(2))]);
}

#[test]
fn a_new_purpose_is_drift_and_so_is_returning_from_it() {
    let mut fixture = Fixture::new();
    fixture.chain.hops[2].claims.purpose = Some(Purpose {
        id: "marketing".into(),
        text: "Something else".into(),
    });
    assert_findings(&fixture.verify(), &[(PurposeDrift, Some(2))]);

    let mut fixture = Fixture::new();
    fixture.chain.hops[1].claims.purpose = Some(Purpose {
        id: "marketing".into(),
        text: "Something else".into(),
    });
    assert_findings(
        &fixture.verify(),
        &[(PurposeDrift, Some(1)), (PurposeDrift, Some(2))],
    );
}

#[test]
fn an_actor_the_chain_never_delegated_to_is_reported() {
    let mut fixture = Fixture::new();
    fixture.request.action.requested_by = "agent:b".into();
    let report = fixture.verify();
    assert_findings(&report, &[(UndelegatedActor, None)]);
    assert!(report.findings[0].detail.contains("agent:b"));
}

#[test]
fn an_action_outside_the_leaf_scope_is_reported() {
    type Bend = Box<dyn Fn(&mut Fixture)>;
    let cases: Vec<Bend> = vec![
        Box::new(|f| f.request.action.arguments["amount"] = json!("400.01")),
        Box::new(|f| f.request.action.operation = "refund".into()),
        Box::new(|f| f.request.action.resource = "acct:payroll".into()),
        Box::new(|f| f.request.action.arguments["payees"] = json!("y")),
        Box::new(|f| {
            f.request.action.arguments.remove("currency");
        }),
    ];
    for bend in cases {
        let mut fixture = Fixture::new();
        bend(&mut fixture);
        assert_findings(&fixture.verify(), &[(ActionOutsideLeafScope, Some(2))]);
    }
}

#[test]
fn arguments_that_do_not_match_their_digest_are_reported() {
    let mut fixture = Fixture::new();
    fixture.request.action.arguments_digest = sha256_digest(b"{}");
    assert_findings(&fixture.verify(), &[(ArgumentsDigestMismatch, None)]);
}

#[test]
fn evidence_that_does_not_match_its_digest_or_commitment_is_reported() {
    let mut fixture = Fixture::new();
    fixture.request.evidence[0].content = Some("invoice 1: 2500.00 EUR to x".into());
    assert_findings(&fixture.verify(), &[(EvidenceDigestMismatch, None)]);

    let mut fixture = Fixture::new();
    fixture.chain.hops[1].claims.evidence[0].digest = sha256_digest(b"something else");
    assert_findings(&fixture.verify(), &[(EvidenceDigestMismatch, Some(1))]);

    let mut fixture = Fixture::new();
    fixture.chain.hops[1].claims.evidence[0].id = "ev-missing".into();
    assert_findings(&fixture.verify(), &[(EvidenceDigestMismatch, Some(1))]);
}

#[test]
fn a_leaf_granting_more_than_the_action_needs_is_a_warning() {
    let mut fixture = Fixture::new();
    fixture.chain.hops[2].claims.authorization_details[0]
        .actions
        .push("refund".into());
    let report = fixture.verify();
    assert_findings(&report, &[(ScopeOverProvisioned, Some(2))]);
    assert_eq!(report.findings[0].severity, Severity::Warning);
    assert_eq!(report.verdict, Verdict::Valid);
}

#[test]
fn every_contract_code_but_the_gateway_only_replay_has_a_test_here() {
    // REPLAYED_JTI needs memory across requests, so the gateway owns (and tests) it.
    let source = include_str!("findings.rs");
    for code in countersign_wire::FindingCode::KNOWN {
        if code == ReplayedJti {
            continue;
        }
        let variant = format!("{code:?}");
        assert!(
            source.matches(&format!("({variant},")).count() >= 1,
            "no test asserts {variant}"
        );
    }
}
