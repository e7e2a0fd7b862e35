//! One error type for the whole crate, so callers map failures to responses in one place.

/// Why an audit-log operation or check failed.
///
/// Variants are stable: callers (the gateway's error envelope, the CLI's exit codes) may match
/// on them. Messages name the rule that failed and never echo secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// A leaf index that does not exist in a tree of this size.
    #[error("index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree size it was asked against.
        size: u64,
    },
    /// A proof was asked for a tree larger than the leaves the caller holds.
    #[error("tree size {size} exceeds the {available} leaf hashes given")]
    SizeOutOfRange {
        /// The tree size asked for.
        size: u64,
        /// How many leaf hashes were given.
        available: u64,
    },
    /// A consistency proof between sizes that cannot be consistent (the old tree is larger).
    #[error("no consistency proof from size {old_size} to smaller size {new_size}")]
    SizeDecrease {
        /// The earlier tree size.
        old_size: u64,
        /// The later tree size.
        new_size: u64,
    },
    /// A stored frontier whose subtree count does not match its size (one per set bit).
    #[error("frontier of size {size} cannot have {subtrees} subtree roots")]
    MalformedFrontier {
        /// The stored tree size.
        size: u64,
        /// How many subtree roots were stored.
        subtrees: u64,
    },
    /// The inclusion proof does not lead from the leaf to the root (wrong hashes or length).
    #[error("inclusion proof does not match the root")]
    InclusionMismatch,
    /// The consistency proof does not lead to both roots (wrong hashes or length).
    #[error("consistency proof does not match the roots")]
    ConsistencyMismatch,
    /// A checkpoint body that does not follow c2sp.org/tlog-checkpoint.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    /// A signed note that does not follow c2sp.org/signed-note.
    #[error("malformed signed note: {0}")]
    MalformedNote(&'static str),
    /// A key name, verifier key or signer key string that cannot be used.
    #[error("malformed key: {0}")]
    MalformedKey(&'static str),
    /// A proof file that does not follow c2sp.org/tlog-proof.
    #[error("malformed tlog-proof: {0}")]
    MalformedProof(&'static str),
    /// A signature from a known key that does not verify; the whole note is rejected.
    #[error("signature by known key {name:?} does not verify")]
    BadSignature {
        /// The key name on the failing signature line.
        name: String,
    },
    /// No signature on the note comes from a key the caller trusts.
    #[error("no signature from a trusted key")]
    NoTrustedSignature,
    /// The checkpoint verified but belongs to another log.
    #[error("checkpoint origin {found:?} is not the expected {expected:?}")]
    OriginMismatch {
        /// The origin the caller trusts.
        expected: String,
        /// The origin on the checkpoint.
        found: String,
    },
    /// Fewer witnesses cosigned the checkpoint than the verifier's policy requires.
    #[error("{found} of the required {needed} witness cosignatures")]
    WitnessQuorum {
        /// Cosignatures the policy requires.
        needed: usize,
        /// Valid cosignatures from the policy's witnesses.
        found: usize,
    },
    /// A tile path or tile that does not follow c2sp.org/tlog-tiles.
    #[error("malformed tile: {0}")]
    MalformedTile(&'static str),
    /// An entry too long for a tlog-tiles entry bundle (a 16-bit length prefix).
    #[error("an entry of {0} bytes does not fit an entry bundle (at most 65535)")]
    EntryTooLarge(usize),
}
