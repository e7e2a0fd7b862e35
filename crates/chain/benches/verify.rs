//! Chain verification cost against the cost of its signatures.
//!
//! Measures one raw Ed25519 `verify_strict`, and full verification (parse, JCS digests,
//! signatures, links, attenuation, action and evidence checks) of a 3-hop and a 20-hop
//! request. The ideal is "hops × raw verify"; after the run this prints the ratio to it.
//!
//! `cargo bench -p countersign-chain --bench verify`

use std::hint::black_box;
use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};
use countersign_chain::{SigningKeyPair, TrustIndex, verify_request};
use countersign_scenarios::synthetic::{PayRequest, pay_cast};
use countersign_wire::Tier;
use criterion::Criterion;
use serde_json::Value;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap()
}

/// A valid request with `hops` hops, each narrowing the payment limit.
fn request(hops: usize) -> (Vec<u8>, TrustIndex) {
    let cast = pay_cast("bench", hops);
    let request = PayRequest {
        request_id: "r",
        hops,
        evidence: 1,
        tier: Tier::High,
        now: now(),
    }
    .build(&cast);
    let bytes = serde_json::to_vec(&request).unwrap();
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
