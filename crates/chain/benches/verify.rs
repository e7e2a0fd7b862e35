//! Chain verification cost against the cost of its signatures.
//!
//! Measures one raw Ed25519 `verify_strict`, and full verification (parse, JCS digests,
//! signatures, links, attenuation, action and evidence checks) of a 3-hop and a 20-hop
//! request. The ideal is "hops × raw verify"; after the run this prints the ratio to it.
//!
//! `cargo bench -p countersign-chain --bench verify`

use std::hint::black_box;
use std::path::PathBuf;

use chrono::{DateTime, Duration, TimeZone, Utc};
use countersign_chain::{SigningKeyPair, TrustIndex, verify_request};
use countersign_scenarios::{Cast, ChainDraft, RequestDraft, evidence_item};
use countersign_wire::{
    Action, AuthorizationDetail, EvidenceKind, Impact, PartyKind, Purpose, Tier, Uncertainty,
};
use criterion::Criterion;
use serde_json::{Value, json};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap()
}

/// A valid request with `hops` hops, each narrowing the payment limit.
fn request(hops: usize) -> (Vec<u8>, TrustIndex) {
    let mut cast = Cast::new("bench");
    let mut path = vec!["user:p".to_owned()];
    cast.add("user:p", PartyKind::Human, "P");
    for i in 0..hops {
        let agent = format!("agent:{i}");
        cast.add(&agent, PartyKind::Agent, &agent);
        path.push(agent);
    }
    let path_refs: Vec<&str> = path.iter().map(String::as_str).collect();
    let scopes: Vec<Vec<AuthorizationDetail>> = (0..hops)
        .map(|i| {
            serde_json::from_value(json!([{"type": "pay", "actions": ["send"], "locations": ["acct:ops"],
                "constraints": {"max_amount": format!("{}.00", 10_000 - i * 10), "currency": "EUR", "payees": ["x", "y"]}}]))
            .unwrap()
        })
        .collect();
    let purpose = Purpose {
        id: "p".into(),
        text: "Pay".into(),
    };
    let chain = ChainDraft::linked(
        &cast,
        "txn",
        &purpose,
        &path_refs,
        scopes,
        now() - Duration::minutes(5),
        now() + Duration::hours(8),
    );
    let Value::Object(arguments) = json!({"amount": "250.00", "currency": "EUR", "payees": "x"})
    else {
        unreachable!()
    };
    let draft = RequestDraft {
        request_id: "r".into(),
        txn: "txn".into(),
        created_at: now(),
        expires_at: now() + Duration::hours(1),
        principal: "user:p".into(),
        purpose,
        action: Action {
            action_type: "pay".into(),
            operation: "send".into(),
            resource: "acct:ops".into(),
            arguments,
            arguments_digest: String::new(),
            requested_by: path[hops].clone(),
            tool: None,
            impact: Impact {
                tier: Tier::High,
                reversible: false,
                value: None,
            },
            summary: "Pay 250 EUR".into(),
        },
        evidence: vec![evidence_item(
            "ev1",
            EvidenceKind::Source,
            "agent:0",
            "Invoice",
            "text/plain",
            "invoice: 250.00 EUR",
            now(),
        )],
        uncertainty: Uncertainty {
            confidence: 0.9,
            method: "rule_based".into(),
            assumptions: vec![],
            known_unknowns: vec![],
            alternatives: vec![],
        },
        callback: None,
    };
    let bytes = serde_json::to_vec(&draft.to_json(chain.sign(&cast))).unwrap();
    let trust = TrustIndex::from_store(&cast.trust_store()).unwrap();
    let report = verify_request(&bytes, &trust, now()).unwrap().report;
    assert!(
        report.findings.is_empty(),
        "bench request must be valid: {report:?}"
    );
    (bytes, trust)
}

fn benches(c: &mut Criterion) {
    let key = SigningKeyPair::from_seed([3; 32]);
    let message = b"eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJhZ2VudDphIiwic3ViIjoiYWdlbnQ6YiJ9";
    let signature = key.sign_raw(message);
    c.bench_function("ed25519_verify_strict", |b| {
        b.iter(|| {
            assert!(
                key.public()
                    .verify(black_box(message), black_box(&signature))
            )
        })
    });
    for hops in [3, 20] {
        let (bytes, trust) = request(hops);
        c.bench_function(&format!("verify_request_{hops}_hops"), |b| {
            b.iter(|| verify_request(black_box(&bytes), &trust, now()).unwrap())
        });
    }
}

fn mean_ns(id: &str) -> Option<f64> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let text =
        std::fs::read_to_string(target.join("criterion").join(id).join("new/estimates.json"))
            .ok()?;
    serde_json::from_str::<Value>(&text).ok()?["mean"]["point_estimate"].as_f64()
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion);
    criterion.final_summary();
    let Some(raw) = mean_ns("ed25519_verify_strict") else {
        return;
    };
    println!("\nraw Ed25519 verify_strict: {:.1} µs", raw / 1000.0);
    for hops in [3, 20] {
        if let Some(full) = mean_ns(&format!("verify_request_{hops}_hops")) {
            println!(
                "{hops:>2}-hop request: {:.1} µs per verification = {:.2}× the ideal of {hops} raw verifications",
                full / 1000.0,
                full / (raw * hops as f64)
            );
        }
    }
}
