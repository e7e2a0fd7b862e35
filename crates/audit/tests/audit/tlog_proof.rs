//! tlog-proof files: exact layout, round trips, verification, and rejection of any single byte
//! changed anywhere in the file.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use countersign_audit::{
    AuditError, Checkpoint, MAX_PROOF_HASHES, NoteSigner, TLOG_PROOF_HEADER, TlogProof, tree_root,
};

use crate::support::{ORIGIN, entry, leaves, signer};

/// A log of `n` entries and its checkpoint at `size`, signed by the log key.
fn signed_log(n: usize, size: usize) -> (Vec<[u8; 32]>, NoteSigner, String) {
    let all = leaves(n);
    let log = signer(ORIGIN, 1);
    let checkpoint = Checkpoint::new(ORIGIN, size as u64, tree_root(&all[..size])).unwrap();
    let note = log.sign(&checkpoint.body()).unwrap();
    (all, log, note)
}

#[test]
fn layout_follows_c2sp() {
    let (all, _, note) = signed_log(5, 5);
    let proof = TlogProof::prove(&all, 2, 5, &note).unwrap();
    let file = proof.to_string();
    let mut lines = file.lines();
    assert_eq!(lines.next(), Some(TLOG_PROOF_HEADER));
    assert_eq!(lines.next(), Some("index 2"));
    for hash in proof.path() {
        assert_eq!(lines.next(), Some(STANDARD.encode(hash).as_str()));
    }
    assert_eq!(lines.next(), Some(""));
    assert!(file.ends_with(&format!("\n\n{note}")));
}

#[test]
fn every_entry_round_trips_and_verifies() {
    let (all, log, note) = signed_log(13, 13);
    for index in 0..13u64 {
        let proof = TlogProof::prove(&all, index, 13, &note).unwrap();
        let parsed = TlogProof::parse(&proof.to_string()).unwrap();
        assert_eq!(parsed, proof);
        let checkpoint = parsed
            .verify(&entry(index as usize), ORIGIN, &[log.verifier()])
            .unwrap();
        assert_eq!(checkpoint.size(), 13);
        assert_eq!(checkpoint.root(), &tree_root(&all));
    }
}

#[test]
fn proof_against_an_earlier_checkpoint() {
    let (all, log, note) = signed_log(20, 9);
    let proof = TlogProof::prove(&all, 8, 9, &note).unwrap();
    proof.verify(&entry(8), ORIGIN, &[log.verifier()]).unwrap();
    assert!(TlogProof::prove(&all, 9, 9, &note).is_err());
}

#[test]
fn extra_data_round_trips() {
    let (all, log, note) = signed_log(4, 4);
    let proof = TlogProof::prove(&all, 1, 4, &note)
        .unwrap()
        .with_extra(b"request 01JD".to_vec());
    let file = proof.to_string();
    assert!(file.starts_with(&format!(
        "{TLOG_PROOF_HEADER}\nextra cmVxdWVzdCAwMUpE\nindex 1\n"
    )));
    let parsed = TlogProof::parse(&file).unwrap();
    assert_eq!(parsed.extra(), Some(&b"request 01JD"[..]));
    parsed.verify(&entry(1), ORIGIN, &[log.verifier()]).unwrap();
}

#[test]
fn single_entry_log_has_an_empty_path() {
    let (all, log, note) = signed_log(1, 1);
    let proof = TlogProof::prove(&all, 0, 1, &note).unwrap();
    assert!(proof.path().is_empty());
    let parsed = TlogProof::parse(&proof.to_string()).unwrap();
    parsed.verify(&entry(0), ORIGIN, &[log.verifier()]).unwrap();
}

#[test]
fn verification_binds_data_origin_and_key() {
    let (all, log, note) = signed_log(6, 6);
    let proof = TlogProof::prove(&all, 3, 6, &note).unwrap();
    assert_eq!(
        proof.verify(&entry(4), ORIGIN, &[log.verifier()]),
        Err(AuditError::InclusionMismatch)
    );
    assert_eq!(
        proof.verify(&entry(3), "other.example/log", &[log.verifier()]),
        Err(AuditError::OriginMismatch {
            expected: "other.example/log".into(),
            found: ORIGIN.into()
        })
    );
    assert_eq!(
        proof.verify(&entry(3), ORIGIN, &[signer(ORIGIN, 2).verifier()]),
        Err(AuditError::NoTrustedSignature)
    );
}

#[test]
fn any_single_byte_change_is_rejected() {
    let (all, log, note) = signed_log(11, 11);
    let verifiers = [log.verifier()];
    for index in [0u64, 6, 10] {
        let file = TlogProof::prove(&all, index, 11, &note)
            .unwrap()
            .to_string();
        let data = entry(index as usize);
        let accepts = |bytes: &[u8]| {
            std::str::from_utf8(bytes)
                .ok()
                .and_then(|text| TlogProof::parse(text).ok())
                .is_some_and(|proof| proof.verify(&data, ORIGIN, &verifiers).is_ok())
        };
        assert!(accepts(file.as_bytes()));
        let mut bytes = file.clone().into_bytes();
        for at in 0..bytes.len() {
            let original = bytes[at];
            for replacement in [original ^ 0x01, original ^ 0x20, b'A', b'0', b'\n', b' '] {
                if replacement == original {
                    continue;
                }
                bytes[at] = replacement;
                assert!(
                    !accepts(&bytes),
                    "index {index}: byte {at} {:?} -> {:?} accepted",
                    original as char,
                    replacement as char
                );
            }
            bytes[at] = original;
        }
        // Truncation anywhere is rejected too.
        for end in 0..bytes.len() {
            assert!(!accepts(&bytes[..end]), "truncated to {end}");
        }
    }
}

#[test]
fn malformed_files_are_errors() {
    let (all, _, note) = signed_log(5, 5);
    let good = TlogProof::prove(&all, 2, 5, &note).unwrap().to_string();
    let hash = STANDARD.encode([9u8; 32]);
    let too_many = format!("{}\n", vec![hash.as_str(); MAX_PROOF_HASHES + 1].join("\n"));
    let bad = [
        String::new(),
        TLOG_PROOF_HEADER.into(),
        good.replacen("@v1", "@v2", 1),
        good.replacen("index 2", "index 02", 1),
        good.replacen("index 2", "index -2", 1),
        good.replacen("index 2", "index  2", 1),
        good.replacen("index 2", "index", 1),
        good.replacen("index 2\n", "", 1),
        good.replacen("index 2", "extra !!\nindex 2", 1),
        format!("{TLOG_PROOF_HEADER}\nindex 2\n{hash}\n"),
        format!("{TLOG_PROOF_HEADER}\nindex 2\n{hash}\n\n"),
        format!("{TLOG_PROOF_HEADER}\nindex 2\n{too_many}\n{note}"),
        format!("{TLOG_PROOF_HEADER}\nindex 2\n{}\n\n{note}", &hash[..43]),
    ];
    for text in bad {
        assert!(
            matches!(TlogProof::parse(&text), Err(AuditError::MalformedProof(_))),
            "{text:?}"
        );
    }
    assert!(TlogProof::new(0, vec![[0; 32]; MAX_PROOF_HASHES + 1], &note).is_err());
    assert!(TlogProof::new(0, Vec::new(), "").is_err());
}
