//! Property tests: proofs verify at random sizes far beyond the exhaustive range, the frontier
//! agrees with the batch root, and no input makes a parser or verifier panic.

use countersign_audit::{
    Checkpoint, Frontier, Hash, NoteSigner, NoteVerifier, TlogProof, consistency_proof,
    inclusion_proof, leaf_hash, open_note, tree_root, verify_consistency, verify_inclusion,
};
use proptest::prelude::*;

use crate::support::{ORIGIN, signer};

fn salted_leaves(salt: u64, n: usize) -> Vec<Hash> {
    (0..n)
        .map(|i| leaf_hash(format!("{salt}:{i}").as_bytes()))
        .collect()
}

fn size_and_index() -> impl Strategy<Value = (usize, usize)> {
    (1usize..=600).prop_flat_map(|n| (Just(n), 0..n))
}

fn sizes_in_order() -> impl Strategy<Value = (usize, usize)> {
    (0usize..=600).prop_flat_map(|n| (0..=n, Just(n)))
}

/// A valid proof file, to mutate.
fn proof_file() -> (String, NoteVerifier) {
    let all = salted_leaves(0, 9);
    let log: NoteSigner = signer(ORIGIN, 1);
    let checkpoint = Checkpoint::new(ORIGIN, 9, tree_root(&all)).unwrap();
    let note = log.sign(&checkpoint.body()).unwrap();
    let file = TlogProof::prove(&all, 4, 9, &note).unwrap().to_string();
    (file, log.verifier())
}

proptest! {
    #[test]
    fn inclusion_proofs_verify((n, index) in size_and_index(), salt in any::<u64>()) {
        let all = salted_leaves(salt, n);
        let (i, size) = (index as u64, n as u64);
        let proof = inclusion_proof(&all, i, size).unwrap();
        prop_assert!(proof.len() <= 64);
        prop_assert!(verify_inclusion(&all[index], i, size, &proof, &tree_root(&all)).is_ok());
    }

    #[test]
    fn consistency_proofs_verify((m, n) in sizes_in_order(), salt in any::<u64>()) {
        let all = salted_leaves(salt, n);
        let proof = consistency_proof(&all, m as u64, n as u64).unwrap();
        let (old, new) = (tree_root(&all[..m]), tree_root(&all));
        prop_assert!(verify_consistency(m as u64, n as u64, &proof, &old, &new).is_ok());
    }

    #[test]
    fn frontier_matches_tree_root(hashes in proptest::collection::vec(any::<[u8; 32]>(), 0..300)) {
        prop_assert_eq!(Frontier::from_leaves(&hashes).root(), tree_root(&hashes));
    }

    #[test]
    fn random_inclusion_claims_fail_without_panicking(
        leaf in any::<[u8; 32]>(),
        index in any::<u64>(),
        size in any::<u64>(),
        proof in proptest::collection::vec(any::<[u8; 32]>(), 0..70),
        root in any::<[u8; 32]>(),
    ) {
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &root).is_err());
    }

    #[test]
    fn random_consistency_claims_fail_without_panicking(
        old_size in any::<u64>(),
        new_size in any::<u64>(),
        proof in proptest::collection::vec(any::<[u8; 32]>(), 1..70),
        old_root in any::<[u8; 32]>(),
        new_root in any::<[u8; 32]>(),
    ) {
        prop_assert!(verify_consistency(old_size, new_size, &proof, &old_root, &new_root).is_err());
    }

    #[test]
    fn parsers_never_panic(lines in "\\PC*(\n\\PC*){0,8}", raw in any::<String>()) {
        for text in [lines, raw] {
            let _ = Checkpoint::parse(&text);
            let _ = TlogProof::parse(&text);
            let _ = NoteVerifier::parse(&text);
            let _ = NoteSigner::from_signer_key(&text);
            let _ = open_note(&text, &[signer(ORIGIN, 1).verifier()]);
        }
    }

    #[test]
    fn mutated_proof_files_never_verify(at in any::<prop::sample::Index>(), insert in "\\PC{1,3}", delete in 0usize..4) {
        let (file, verifier) = proof_file();
        let verifies = |text: &str| {
            TlogProof::parse(text)
                .is_ok_and(|proof| proof.verify(b"0:4", ORIGIN, std::slice::from_ref(&verifier)).is_ok())
        };
        prop_assert!(verifies(&file));
        let at = at.index(file.len());
        if file.is_char_boundary(at) && file.is_char_boundary((at + delete).min(file.len())) {
            let mut mutated = file.clone();
            mutated.replace_range(at..(at + delete).min(file.len()), &insert);
            // The mutation may recreate the original text (e.g. replacing "x" by "x").
            prop_assert!(!verifies(&mutated) || mutated == file);
        }
    }
}
