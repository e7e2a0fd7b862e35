//! Interop with a standard JOSE library and an independent JCS implementation, in both
//! directions: PyJWT verifies what Rust signs, Rust verifies a chain Python signs, and
//! `rfc8785` (Python) computes the same digests as the Rust side.
//!
//! The interpreter comes from `COUNTERSIGN_PYTHON` or the workspace `.venv` that
//! `scripts/setup.sh` creates; without it this test fails and says how to fix that.

use std::path::PathBuf;

use countersign_chain::digest::json_digest;
use countersign_chain::{TrustIndex, verify_value};
use countersign_wire::TrustStore;
use serde_json::{Value, json};

use crate::support::{Fixture, assert_findings, now};

fn run_python(mode: &str, input: &Value) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/jose_interop.py");
    countersign_scenarios::python::run_json(&script, &[mode], input)
        .unwrap_or_else(|e| panic!("python {mode} failed: {e}"))
}

/// Values chosen where JCS implementations disagree when they are wrong: key order by UTF-16
/// code units (an emoji key sorts before U+E000), escapes, and ECMAScript number formatting.
fn tricky_values() -> Vec<Value> {
    let keys: Value =
        serde_json::from_str(r#"{"\ue000": 1, "😀": 2, "a": 3, "\u00e9": 4, "A": 5}"#).unwrap();
    vec![
        keys,
        json!({"text": "line\nbreak \"quoted\" \\ tab\t nul\u{0} ü 😀 \u{2028}", "empty": {}, "list": []}),
        json!({"numbers": [0, -0.0, 0.1, 1.5e-7, 4.5e-300, 0.000001, 123456789.125, 9007199254740991_u64, -42, 3.0]}),
        json!({"nested": {"z": [{"b": true, "a": null}], "y": "1000.00"}}),
    ]
}

#[test]
fn pyjwt_verifies_a_rust_signed_hop_and_rfc8785_matches_rust_digests() {
    let fixture = Fixture::new();
    let request = fixture.json();
    let token = request["chain"][1].as_str().unwrap();
    let jwk = fixture.cast.member("agent:a").key.public().to_jwk();
    let mut values = tricky_values();
    values.push(request.clone());
    let out = run_python(
        "verify-rust",
        &json!({"token": token, "jwk": jwk, "values": values}),
    );

    assert_eq!(out["header"]["alg"], "EdDSA");
    assert_eq!(out["header"]["typ"], "delegation-hop+jwt");
    assert_eq!(out["claims"]["iss"], "agent:a");
    assert_eq!(out["claims"]["sub"], "agent:b");
    let python_digests = out["digests"].as_array().unwrap();
    for (value, python_digest) in values.iter().zip(python_digests) {
        assert_eq!(
            &json!(json_digest(value).unwrap()),
            python_digest,
            "digest differs for {value}"
        );
    }
}

#[test]
fn rust_verifies_a_chain_signed_by_pyjwt_with_the_same_digests() {
    let out = run_python("python-chain", &json!({"now": now().timestamp()}));
    let trust: TrustStore = serde_json::from_value(out["trust"].clone()).unwrap();
    let trust = TrustIndex::from_store(&trust).unwrap();
    let report = verify_value(&out["request"], &trust, now()).report;
    assert_findings(&report, &[]);
    assert_eq!(
        report.request_digest.as_ref().unwrap(),
        out["digests"]["request"].as_str().unwrap()
    );
    assert_eq!(
        report.chain_digest.as_ref().unwrap(),
        out["digests"]["chain"].as_str().unwrap()
    );
    assert_eq!(
        report.action_digest.as_ref().unwrap(),
        out["digests"]["action"].as_str().unwrap()
    );

    // And a Python-signed chain is still held to the rules: tamper one argument.
    let mut tampered = out["request"].clone();
    tampered["action"]["arguments"]["amount"] = json!("99.99");
    let report = verify_value(&tampered, &trust, now()).report;
    assert!(
        report.has(&countersign_wire::FindingCode::ArgumentsDigestMismatch),
        "{report:#?}"
    );
}
