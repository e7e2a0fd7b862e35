//! The batch inclusion proof against the RFC 9162 root, exhaustively at small sizes.

use std::collections::{BTreeMap, BTreeSet};

use countersign_audit::{Hash, leaf_hash, tree_root};
use countersign_bundle::{BatchProof, prove_batch, root_of_batch};

fn leaves(n: u64) -> Vec<Hash> {
    (0..n)
        .map(|i| leaf_hash(format!("entry {i}").as_bytes()))
        .collect()
}

#[test]
fn every_subset_of_every_small_tree_rebuilds_the_root() {
    for n in 1..=10u64 {
        let all = leaves(n);
        let expected = tree_root(&all);
        for mask in 0u32..(1 << n) {
            let proven: BTreeSet<u64> = (0..n).filter(|i| mask & (1 << i) != 0).collect();
            let proof = prove_batch(&all, &proven);
            let entries: BTreeMap<u64, Hash> =
                proven.iter().map(|&i| (i, all[i as usize])).collect();
            assert_eq!(
                root_of_batch(&proof, &entries),
                Ok(expected),
                "n={n} mask={mask:b}"
            );
            // Any changed entry changes the root.
            if let Some((&first, _)) = entries.iter().next() {
                let mut changed = entries.clone();
                changed.insert(first, leaf_hash(b"other"));
                assert_ne!(root_of_batch(&proof, &changed), Ok(expected));
            }
        }
    }
}

#[test]
fn missing_extra_or_duplicated_nodes_are_refused() {
    let all = leaves(7);
    let proven: BTreeSet<u64> = [2, 5].into();
    let entries: BTreeMap<u64, Hash> = proven.iter().map(|&i| (i, all[i as usize])).collect();
    let proof = prove_batch(&all, &proven);
    let mut missing = proof.clone();
    missing.nodes.pop();
    assert!(
        root_of_batch(&missing, &entries)
            .unwrap_err()
            .contains("lacks the subtree")
    );
    let mut extra = proof.clone();
    extra.nodes.push(countersign_bundle::ProofNode {
        start: 2,
        end: 3,
        hash: extra.nodes[0].hash.clone(),
    });
    assert!(
        root_of_batch(&extra, &entries)
            .unwrap_err()
            .contains("does not need")
    );
    let mut twice = proof.clone();
    twice.nodes.push(twice.nodes[0].clone());
    assert!(
        root_of_batch(&twice, &entries)
            .unwrap_err()
            .contains("twice")
    );
    let beyond: BTreeMap<u64, Hash> = [(9, all[0])].into();
    assert!(
        root_of_batch(&proof, &beyond)
            .unwrap_err()
            .contains("beyond")
    );
    let empty = BatchProof {
        size: 0,
        nodes: Vec::new(),
    };
    assert!(root_of_batch(&empty, &BTreeMap::new()).is_err());
}
