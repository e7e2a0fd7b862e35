//! The right edge of a growing Merkle tree, so appending never re-hashes old entries.

use crate::AuditError;
use crate::merkle::{Hash, empty_root, node_hash};

/// The roots of the complete subtrees that make up a tree of `size` leaves (one per set bit of
/// `size`, largest first): enough to append and to compute the root in O(log n) memory.
///
/// The gateway keeps one of these next to its leaf table; [`Frontier::subtrees`] and
/// [`Frontier::from_parts`] persist and restore it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    subtrees: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The frontier of the tree over these leaf hashes.
    pub fn from_leaves(leaves: &[Hash]) -> Self {
        let mut frontier = Self::new();
        for leaf in leaves {
            frontier.append(*leaf);
        }
        frontier
    }

    /// Restore a frontier from a stored size and its subtree roots (largest first).
    ///
    /// Sizes from 2^63 up are refused: no log gets there by appending, and refusing them
    /// keeps [`Frontier::append`] free of overflow.
    pub fn from_parts(size: u64, subtrees: Vec<Hash>) -> Result<Self, AuditError> {
        if size >= 1 << 63 || subtrees.len() != size.count_ones() as usize {
            return Err(AuditError::MalformedFrontier {
                size,
                subtrees: subtrees.len() as u64,
            });
        }
        Ok(Self { size, subtrees })
    }

    /// Add the next leaf hash; amortised O(1) node hashes, at most log2(size) of them.
    pub fn append(&mut self, leaf: Hash) {
        let mut carry = leaf;
        let mut size = self.size;
        // Each trailing 1 bit is a complete subtree of the new leaf's size: merge them.
        while size & 1 == 1 {
            let Some(left) = self.subtrees.pop() else {
                break;
            };
            carry = node_hash(&left, &carry);
            size >>= 1;
        }
        self.subtrees.push(carry);
        self.size += 1;
    }

    /// How many leaves the tree holds.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The roots of the complete subtrees, largest (leftmost) first.
    pub fn subtrees(&self) -> &[Hash] {
        &self.subtrees
    }

    /// The tree root, equal to [`tree_root`](crate::tree_root) over the same leaves.
    pub fn root(&self) -> Hash {
        let mut rest = self.subtrees.iter().rev();
        let Some(last) = rest.next() else {
            return empty_root();
        };
        rest.fold(*last, |right, left| node_hash(left, &right))
    }
}
