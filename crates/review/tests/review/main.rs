//! The review rules with a pinned clock, without a gateway.

mod export;
mod metrics;
mod policy;
mod receiver_url;
mod tidy;

use std::collections::BTreeSet;

use chrono::{Duration, TimeZone, Utc};
use countersign_chain::SigningKeyPair;
use countersign_review::console_token::{TokenRejection, check_console_token};
use countersign_review::{
    DecisionTarget, Policy, Replay, Reviewer, Role, Routing, TierPolicy, add_replay_findings,
    check_decision, mint_console_token, route,
};
use countersign_wire::api::ErrorCode;
use countersign_wire::{
    DECISION_TYP, DecisionClaims, DecisionKind, DecisionSubject, Finding, FindingCode, PolicyRef,
    Tier, Verdict, VerificationReport,
};

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap()
}

fn report(codes: &[FindingCode]) -> VerificationReport {
    let mut report = VerificationReport {
        verdict: Verdict::Valid,
        findings: codes
            .iter()
            .map(|c| Finding::new(c.clone(), Some(1), "x"))
            .collect(),
        request_digest: Some("sha256:r".into()),
        chain_digest: Some("sha256:c".into()),
        action_digest: Some("sha256:a".into()),
    };
    report.settle();
    report
}

#[test]
fn routing_refuses_forgeries_escalates_other_errors_and_queues_the_rest() {
    use FindingCode::*;
    let rules = TierPolicy::default();
    let route = |report: &VerificationReport| route(report, &rules);
    for code in [
        Malformed,
        AlgNotAllowed,
        TypeConfusion,
        UnknownKey,
        SignatureInvalid,
    ] {
        assert_eq!(
            route(&report(&[GhostPermission, code.clone()])),
            Routing::Refused,
            "{code}"
        );
    }
    for code in [
        GhostPermission,
        LimitIncreased,
        PurposeDrift,
        UndelegatedActor,
        BrokenLink,
        Expired,
        ReplayedJti,
    ] {
        assert_eq!(
            route(&report(std::slice::from_ref(&code))),
            Routing::Escalated,
            "{code}"
        );
    }
    assert_eq!(route(&report(&[ScopeOverProvisioned])), Routing::Pending);
    assert_eq!(route(&report(&[])), Routing::Pending);
    // A warning the policy names as blocking escalates instead.
    let strict = TierPolicy {
        blocking: vec![ScopeOverProvisioned],
        ..TierPolicy::default()
    };
    assert_eq!(
        countersign_review::route(&report(&[ScopeOverProvisioned]), &strict),
        Routing::Escalated
    );
}

#[test]
fn replay_findings_make_a_valid_report_invalid() {
    let mut r = report(&[FindingCode::ScopeOverProvisioned]);
    add_replay_findings(
        &mut r,
        &[Replay {
            hop: 0,
            jti: "j".into(),
            first_seen_in: "req-0".into(),
        }],
    );
    assert_eq!(r.verdict, Verdict::Invalid);
    assert_eq!(
        r.findings[0].code,
        FindingCode::ReplayedJti,
        "request order: hop 0 before hop 1"
    );
}

fn reviewer(identity: &str, roles: &[Role], tiers: &[Tier], key: &SigningKeyPair) -> Reviewer {
    Reviewer {
        identity: identity.into(),
        display_name: identity.into(),
        roles: roles.iter().copied().collect::<BTreeSet<_>>(),
        tiers: tiers.iter().copied().collect(),
        keys: vec![key.public().clone()],
    }
}

#[test]
fn console_tokens_are_checked_for_key_party_audience_and_time() {
    let key = SigningKeyPair::from_seed([1; 32]);
    let rita = reviewer("user:rita", &[Role::Reviewer], &[Tier::High], &key);
    let token = mint_console_token(&key, "user:rita", "gw", now(), "j1");
    assert_eq!(
        check_console_token(&token, &rita, "gw", now()).unwrap().jti,
        "j1"
    );
    assert_eq!(
        check_console_token(&token, &rita, "other", now()),
        Err(TokenRejection::WrongParty)
    );
    assert_eq!(
        check_console_token(&token, &rita, "gw", now() + Duration::minutes(3)),
        Err(TokenRejection::Expired)
    );
    assert_eq!(
        check_console_token(&token, &rita, "gw", now() - Duration::minutes(2)),
        Err(TokenRejection::Expired)
    );
    let mallory = SigningKeyPair::from_seed([2; 32]);
    let forged = mint_console_token(&mallory, "user:rita", "gw", now(), "j2");
    assert_eq!(
        check_console_token(&forged, &rita, "gw", now()),
        Err(TokenRejection::BadSignature)
    );
    let as_decision = key.sign_jws(DECISION_TYP, &serde_json::json!({})).unwrap();
    assert!(matches!(
        check_console_token(&as_decision, &rita, "gw", now()),
        Err(TokenRejection::Malformed(_))
    ));
}

fn claims(iss: &str, decision: DecisionKind, reason: &str, flags: &[&str]) -> DecisionClaims {
    DecisionClaims {
        iss: iss.into(),
        aud: "gw".into(),
        jti: "d1".into(),
        iat: now().timestamp(),
        exp: now().timestamp() + 300,
        txn: "t".into(),
        request_id: "r".into(),
        request_digest: "sha256:r".into(),
        chain_digest: "sha256:c".into(),
        action_digest: "sha256:a".into(),
        decision,
        reason: reason.into(),
        flags_acknowledged: flags
            .iter()
            .map(|f| FindingCode::from(f.to_string()))
            .collect(),
        policy: PolicyRef {
            id: "default".into(),
            version: "1".into(),
        },
    }
}

