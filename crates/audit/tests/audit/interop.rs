//! Interop with an independent Python implementation (hashlib + `cryptography`), in both
//! directions: Python verifies the proof files and signed checkpoints Rust writes (and rejects
//! tampered ones), computes the same tree roots, and signs a note that Rust verifies.
//!
//! The interpreter comes from `COUNTERSIGN_PYTHON` or the workspace `.venv` that
//! `scripts/setup.sh` creates; without it this test fails and says how to fix that.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use countersign_audit::{Checkpoint, NoteVerifier, TlogProof, open_note, tree_root};
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};

use crate::support::{ORIGIN, entry, leaves, signer};

fn run_python(input: &Value) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/tlog_interop.py");
    countersign_scenarios::python::run_json(&script, &[], input)
        .unwrap_or_else(|e| panic!("python failed: {e}"))
}

#[test]
fn python_verifies_what_rust_writes_and_rust_verifies_what_python_signs() {
    const SIZE: usize = 23;
    let all = leaves(SIZE);
    let (log, witness) = (signer(ORIGIN, 1), signer("witness.example/w1", 2));
    let body = Checkpoint::new(ORIGIN, SIZE as u64, tree_root(&all))
        .unwrap()
        .body();
    // A witness cosignature Python does not know about must be ignored.
    let note = countersign_audit::sign_note(&body, &[&witness, &log]).unwrap();

    let mut proofs = Vec::new();
    let mut expected = Vec::new();
    for index in [0, 7, 16, 22] {
        let file = TlogProof::prove(&all, index as u64, SIZE as u64, &note)
            .unwrap()
            .with_extra(b"unauthenticated".to_vec())
            .to_string();
        proofs.push(json!({"file": file, "data": STANDARD.encode(entry(index))}));
        expected.push(true);
        // The wrong entry's data.
        proofs.push(json!({"file": file, "data": STANDARD.encode(entry(index + 1))}));
        expected.push(false);
    }
    let good = TlogProof::prove(&all, 5, SIZE as u64, &note).unwrap();
    let data = STANDARD.encode(entry(5));
    let tampered = [
        // Another index, same path.
        good.to_string().replacen("index 5", "index 4", 1),
        // One proof hash changed.
        {
            let mut path = good.path().to_vec();
            path[1][0] ^= 1;
            TlogProof::new(5, path, &note).unwrap().to_string()
        },
        // The checkpoint's size changed after signing.
        good.to_string()
            .replacen(&format!("\n{SIZE}\n"), &format!("\n{}\n", SIZE + 1), 1),
        // Signed only by a key Python does not trust.
        TlogProof::new(5, good.path().to_vec(), &witness.sign(&body).unwrap())
            .unwrap()
            .to_string(),
    ];
    for file in tampered {
        proofs.push(json!({"file": file, "data": data}));
        expected.push(false);
    }

    let seed = [0x42u8; 32];
    let python_text = format!("{ORIGIN}\n3\n{}\n", STANDARD.encode([5u8; 32]));
    let out = run_python(&json!({
        "origin": ORIGIN,
        "vkey": log.verifier().to_string(),
        "proofs": proofs,
        "leaves": (0..SIZE).map(|i| STANDARD.encode(entry(i))).collect::<Vec<_>>(),
        "sign": {
            "name": "python.example/log",
            "seed": seed.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "text": python_text,
        },
    }));

    let verified: Vec<bool> = serde_json::from_value(out["verified"].clone()).unwrap();
    assert_eq!(verified, expected);

    let roots: Vec<String> = serde_json::from_value(out["roots"].clone()).unwrap();
    assert_eq!(roots.len(), SIZE + 1);
    for (n, root) in roots.iter().enumerate() {
        let ours: String = tree_root(&all[..n])
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(root, &ours, "root of size {n}");
    }

    let rust_side = NoteVerifier::new(
        "python.example/log",
        SigningKey::from_bytes(&seed).verifying_key(),
    )
    .unwrap();
    let python_vkey = out["signed"]["vkey"].as_str().unwrap();
    assert_eq!(python_vkey, rust_side.to_string());
    let python_note = out["signed"]["note"].as_str().unwrap();
    let opened = open_note(python_note, &[NoteVerifier::parse(python_vkey).unwrap()]).unwrap();
    assert_eq!(opened.text(), python_text);
    assert_eq!(
        Checkpoint::parse(opened.text()).unwrap().size(),
        3,
        "Python's checkpoint body parses"
    );
}
