//! Export and offline verification of 100,000 review records (the brief's bar: ≤ 10 s for
//! both on this machine). Building the signed records is setup and is not timed.
//!
//! The baseline, measured in the same run: the signature floor, i.e. 4 strict Ed25519
//! verifications per record (3 hops and a decision) on all cores with nothing else. The
//! verifier's share of that floor is reported (the bar: ≥ 0.85).
//!
//! `cargo bench -p countersign-bundle` (set `BUNDLE_RECORDS` to change the count).

#[path = "../tests/bundle/fixture.rs"]
#[allow(dead_code)]
mod fixture;

use std::time::Instant;

use countersign_bundle::verify_bundle;

fn main() {
    let count: usize = std::env::var("BUNDLE_RECORDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let started = Instant::now();
    let fixture = fixture::Fixture::new(count);
    println!(
        "setup: {count} signed 3-hop records with a decision and 2 audit entries each, log of {} entries: {:.1} s",
        fixture.leaves.len(),
        started.elapsed().as_secs_f64()
    );
    let dir = tempfile::tempdir().expect("temporary directory");
    let bundle = dir.path().join("bundle");

    let started = Instant::now();
    let summary = fixture.write(&bundle);
    let export = started.elapsed().as_secs_f64();
    let size: u64 = [
        "MANIFEST.json",
        "records.jsonl",
        "audit/proof.json",
        "keys/identities.json",
    ]
    .iter()
    .filter_map(|f| std::fs::metadata(bundle.join(f)).ok())
    .map(|m| m.len())
    .sum();

    let started = Instant::now();
    let report = verify_bundle(&bundle, Some(&fixture.signer.verifier())).expect("readable");
    let verify = started.elapsed().as_secs_f64();
    assert!(
        report.ok,
        "the benchmark bundle must verify: {:?}",
        report.problems
    );

    println!(
        "export: {} records, {} entries, {:.1} MB: {export:.2} s",
        summary.records,
        summary.events,
        size as f64 / 1e6
    );
    println!(
        "verify-bundle: {verify:.2} s on {} threads ({:.0} records/s)",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        count as f64 / verify
    );
    println!(
        "export + verification: {:.2} s (target ≤ 10 s for 100,000)",
        export + verify
    );
    let floor = signature_floor(count * 4);
    println!(
        "signature floor: {} strict Ed25519 verifications on all cores: {floor:.2} s; \
         verify-bundle at {:.2} of the floor (target ≥ 0.85)",
        count * 4,
        floor / verify
    );
}

/// Seconds for `n` strict Ed25519 verifications of distinct messages, split across every core.
fn signature_floor(n: usize) -> f64 {
    use ed25519_dalek::{Signer as _, SigningKey};
    let key = SigningKey::from_bytes(&[7; 32]);
    let public = key.verifying_key();
    // As many distinct signed messages as a hop JWS is long, reused round-robin.
    let signed: Vec<(Vec<u8>, ed25519_dalek::Signature)> = (0..1024u32)
        .map(|i| {
            let message = format!("{i:0>600}").into_bytes();
            let signature = key.sign(&message);
            (message, signature)
        })
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let per_thread = n.div_ceil(threads);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let signed = &signed;
            scope.spawn(move || {
                for i in 0..per_thread {
                    let (message, signature) = &signed[(t * per_thread + i) % signed.len()];
                    assert!(public.verify_strict(message, signature).is_ok());
                }
            });
        }
    });
    started.elapsed().as_secs_f64()
}
