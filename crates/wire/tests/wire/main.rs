//! Round trips and tolerance of the wire types.

use countersign_wire::*;
use serde_json::json;

mod schema;
mod timestamp;

fn sample_request() -> serde_json::Value {
    json!({
        "schema": "countersign.request/v1",
        "request_id": "req-1",
        "txn": "txn-1",
        "created_at": "2026-11-22T08:00:00Z",
        "expires_at": "2026-11-22T09:00:00Z",
        "principal": "user:alice",
        "purpose": {"id": "p1", "text": "Refund order 1"},
        "chain": ["a.b.c"],
        "action": {
            "type": "refunds", "operation": "create", "resource": "orders/1",
            "arguments": {"amount": "12.50", "currency": "EUR"},
            "arguments_digest": "sha256:00",
            "requested_by": "agent:billing",
            "tool": {"name": "issue_refund", "server": "mcp://billing"},
            "impact": {"tier": "high", "reversible": false, "value": {"amount": "12.50", "currency": "EUR"}},
            "summary": "Refund 12.50 EUR"
        },
        "evidence": [{
            "id": "ev1", "kind": "tool_output", "produced_by": "agent:billing", "title": "t",
            "content_type": "text/plain", "content": "<script>alert(1)</script>",
            "digest": "sha256:11", "captured_at": "2026-11-22T07:59:00Z"
        }],
        "uncertainty": {"confidence": 0.4, "method": "self_reported", "assumptions": ["a"],
                        "known_unknowns": [], "alternatives": [{"summary": "s", "why_not": "w"}]},
        "callback": {"url": "http://127.0.0.1:9/hook"}
    })
}

#[test]
fn delegation_request_round_trips_through_json() {
    let value = sample_request();
    let request: DelegationRequest = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(request.action.impact.tier, Tier::High);
    assert_eq!(request.evidence[0].kind, EvidenceKind::ToolOutput);
    assert_eq!(serde_json::to_value(&request).unwrap(), value);
}

#[test]
fn unknown_fields_are_tolerated_for_forward_compatibility() {
    let mut value = sample_request();
    value["trace_context"] = json!({"trace_id": "abc"});
    value["action"]["impact"]["blast_radius"] = json!("team");
    let request: DelegationRequest = serde_json::from_value(value).unwrap();
    assert_eq!(request.request_id, "req-1");
}

#[test]
fn missing_required_field_is_an_error() {
    let mut value = sample_request();
    value.as_object_mut().unwrap().remove("principal");
    assert!(serde_json::from_value::<DelegationRequest>(value).is_err());
}

#[test]
fn finding_codes_round_trip_including_unknown_ones() {
    for code in FindingCode::KNOWN {
        let text = serde_json::to_string(&code).unwrap();
        assert_eq!(text, format!("\"{}\"", code.as_str()));
        assert_eq!(serde_json::from_str::<FindingCode>(&text).unwrap(), code);
    }
    let future: FindingCode = serde_json::from_str("\"SHADOW_HOP\"").unwrap();
    assert_eq!(future, FindingCode::Other("SHADOW_HOP".into()));
    assert_eq!(serde_json::to_string(&future).unwrap(), "\"SHADOW_HOP\"");
}

#[test]
fn only_scope_over_provisioned_is_a_warning() {
    let warnings: Vec<_> = FindingCode::KNOWN
        .iter()
        .filter(|c| c.severity() == Severity::Warning)
        .collect();
    assert_eq!(warnings, [&FindingCode::ScopeOverProvisioned]);
}

#[test]
fn report_serializes_in_contract_shape() {
    let report = VerificationReport {
        verdict: Verdict::Invalid,
        findings: vec![Finding::new(
            FindingCode::GhostPermission,
            Some(2),
            "adds data.export",
        )],
        request_digest: Some("sha256:aa".into()),
        chain_digest: Some("sha256:bb".into()),
        action_digest: None,
    };
    let value = serde_json::to_value(&report).unwrap();
    assert_eq!(
        value,
        json!({"verdict": "invalid",
               "findings": [{"code": "GHOST_PERMISSION", "severity": "error", "hop": 2, "detail": "adds data.export"}],
               "request_digest": "sha256:aa", "chain_digest": "sha256:bb", "action_digest": null})
    );
    assert_eq!(
        serde_json::from_value::<VerificationReport>(value).unwrap(),
        report
    );
}

