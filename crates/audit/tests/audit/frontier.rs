//! The incremental frontier agrees with the batch root at every size and survives a round trip
//! through storage.

use countersign_audit::{AuditError, Frontier, tree_root};

use crate::support::leaves;

#[test]
fn frontier_root_equals_tree_root_at_every_size() {
    let all = leaves(300);
    let mut frontier = Frontier::new();
    assert_eq!(frontier.root(), tree_root(&[]));
    for (n, leaf) in all.iter().enumerate() {
        frontier.append(*leaf);
        assert_eq!(frontier.size(), n as u64 + 1);
        assert_eq!(frontier.root(), tree_root(&all[..=n]), "size {}", n + 1);
        // O(log n) memory: one subtree root per set bit of the size.
        assert_eq!(frontier.subtrees().len(), (n + 1).count_ones() as usize);
    }
    assert_eq!(Frontier::from_leaves(&all), frontier);
}

#[test]
fn frontier_restores_from_its_parts() {
    let all = leaves(45);
    let frontier = Frontier::from_leaves(&all[..37]);
    let mut restored = Frontier::from_parts(frontier.size(), frontier.subtrees().to_vec()).unwrap();
    assert_eq!(restored, frontier);
    for leaf in &all[37..] {
        restored.append(*leaf);
    }
    assert_eq!(restored.root(), tree_root(&all));
}

#[test]
fn frontier_rejects_parts_that_do_not_fit_the_size() {
    let frontier = Frontier::from_leaves(&leaves(6));
    assert_eq!(
        Frontier::from_parts(7, frontier.subtrees().to_vec()),
        Err(AuditError::MalformedFrontier {
            size: 7,
            subtrees: 2
        })
    );
    assert!(Frontier::from_parts(0, frontier.subtrees().to_vec()).is_err());
    assert_eq!(Frontier::from_parts(0, Vec::new()), Ok(Frontier::new()));
    assert!(Frontier::from_parts(u64::MAX, vec![[0; 32]; 64]).is_err());
    let mut huge = Frontier::from_parts((1 << 63) - 1, vec![[0; 32]; 63]).unwrap();
    huge.append([1; 32]);
    assert_eq!(huge.subtrees().len(), 1);
}
