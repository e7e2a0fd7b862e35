//! The pure core of Countersign's tamper-evident audit log, in the shapes other transparency
//! tooling already reads:
//!
//! - [`merkle`]: RFC 9162 leaf and node hashes, tree roots, inclusion and consistency proofs.
//! - [`Frontier`]: the right edge of the tree, so the gateway appends in O(log n) memory.
//! - [`Checkpoint`]: the c2sp.org/tlog-checkpoint body (origin, size, root).
//! - [`note`]: c2sp.org/signed-note with Ed25519, key strings as in Go's `sumdb/note`.
//! - [`TlogProof`]: the c2sp.org/tlog-proof file an auditor verifies offline.
//! - [`tiles`]: c2sp.org/tlog-tiles paths, hash tiles and entry bundles.
//! - [`cosignature`]: c2sp.org/tlog-cosignature (Ed25519 v1) and the k-of-n witness policy.
//! - [`witness`]: the decision half of a c2sp.org/tlog-witness `add-checkpoint`.
//!
//! **Invariant:** no I/O, no clock, no async; bad input yields an [`AuditError`], never a
//! panic. Storage and scheduling live in the gateway and the store.
#![deny(missing_docs)]

mod checkpoint;
pub mod cosignature;
mod error;
mod frontier;
pub mod merkle;
pub mod note;
mod proof;
pub mod tiles;
pub mod witness;

pub use checkpoint::Checkpoint;
pub use cosignature::{Cosignature, Cosigner, WitnessKey, WitnessPolicy, with_cosignatures};
pub use error::AuditError;
pub use frontier::Frontier;
pub use merkle::{
    Hash, consistency_proof, empty_root, inclusion_proof, leaf_hash, node_hash, tree_root,
    verify_consistency, verify_inclusion,
};
pub use note::{
    NoteSigner, NoteVerifier, PinnedKeyError, VerifiedNote, open_note, parse_pinned_key, sign_note,
};
pub use proof::{MAX_PROOF_HASHES, TLOG_PROOF_HEADER, TlogProof};
pub use tiles::{Tile, TileKind};
pub use witness::{AddCheckpoint, WitnessRefusal, Witnessed, check_submission};