#[test]
fn hop_and_decision_claims_round_trip() {
    let hop = json!({
        "iss": "user:alice", "sub": "agent:a", "jti": "j1", "iat": 1, "exp": 2, "txn": "t",
        "principal": "user:alice", "hop": 0, "max_depth": 2, "cnf": {"jkt": "k"},
        "authorization_details": [{"type": "payments.transfer", "actions": ["create"],
            "locations": ["acct:ops"], "constraints": {"max_amount": "500.00", "payees": ["DE89"]}}],
        "purpose": {"id": "p", "text": "pay"}, "evidence": [{"id": "ev1", "digest": "sha256:00"}]
    });
    let claims: HopClaims = serde_json::from_value(hop.clone()).unwrap();
    assert_eq!(serde_json::to_value(&claims).unwrap(), hop);

    let decision = json!({
        "iss": "reviewer:bob", "aud": "gw", "jti": "d1", "iat": 1, "exp": 61, "txn": "t",
        "request_id": "r", "request_digest": "sha256:1", "chain_digest": "sha256:2",
        "action_digest": "sha256:3", "decision": "approve", "reason": "ok",
        "flags_acknowledged": ["SCOPE_OVER_PROVISIONED"], "policy": {"id": "default", "version": "1"}
    });
    let claims: DecisionClaims = serde_json::from_value(decision.clone()).unwrap();
    assert_eq!(claims.decision, DecisionKind::Approve);
    assert_eq!(serde_json::to_value(&claims).unwrap(), decision);
}

#[test]
fn tiers_order_by_urgency() {
    assert!(Tier::Critical > Tier::High && Tier::High > Tier::Medium && Tier::Medium > Tier::Low);
}

#[test]
fn gateway_settings_say_what_is_wrong() {
    use countersign_wire::console::GatewaySettings;
    let good = GatewaySettings {
        url: "https://gateway.example.com".into(),
        identity: "user:alice".into(),
        display_name: "Alice".into(),
        audience: "approvals.example.com".into(),
    };
    assert!(good.problems().is_empty());
    let local = GatewaySettings {
        url: "http://127.0.0.1:8080".into(),
        ..good.clone()
    };
    assert!(local.problems().is_empty());
    for (url, expected) in [
        ("gateway.example.com", "must start with http"),
        ("ftp://gateway.example.com", "must start with http"),
        ("https://", "needs a host"),
        ("https:///path", "needs a host"),
        ("https://gate way", "cannot contain spaces"),
    ] {
        let bad = GatewaySettings {
            url: url.into(),
            ..good.clone()
        };
        let problems = bad.problems();
        assert_eq!(problems.len(), 1, "{url}: {problems:?}");
        assert!(problems[0].contains(expected), "{url}: {problems:?}");
    }
    let empty = GatewaySettings {
        identity: " ".into(),
        audience: String::new(),
        ..good
    };
    assert_eq!(empty.problems().len(), 2);
}

#[test]
fn console_exports_turn_dates_into_a_gateway_range_and_refuse_anything_else() {
    use countersign_wire::console::{ExportFormat, ExportRecords};
    let export = |from: &str, to: &str, ids: &[&str]| ExportRecords {
        format: ExportFormat::Csv,
        from: Some(from.into()),
        to: Some(to.into()),
        request_ids: ids.iter().map(|i| i.to_string()).collect(),
    };
    assert_eq!(export("", "", &[]).query().unwrap(), "");
    assert_eq!(
        export("2026-11-01", "2026-11-22", &[]).query().unwrap(),
        "from=2026-11-01T00:00:00Z&to=2026-11-22T23:59:59.999Z"
    );
    assert_eq!(
        export("", "", &["r1", "r2"]).query().unwrap(),
        "request_id=r1,r2"
    );
    let refused = export("1 Nov", "", &[]).query().unwrap_err();
    assert!(refused.contains("from must be a date"), "{refused}");
    assert!(export("", "2026-11-2x", &[]).query().is_err());
}
