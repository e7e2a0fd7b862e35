//! The Countersign wire contract v1 as Rust types.
//!
//! Everything that crosses a process boundary (gateway HTTP, console IPC, files the CLI reads
//! and writes) is one of these types, so the gateway, the CLI and the Leptos UI share them and
//! `cargo check` is the contract test between them. The crate is serde-only and compiles to
//! `wasm32-unknown-unknown`.
//!
//! Shapes follow `shared/BRIEF.md` ("Wire contract v1"). Unknown fields are ignored on input
//! (the contract grows by adding fields), and values that are signed or digested (amounts,
//! ids) are strings. Times inside JWS claims are NumericDate seconds. Times the gateway or the
//! console write are [`Timestamp`]s (one RFC 3339 text form); times a workflow wrote inside
//! what it submits (`created_at`, `expires_at`, `captured_at`, a receipt's `executed_at`) stay
//! its own text, because they are digested and shown as sent.
#![deny(missing_docs)]

pub mod api;
pub mod console;
mod finding;
mod request;
mod requirements;
mod role;
pub mod schema;
mod timestamp;
mod token;
mod trust;

pub use finding::{Finding, FindingCode, Severity, Verdict, VerificationReport};
pub use request::{
    Action, Alternative, Callback, DelegationRequest, EscalationAsk, Evidence, EvidenceKind,
    Impact, Money, Purpose, REQUEST_SCHEMA, Tier, Tool, Uncertainty,
};
pub use requirements::{DecisionRequirements, Unmet};
pub use role::Role;
pub use timestamp::{Timestamp, TimestampError};
pub use token::{
    AuthorizationDetail, Confirmation, DECISION_TYP, DecisionClaims, DecisionKind, DecisionSubject,
    EvidenceCommitment, HOP_TYP, HopClaims, JwsHeader, PolicyRef,
};
pub use trust::{Jwk, Party, PartyKind, TrustStore};
