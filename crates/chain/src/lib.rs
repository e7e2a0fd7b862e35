//! The trustworthy core of Countersign: is this delegation chain what it claims to be?
//!
//! - [`digest`]: `sha256:` digests over bytes and over RFC 8785 (JCS) canonical JSON.
//! - [`ijson`]: I-JSON (RFC 7493) parsing: a member named twice is refused with its path.
//! - [`jose`]: Ed25519 keys, RFC 7638 thumbprints, compact JWS signing and parsing.
//! - [`trust`]: the pinned trust store, the only place keys come from.
//! - [`verify`]: the chain verifier that turns a DelegationRequest into a
//!   [`VerificationReport`](countersign_wire::VerificationReport).
//! - [`attenuation`]: the "child ⊆ parent" rule and the action-against-leaf-scope rule.
//!
//! **Invariant:** nothing here does I/O or reads the clock; "now" is an argument, so results
//! are reproducible and tests pin time.
#![deny(missing_docs)]

pub mod attenuation;
pub mod digest;
pub mod ijson;
pub mod jose;
pub mod trust;
pub mod verify;

pub use jose::{
    CompactJws, JwkError, JwsError, PublicKey, SigningKeyPair, TypedJwsError, Verified,
    verify_typed,
};
pub use trust::{TrustError, TrustIndex};
pub use verify::{
    MAX_HOPS, MAX_REQUEST_BYTES, NotJson, SignerStatus, Verification, VerifiedHop, verify_request,
    verify_value,
};
