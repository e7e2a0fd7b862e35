//! RFC 9162 (RFC 6962) Merkle tree hashing and proofs.
//!
//! Leaf and node hashes carry different prefixes (0x00, 0x01) so a leaf can never pass for an
//! interior node. Proof generation works from the leaf hashes the gateway already stores;
//! verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 step by step, because a "simpler"
//! variant is where proof checkers usually go wrong.

use sha2::{Digest, Sha256};

use crate::AuditError;

/// A SHA-256 output: a leaf hash, a node hash or a tree root.
pub type Hash = [u8; 32];

/// The hash of one log entry: SHA-256(0x00 || data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(data);
    hasher.finalize().into()
}

/// The hash of an interior node: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The Merkle tree hash (MTH) over these leaf hashes.
pub fn tree_root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [leaf] => *leaf,
        _ => {
            let (left, right) = leaves.split_at(split_point(leaves.len()));
            node_hash(&tree_root(left), &tree_root(right))
        }
    }
}

/// The largest power of two strictly below `n` (for `n >= 2`): where RFC 9162 splits a tree.
fn split_point(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The leaf hashes of the tree of `size`, or why `size` is not available.
fn first(leaves: &[Hash], size: u64) -> Result<&[Hash], AuditError> {
    usize::try_from(size)
        .ok()
        .and_then(|n| leaves.get(..n))
        .ok_or(AuditError::SizeOutOfRange {
            size,
            available: leaves.len() as u64,
        })
}

/// The inclusion proof (audit path) for leaf `index` in the tree of the first `size` leaves.
///
/// `size` may be smaller than `leaves.len()`, so an entry can be proved against any earlier
/// checkpoint.
pub fn inclusion_proof(leaves: &[Hash], index: u64, size: u64) -> Result<Vec<Hash>, AuditError> {
    let tree = first(leaves, size)?;
    if index >= size {
        return Err(AuditError::IndexOutOfRange { index, size });
    }
    // `index < size <= leaves.len()`, so the conversion cannot truncate.
    let mut path = Vec::new();
    collect_path(index as usize, tree, &mut path);
    Ok(path)
}

/// RFC 9162 §2.1.3.1 PATH(m, D[n]), appended leaf-side first.
fn collect_path(m: usize, tree: &[Hash], path: &mut Vec<Hash>) {
    if tree.len() <= 1 {
        return;
    }
    let k = split_point(tree.len());
    let (left, right) = tree.split_at(k);
    if m < k {
        collect_path(m, left, path);
        path.push(tree_root(right));
    } else {
        collect_path(m - k, right, path);
        path.push(tree_root(left));
    }
}

/// Check that `leaf` is at `index` in the tree of `size` leaves with this `root`
/// (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), AuditError> {
    if index >= size {
        return Err(AuditError::IndexOutOfRange { index, size });
    }
    let mut f_n = index;
    let mut s_n = size - 1;
    let mut r = *leaf;
    for p in proof {
        if s_n == 0 {
            return Err(AuditError::InclusionMismatch);
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n == 0 && r == *root {
        Ok(())
    } else {
        Err(AuditError::InclusionMismatch)
    }
}

/// The consistency proof from the tree of the first `old_size` leaves to the tree of the first
/// `new_size` leaves (RFC 9162 §2.1.4.1). Empty when `old_size` is 0 or equals `new_size`.
pub fn consistency_proof(
    leaves: &[Hash],
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, AuditError> {
    let tree = first(leaves, new_size)?;
    if old_size > new_size {
        return Err(AuditError::SizeDecrease { old_size, new_size });
    }
    let mut proof = Vec::new();
    if old_size > 0 {
        // `old_size <= new_size <= leaves.len()`, so the conversion cannot truncate.
        collect_subproof(old_size as usize, tree, true, &mut proof);
    }
    Ok(proof)
}

/// RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b), appended deepest first.
fn collect_subproof(m: usize, tree: &[Hash], complete: bool, proof: &mut Vec<Hash>) {
    let n = tree.len();
    if m == n {
        if !complete {
            proof.push(tree_root(tree));
        }
        return;
    }
    let k = split_point(n);
    let (left, right) = tree.split_at(k);
    if m <= k {
        collect_subproof(m, left, complete, proof);
        proof.push(tree_root(right));
    } else {
        collect_subproof(m - k, right, false, proof);
        proof.push(tree_root(left));
    }
}

/// Check that the tree of `new_size` leaves with `new_root` extends the tree of `old_size`
/// leaves with `old_root` (RFC 9162 §2.1.4.2).
///
/// Every tree extends the empty tree, but the old root must still be the empty root, so a
/// caller cannot accidentally accept a nonsensical old checkpoint.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<(), AuditError> {
    if old_size > new_size {
        return Err(AuditError::SizeDecrease { old_size, new_size });
    }
    if old_size == 0 {
        return if proof.is_empty() && *old_root == empty_root() {
            Ok(())
        } else {
            Err(AuditError::ConsistencyMismatch)
        };
    }
    if old_size == new_size {
        return if proof.is_empty() && old_root == new_root {
            Ok(())
        } else {
            Err(AuditError::ConsistencyMismatch)
        };
    }
    // Step 1: a non-trivial proof is never empty.
    let Some((head, rest)) = proof.split_first() else {
        return Err(AuditError::ConsistencyMismatch);
    };
    // Step 2: when the old tree is a complete subtree, its root is the implicit first hash.
    let (seed, path) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        (head, rest)
    };
    // Steps 3 and 4.
    let mut f_n = old_size - 1;
    let mut s_n = new_size - 1;
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    // Step 5.
    let mut f_r = *seed;
    let mut s_r = *seed;
    // Step 6.
    for c in path {
        if s_n == 0 {
            return Err(AuditError::ConsistencyMismatch);
        }
        if f_n & 1 == 1 || f_n == s_n {
            f_r = node_hash(c, &f_r);
            s_r = node_hash(c, &s_r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            s_r = node_hash(&s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    // Step 7.
    if f_r == *old_root && s_r == *new_root && s_n == 0 {
        Ok(())
    } else {
        Err(AuditError::ConsistencyMismatch)
    }
}
