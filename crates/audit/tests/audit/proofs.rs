//! Every inclusion and consistency proof in trees up to 64 leaves verifies, and altering any
//! part of the claim makes it fail.

use countersign_audit::{
    AuditError, Hash, consistency_proof, empty_root, inclusion_proof, tree_root,
    verify_consistency, verify_inclusion,
};

use crate::support::{flipped, leaves};

const MAX: usize = 64;

/// Every way to alter one hash of a proof: flip it, drop it, duplicate it.
fn altered_proofs(proof: &[Hash]) -> Vec<Vec<Hash>> {
    let mut out = Vec::new();
    for i in 0..proof.len() {
        let mut changed = proof.to_vec();
        changed[i] = flipped(&proof[i]);
        out.push(changed);
        let mut dropped = proof.to_vec();
        dropped.remove(i);
        out.push(dropped);
        let mut swapped = proof.to_vec();
        if i + 1 < proof.len() {
            swapped.swap(i, i + 1);
            if swapped != proof {
                out.push(swapped);
            }
        }
    }
    let mut longer = proof.to_vec();
    longer.push(proof.last().copied().unwrap_or_default());
    out.push(longer);
    out
}

#[test]
fn inclusion_proofs_verify_for_every_index_and_size() {
    let all = leaves(MAX + 1);
    let roots: Vec<Hash> = (0..=MAX + 1).map(|n| tree_root(&all[..n])).collect();
    for size in 1..=MAX {
        let root = roots[size];
        for index in 0..size {
            let (i, n) = (index as u64, size as u64);
            let proof = inclusion_proof(&all, i, n).unwrap();
            let leaf = all[index];
            verify_inclusion(&leaf, i, n, &proof, &root).unwrap();

            for bad in altered_proofs(&proof) {
                assert!(
                    verify_inclusion(&leaf, i, n, &bad, &root).is_err(),
                    "{i}/{n}"
                );
            }
            assert!(verify_inclusion(&flipped(&leaf), i, n, &proof, &root).is_err());
            assert!(verify_inclusion(&leaf, i, n, &proof, &flipped(&root)).is_err());
            for other in 0..size as u64 {
                if other != i {
                    assert!(verify_inclusion(&leaf, other, n, &proof, &root).is_err());
                }
            }
            // Another size with that size's true root: the old path never leads there.
            for other in [size - 1, size + 1] {
                if other > index {
                    let other_root = roots[other];
                    let result = verify_inclusion(&leaf, i, other as u64, &proof, &other_root);
                    assert!(result.is_err(), "{i}/{n} as size {other}");
                }
            }
        }
    }
}

#[test]
fn inclusion_rejects_index_at_or_beyond_size() {
    let all = leaves(4);
    let root = tree_root(&all);
    let proof = inclusion_proof(&all, 3, 4).unwrap();
    assert_eq!(
        verify_inclusion(&all[3], 4, 4, &proof, &root),
        Err(AuditError::IndexOutOfRange { index: 4, size: 4 })
    );
    assert!(verify_inclusion(&all[0], 0, 0, &[], &empty_root()).is_err());
    assert!(verify_inclusion(&all[0], u64::MAX, u64::MAX, &proof, &root).is_err());
    assert_eq!(
        inclusion_proof(&all, 4, 4),
        Err(AuditError::IndexOutOfRange { index: 4, size: 4 })
    );
    assert_eq!(
        inclusion_proof(&all, 0, 5),
        Err(AuditError::SizeOutOfRange {
            size: 5,
            available: 4
        })
    );
    assert!(inclusion_proof(&all, 0, u64::MAX).is_err());
}

#[test]
fn inclusion_against_an_earlier_size() {
    let all = leaves(20);
    let proof = inclusion_proof(&all, 3, 7).unwrap();
    verify_inclusion(&all[3], 3, 7, &proof, &tree_root(&all[..7])).unwrap();
}

#[test]
fn consistency_proofs_verify_for_every_pair_of_sizes() {
    let all = leaves(MAX + 1);
    let roots: Vec<Hash> = (0..=MAX + 1).map(|n| tree_root(&all[..n])).collect();
    for new in 0..=MAX {
        for old in 0..=new {
            let (m, n) = (old as u64, new as u64);
            let proof = consistency_proof(&all, m, n).unwrap();
            let (old_root, new_root) = (roots[old], roots[new]);
            verify_consistency(m, n, &proof, &old_root, &new_root).unwrap();

            if old == 0 || old == new {
                assert!(proof.is_empty(), "{m} -> {n}");
            } else {
                for bad in altered_proofs(&proof) {
                    let result = verify_consistency(m, n, &bad, &old_root, &new_root);
                    assert!(result.is_err(), "{m} -> {n}");
                }
            }
            let bad_old = verify_consistency(m, n, &proof, &flipped(&old_root), &new_root);
            assert!(bad_old.is_err(), "{m} -> {n} with another old root");
            if old > 0 {
                let bad_new = verify_consistency(m, n, &proof, &old_root, &flipped(&new_root));
                assert!(bad_new.is_err(), "{m} -> {n} with another new root");
            }
            // Other sizes, each with its true root: the proof is for this pair only.
            for other in [old.wrapping_sub(1), old + 1] {
                // (0 -> n) has an empty proof, and so does the true claim (n -> n).
                let trivially_true = other == new && proof.is_empty();
                if other <= new && other != old && other > 0 && !trivially_true {
                    let result =
                        verify_consistency(other as u64, n, &proof, &roots[other], &new_root);
                    assert!(result.is_err(), "{m} -> {n} as {other} -> {n}");
                }
            }
            for other in [new.wrapping_sub(1), new + 1] {
                if other >= old && other != new && other <= MAX + 1 && old > 0 {
                    let result =
                        verify_consistency(m, other as u64, &proof, &old_root, &roots[other]);
                    assert!(result.is_err(), "{m} -> {n} as {m} -> {other}");
                }
            }
        }
    }
}

#[test]
fn consistency_rejects_shrinking_and_unheld_sizes() {
    let all = leaves(8);
    let root = tree_root(&all);
    assert_eq!(
        consistency_proof(&all, 5, 4),
        Err(AuditError::SizeDecrease {
            old_size: 5,
            new_size: 4
        })
    );
    assert_eq!(
        verify_consistency(5, 4, &[], &root, &root),
        Err(AuditError::SizeDecrease {
            old_size: 5,
            new_size: 4
        })
    );
    assert!(consistency_proof(&all, 2, 9).is_err());
    // A non-trivial consistency claim needs a proof.
    assert_eq!(
        verify_consistency(3, 8, &[], &tree_root(&all[..3]), &root),
        Err(AuditError::ConsistencyMismatch)
    );
    // Equal sizes need equal roots and no proof.
    assert!(verify_consistency(8, 8, &[root], &root, &root).is_err());
    // Huge sizes are just wrong, not a panic.
    assert!(verify_consistency(u64::MAX - 1, u64::MAX, &[root; 3], &root, &root).is_err());
}
