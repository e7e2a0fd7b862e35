//! Shared fixtures: deterministic leaves and keys, hex, and one-bit tampering.

use countersign_audit::{Hash, NoteSigner, leaf_hash};
use ed25519_dalek::SigningKey;

/// The origin (and log key name) used throughout the tests.
pub const ORIGIN: &str = "countersign.example/audit/v1";

/// Leaf data for entry `i`: distinct for every `i`, like real audit events.
pub fn entry(i: usize) -> Vec<u8> {
    format!("{{\"seq\":{i},\"type\":\"decision_signed\"}}").into_bytes()
}

/// The leaf hashes of the first `n` entries.
pub fn leaves(n: usize) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&entry(i))).collect()
}

/// A signer with a fixed seed, so signatures are reproducible.
pub fn signer(name: &str, seed: u8) -> NoteSigner {
    NoteSigner::new(name, SigningKey::from_bytes(&[seed; 32])).unwrap()
}

/// Decode a 64-digit hex string.
pub fn hex(text: &str) -> Hash {
    assert_eq!(text.len(), 64, "{text}");
    let mut out = [0; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

/// The same hash with one bit flipped.
pub fn flipped(hash: &Hash) -> Hash {
    let mut out = *hash;
    out[31] ^= 0x01;
    out
}
