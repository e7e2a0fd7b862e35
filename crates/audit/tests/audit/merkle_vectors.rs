//! Known answers: the empty tree, a tree hashed by hand, and the RFC 6962 test vectors used
//! by certificate-transparency and transparency-dev.

use countersign_audit::{
    consistency_proof, empty_root, inclusion_proof, leaf_hash, node_hash, tree_root,
    verify_consistency, verify_inclusion,
};
use sha2::{Digest, Sha256};

use crate::support::hex;

/// The leaf data of the RFC 6962 test tree.
fn rfc_leaves() -> Vec<[u8; 32]> {
    let data: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];
    data.iter().map(|d| leaf_hash(d)).collect()
}

#[test]
fn empty_tree_root_is_sha256_of_nothing() {
    let expected = hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_eq!(empty_root(), expected);
    assert_eq!(tree_root(&[]), expected);
}

#[test]
fn leaf_and_node_hashes_are_domain_separated() {
    let leaf: [u8; 32] = Sha256::new()
        .chain_update([0x00])
        .chain_update(b"abc")
        .finalize()
        .into();
    assert_eq!(leaf_hash(b"abc"), leaf);
    let node: [u8; 32] = Sha256::new()
        .chain_update([0x01])
        .chain_update(leaf)
        .chain_update(leaf)
        .finalize()
        .into();
    assert_eq!(node_hash(&leaf, &leaf), node);
    assert_ne!(leaf_hash(&[leaf, leaf].concat()), node);
}

#[test]
fn small_trees_match_hand_computed_roots() {
    let [a, b, c, d, e] = [b"a", b"b", b"c", b"d", b"e"].map(|x| leaf_hash(x));
    assert_eq!(tree_root(&[a]), a);
    assert_eq!(tree_root(&[a, b]), node_hash(&a, &b));
    // Three leaves: the left subtree is the largest power of two (2), the right is `c` alone.
    assert_eq!(tree_root(&[a, b, c]), node_hash(&node_hash(&a, &b), &c));
    let abcd = node_hash(&node_hash(&a, &b), &node_hash(&c, &d));
    assert_eq!(tree_root(&[a, b, c, d]), abcd);
    assert_eq!(tree_root(&[a, b, c, d, e]), node_hash(&abcd, &e));
}

#[test]
fn rfc6962_roots() {
    let expected = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    let leaves = rfc_leaves();
    for (n, root) in expected.iter().enumerate() {
        assert_eq!(tree_root(&leaves[..=n]), hex(root), "size {}", n + 1);
    }
}

#[test]
fn rfc6962_inclusion_proofs() {
    let leaves = rfc_leaves();
    let root = tree_root(&leaves);
    let cases: [(u64, [&str; 3]); 2] = [
        (
            0,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (index, path) in cases {
        let path = path.map(hex);
        assert_eq!(inclusion_proof(&leaves, index, 8).unwrap(), path);
        verify_inclusion(&leaves[index as usize], index, 8, &path, &root).unwrap();
    }
}

#[test]
fn rfc6962_consistency_proofs() {
    let leaves = rfc_leaves();
    let cases: [(u64, u64, &[&str]); 3] = [
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (m, n, proof) in cases {
        let proof: Vec<_> = proof.iter().map(|h| hex(h)).collect();
        assert_eq!(
            consistency_proof(&leaves, m, n).unwrap(),
            proof,
            "{m} -> {n}"
        );
        let (old, new) = (
            tree_root(&leaves[..m as usize]),
            tree_root(&leaves[..n as usize]),
        );
        verify_consistency(m, n, &proof, &old, &new).unwrap();
    }
}