#[test]
fn decision_rules_in_one_table() {
    let key = SigningKeyPair::from_seed([1; 32]);
    let rita = reviewer(
        "user:rita",
        &[Role::Reviewer],
        &[Tier::Medium, Tier::High],
        &key,
    );
    let sol = reviewer("user:sol", &[Role::Supervisor], &[Tier::High], &key);
    let parties = vec!["user:p".to_owned(), "agent:a".to_owned()];
    let clean = report(&[]);
    let warned = report(&[FindingCode::ScopeOverProvisioned]);
    let blocked = report(&[FindingCode::GhostPermission]);
    let default_rules = TierPolicy::default();
    // A policy where only supervisors decide, and an over-provisioned scope blocks reviewers.
    let strict = Policy::from_toml(
        "id = \"p\"\nversion = \"1\"\n[tiers.high]\ndeciders = [\"supervisor\"]\nblocking = [\"SCOPE_OVER_PROVISIONED\"]\n",
    )
    .unwrap()
    .tier(Tier::High);
    let subject = || DecisionSubject {
        request_id: "r".into(),
        txn: "t".into(),
        request_digest: "sha256:r".into(),
        chain_digest: "sha256:c".into(),
        action_digest: "sha256:a".into(),
    };
    let strict_target = |report| DecisionTarget {
        subject: subject(),
        tier: Tier::High,
        parties: &parties,
        report,
        policy: &strict,
    };
    let target = |tier, report| DecisionTarget {
        subject: subject(),
        tier,
        parties: &parties,
        report,
        policy: &default_rules,
    };
    use DecisionKind::*;
    let cases: Vec<(
        &Reviewer,
        DecisionClaims,
        DecisionTarget<'_>,
        Result<(), ErrorCode>,
    )> = vec![
        (
            &rita,
            claims("user:rita", Approve, "ok", &[]),
            target(Tier::High, &clean),
            Ok(()),
        ),
        (
            &rita,
            claims("user:rita", Approve, "", &[]),
            target(Tier::High, &clean),
            Err(ErrorCode::ReasonRequired),
        ),
        (
            &rita,
            claims("user:rita", Approve, "", &[]),
            target(Tier::Medium, &clean),
            Ok(()),
        ),
        (
            &rita,
            claims("user:rita", Reject, "", &[]),
            target(Tier::Medium, &clean),
            Err(ErrorCode::ReasonRequired),
        ),
        (
            &rita,
            claims("user:rita", Approve, "ok", &[]),
            target(Tier::Critical, &clean),
            Err(ErrorCode::Forbidden),
        ),
        (
            &rita,
            claims("user:rita", Approve, "ok", &[]),
            target(Tier::High, &warned),
            Err(ErrorCode::ReasonRequired),
        ),
        (
            &rita,
            claims("user:rita", Approve, "ok", &["SCOPE_OVER_PROVISIONED"]),
            target(Tier::High, &warned),
            Ok(()),
        ),
        (
            &rita,
            claims("user:rita", Approve, "ok", &["GHOST_PERMISSION"]),
            target(Tier::High, &blocked),
            Err(ErrorCode::ApprovalBlocked),
        ),
        (
            &rita,
            claims("user:rita", Reject, "ghost", &[]),
            target(Tier::High, &blocked),
            Ok(()),
        ),
        (
            &sol,
            claims("user:sol", Approve, "override", &[]),
            target(Tier::High, &blocked),
            Err(ErrorCode::ReasonRequired),
        ),
        (
            &sol,
            claims("user:sol", Approve, "override", &["GHOST_PERMISSION"]),
            target(Tier::High, &blocked),
            Ok(()),
        ),
        (
            &rita,
            claims("user:sol", Approve, "ok", &[]),
            target(Tier::High, &clean),
            Err(ErrorCode::DecisionInvalid),
        ),
        // The policy's deciders: a reviewer may not decide a supervisors-only tier.
        (
            &rita,
            claims("user:rita", Reject, "no", &[]),
            strict_target(&clean),
            Err(ErrorCode::Forbidden),
        ),
        (
            &sol,
            claims("user:sol", Approve, "ok", &[]),
            strict_target(&clean),
            Ok(()),
        ),
        // A warning the policy lists blocks like an error: only an acknowledged override.
        (
            &sol,
            claims("user:sol", Approve, "ok", &[]),
            strict_target(&warned),
            Err(ErrorCode::ReasonRequired),
        ),
        (
            &sol,
            claims("user:sol", Approve, "ok", &["SCOPE_OVER_PROVISIONED"]),
            strict_target(&warned),
            Ok(()),
        ),
    ];
    for (i, (who, claims, target, expected)) in cases.into_iter().enumerate() {
        let jws = key.sign_jws(DECISION_TYP, &claims).unwrap();
        let got = check_decision(&jws, who, &target, "gw", now())
            .map(|_| ())
            .map_err(|r| r.code);
        assert_eq!(got, expected, "case {i}");
    }
    // The principal or anyone in the chain may not decide.
    let principal = reviewer("user:p", &[Role::Reviewer], &[Tier::High], &key);
    let jws = key
        .sign_jws(DECISION_TYP, &claims("user:p", Approve, "mine", &[]))
        .unwrap();
    assert_eq!(
        check_decision(&jws, &principal, &target(Tier::High, &clean), "gw", now())
            .unwrap_err()
            .code,
        ErrorCode::SelfApproval
    );
}
