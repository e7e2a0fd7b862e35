//! A batch inclusion proof: the hashes of the largest subtrees of a size-N RFC 9162 tree that
//! hold none of the proven leaves. With the proven leaves themselves they rebuild the root,
//! so one proof covers any number of entries (one inclusion path per entry would make a
//! 100,000-record bundle hundreds of megabytes).

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use countersign_audit::{Hash, node_hash, tree_root};
use serde::{Deserialize, Serialize};

/// The hash of the subtree over leaves `[start, end)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofNode {
    /// First leaf.
    pub start: u64,
    /// One past the last leaf.
    pub end: u64,
    /// Base64 of the subtree hash.
    pub hash: String,
}

/// `audit/proof.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchProof {
    /// Tree size the proof is for (the checkpoint's).
    pub size: u64,
    /// Subtrees without proven leaves, left to right.
    pub nodes: Vec<ProofNode>,
}

/// RFC 9162 split point: the largest power of two below `n` (n > 1).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// The proof that the leaves at `proven` are in the tree over `leaves`.
pub fn prove(leaves: &[Hash], proven: &BTreeSet<u64>) -> BatchProof {
    fn walk(leaves: &[Hash], lo: u64, hi: u64, proven: &BTreeSet<u64>, out: &mut Vec<ProofNode>) {
        if proven.range(lo..hi).next().is_none() {
            let root = tree_root(&leaves[lo as usize..hi as usize]);
            out.push(ProofNode {
                start: lo,
                end: hi,
                hash: STANDARD.encode(root),
            });
        } else if hi - lo > 1 {
            let k = split(hi - lo);
            walk(leaves, lo, lo + k, proven, out);
            walk(leaves, lo + k, hi, proven, out);
        }
    }
    let size = leaves.len() as u64;
    let mut nodes = Vec::new();
    if size > 0 {
        walk(leaves, 0, size, proven, &mut nodes);
    }
    BatchProof { size, nodes }
}

/// Rebuilds the root from the proven leaves (index → leaf hash) and the proof; any missing,
/// extra or malformed node is an error.
pub fn root(proof: &BatchProof, proven: &BTreeMap<u64, Hash>) -> Result<Hash, String> {
    if let Some((&index, _)) = proven.range(proof.size..).next() {
        return Err(format!(
            "entry {index} is beyond the tree size {}",
            proof.size
        ));
    }
    if proof.size == 0 {
        return Err("the proof is for an empty tree".into());
    }
    let mut nodes = BTreeMap::new();
    for node in &proof.nodes {
        let hash: Hash = STANDARD
            .decode(&node.hash)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                format!(
                    "node {}..{} is not a 32-byte base64 hash",
                    node.start, node.end
                )
            })?;
        if nodes.insert((node.start, node.end), hash).is_some() {
            return Err(format!("node {}..{} appears twice", node.start, node.end));
        }
    }
    let mut used = 0usize;
    fn walk(
        lo: u64,
        hi: u64,
        proven: &BTreeMap<u64, Hash>,
        nodes: &BTreeMap<(u64, u64), Hash>,
        used: &mut usize,
    ) -> Result<Hash, String> {
        if proven.range(lo..hi).next().is_none() {
            *used += 1;
            return nodes
                .get(&(lo, hi))
                .copied()
                .ok_or_else(|| format!("the proof lacks the subtree {lo}..{hi}"));
        }
        if hi - lo == 1 {
            return proven
                .get(&lo)
                .copied()
                .ok_or_else(|| format!("entry {lo} is missing"));
        }
        let k = split(hi - lo);
        let left = walk(lo, lo + k, proven, nodes, used)?;
        let right = walk(lo + k, hi, proven, nodes, used)?;
        Ok(node_hash(&left, &right))
    }
    let root = walk(0, proof.size, proven, &nodes, &mut used)?;
    if used != nodes.len() {
        return Err(format!(
            "the proof has {} subtrees the tree does not need",
            nodes.len() - used
        ));
    }
    Ok(root)
}
