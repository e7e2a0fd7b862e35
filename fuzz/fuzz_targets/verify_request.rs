//! Request parsing + chain verification must never panic, whatever the bytes.
//!
//! The trust store is the demo's, so inputs mutated from the demo requests (the seed corpus
//! written by `seed.sh`) reach deep into signature, link and attenuation checks.
#![no_main]

use std::sync::LazyLock;

use chrono::{TimeZone, Utc};
use countersign_chain::{TrustIndex, verify_request};
use libfuzzer_sys::fuzz_target;

static TRUST: LazyLock<TrustIndex> = LazyLock::new(|| {
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap();
    let demo = countersign_scenarios::demo::demo(now, "fuzz");
    TrustIndex::from_store(&demo.trust_store()).unwrap()
});

fuzz_target!(|data: &[u8]| {
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap();
    if let Ok(verification) = verify_request(data, &TRUST, now) {
        // The report must always serialize: it is what the CLI prints and the gateway stores.
        serde_json::to_vec(&verification.report).unwrap();
    }
});
