//! Export and offline verification of 100,000 review records (the brief's bar: ≤ 10 s for
//! both on this machine). Building the signed records is setup and is not timed.
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
}
