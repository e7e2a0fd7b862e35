//! A valid three-hop fixture that each test bends in exactly one way.

use chrono::{DateTime, Duration, TimeZone, Utc};
use countersign_chain::{TrustIndex, verify_value};
use countersign_scenarios::{Cast, ChainDraft, RequestDraft, evidence_item};
use countersign_wire::{
    Action, AuthorizationDetail, EvidenceKind, FindingCode, Impact, PartyKind, Purpose, Tier,
    Uncertainty, Verdict, VerificationReport,
};
use serde_json::{Value, json};

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap()
}

pub fn scope(value: Value) -> Vec<AuthorizationDetail> {
    serde_json::from_value(value).unwrap()
}

pub struct Fixture {
    pub cast: Cast,
    pub request: RequestDraft,
    pub chain: ChainDraft,
}

impl Fixture {
    /// user:p → agent:a → agent:b → agent:c, each hop narrowing; agent:c pays 250 EUR to x.
    pub fn new() -> Self {
        let mut cast = Cast::new("chain tests");
        cast.add("user:p", PartyKind::Human, "P")
            .add("agent:a", PartyKind::Agent, "A")
            .add("agent:b", PartyKind::Agent, "B")
            .add("agent:c", PartyKind::Agent, "C")
            .add("service:grants", PartyKind::Service, "Grant issuer")
            .add_unregistered("forger", "Forger");
        let purpose = Purpose {
            id: "pay-invoice-1".into(),
            text: "Pay invoice 1".into(),
        };
        let Value::Object(arguments) =
            json!({"amount": "250.00", "currency": "EUR", "payees": "x"})
        else {
            unreachable!()
        };
        let request = RequestDraft {
            request_id: "req-1".into(),
            txn: "txn-1".into(),
            created_at: now() - Duration::minutes(5),
            expires_at: now() + Duration::hours(1),
            principal: "user:p".into(),
            purpose: purpose.clone(),
            action: Action {
                action_type: "pay".into(),
                operation: "send".into(),
                resource: "acct:ops".into(),
                arguments,
                arguments_digest: String::new(),
                requested_by: "agent:c".into(),
                tool: None,
                impact: Impact {
                    tier: Tier::High,
                    reversible: false,
                    value: None,
                },
                summary: "Pay 250 EUR to x".into(),
            },
            evidence: vec![evidence_item(
                "ev1",
                EvidenceKind::ToolOutput,
                "agent:a",
                "Invoice",
                "text/plain",
                "invoice 1: 250.00 EUR to x",
                now(),
            )],
            uncertainty: Uncertainty {
                confidence: 0.8,
                method: "self_reported".into(),
                assumptions: vec![],
                known_unknowns: vec![],
                alternatives: vec![],
            },
            callback: None,
        };
        let mut chain = ChainDraft::linked(
            &cast,
            "txn-1",
            &purpose,
            &["user:p", "agent:a", "agent:b", "agent:c"],
            vec![
                scope(
                    json!([{"type": "pay", "actions": ["send", "refund"], "locations": ["acct:ops", "acct:payroll"],
                              "constraints": {"max_amount": "1000.00", "currency": "EUR", "payees": ["x", "y", "z"]}},
                             {"type": "ledger.read", "actions": ["read"]}]),
                ),
                scope(
                    json!([{"type": "pay", "actions": ["send", "refund"], "locations": ["acct:ops"],
                              "constraints": {"max_amount": "500.00", "currency": "EUR", "payees": ["x", "y"]}}]),
                ),
                scope(
                    json!([{"type": "pay", "actions": ["send"], "locations": ["acct:ops"],
                              "constraints": {"max_amount": "400.00", "currency": "EUR", "payees": ["x"]}}]),
                ),
            ],
            now() - Duration::minutes(10),
            now() + Duration::hours(8),
        );
        chain.hops[1].claims.evidence = vec![request.commitment("ev1")];
        Fixture {
            cast,
            request,
            chain,
        }
    }

    pub fn trust(&self) -> TrustIndex {
        TrustIndex::from_store(&self.cast.trust_store()).unwrap()
    }

    pub fn json(&self) -> Value {
        self.request.to_json(self.chain.sign(&self.cast))
    }

    pub fn verify(&self) -> VerificationReport {
        self.verify_json_at(&self.json(), now())
    }

    pub fn verify_json_at(&self, value: &Value, at: DateTime<Utc>) -> VerificationReport {
        verify_value(value, &self.trust(), at).report
    }
}

/// Asserts the report has exactly these findings (code and hop), in any order.
#[track_caller]
pub fn assert_findings(report: &VerificationReport, expected: &[(FindingCode, Option<u32>)]) {
    let mut got: Vec<_> = report
        .findings
        .iter()
        .map(|f| (f.code.clone(), f.hop))
        .collect();
    let mut want = expected.to_vec();
    got.sort();
    want.sort();
    assert_eq!(got, want, "findings differ; full report: {report:#?}");
    let errors = report
        .findings
        .iter()
        .any(|f| f.severity == countersign_wire::Severity::Error);
    assert_eq!(
        report.verdict,
        if errors {
            Verdict::Invalid
        } else {
            Verdict::Valid
        }
    );
    for finding in &report.findings {
        assert!(
            !finding.detail.is_empty(),
            "every finding explains itself: {finding:?}"
        );
    }
}
