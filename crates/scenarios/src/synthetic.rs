//! Valid requests of any size, for benchmarks and load: a principal, a line of agents each
//! narrowing a payment limit, and as many evidence items as asked for.

use chrono::{DateTime, Duration, Utc};
use countersign_wire::{
    Action, AuthorizationDetail, EvidenceKind, Impact, PartyKind, Purpose, Tier, Uncertainty,
};
use serde_json::{Value, json};

use crate::{Cast, ChainDraft, RequestDraft, evidence_item};

/// `user:p` and agents `agent:0` … `agent:{hops - 1}`, all registered.
pub fn pay_cast(seed: &str, hops: usize) -> Cast {
    let mut cast = Cast::new(seed);
    cast.add("user:p", PartyKind::Human, "Pat Principal");
    for i in 0..hops {
        let agent = format!("agent:{i}");
        cast.add(&agent, PartyKind::Agent, &format!("Agent {i}"));
    }
    cast
}

/// What to build.
#[derive(Clone, Debug)]
pub struct PayRequest<'a> {
    /// Request id; also makes the transaction id and hop jtis unique.
    pub request_id: &'a str,
    /// Number of hops (the cast must have at least this many agents).
    pub hops: usize,
    /// Number of evidence items.
    pub evidence: usize,
    /// Impact tier.
    pub tier: Tier,
    /// Issue time of the chain and request.
    pub now: DateTime<Utc>,
}

impl PayRequest<'_> {
    /// The signed request as JSON: valid (no findings) at `now`.
    pub fn build(&self, cast: &Cast) -> Value {
        let path: Vec<String> = std::iter::once("user:p".to_owned())
            .chain((0..self.hops).map(|i| format!("agent:{i}")))
            .collect();
        let path_refs: Vec<&str> = path.iter().map(String::as_str).collect();
        let scopes: Vec<Vec<AuthorizationDetail>> = (0..self.hops)
            .map(|i| {
                serde_json::from_value(json!([{"type": "pay", "actions": ["send"], "locations": ["acct:ops"],
                    "constraints": {"max_amount": format!("{}.00", 10_000 - i * 10), "currency": "EUR", "payees": ["x", "y"]}}]))
                .unwrap_or_default()
            })
            .collect();
        let purpose = Purpose {
            id: "p".into(),
            text: "Pay supplier invoices".into(),
        };
        let txn = format!("txn-{}", self.request_id);
        let chain = ChainDraft::linked(
            cast,
            &txn,
            &purpose,
            &path_refs,
            scopes,
            self.now - Duration::minutes(5),
            self.now + Duration::hours(8),
        );
        let mut arguments = serde_json::Map::new();
        arguments.insert("amount".into(), json!("250.00"));
        arguments.insert("currency".into(), json!("EUR"));
        arguments.insert("payees".into(), json!("x"));
        let evidence = (0..self.evidence)
            .map(|i| {
                evidence_item(
                    &format!("ev{i}"),
                    if i % 2 == 0 {
                        EvidenceKind::Source
                    } else {
                        EvidenceKind::ToolOutput
                    },
                    &format!("agent:{}", i % self.hops.max(1)),
                    &format!("Invoice line {i}"),
                    "application/json",
                    &format!(r#"{{"line":{i},"amount":"250.00","currency":"EUR","payee":"x"}}"#),
                    self.now - Duration::minutes(1),
                )
            })
            .collect();
        let draft = RequestDraft {
            request_id: self.request_id.to_owned(),
            txn,
            created_at: self.now,
            expires_at: self.now + Duration::hours(1),
            principal: "user:p".into(),
            purpose,
            action: Action {
                action_type: "pay".into(),
                operation: "send".into(),
                resource: "acct:ops".into(),
                arguments,
                arguments_digest: String::new(),
                requested_by: path[self.hops].clone(),
                tool: None,
                impact: Impact {
                    tier: self.tier,
                    reversible: false,
                    value: None,
                },
                summary: format!("Pay 250.00 EUR to supplier x ({})", self.request_id),
            },
            evidence,
            uncertainty: Uncertainty {
                confidence: 0.9,
                method: "rule_based".into(),
                assumptions: vec!["The invoice is the supplier's latest".into()],
                known_unknowns: vec![],
                alternatives: vec![],
            },
            callback: None,
        };
        draft.to_json(chain.sign(cast))
    }
}
