//! Builders for signed delegation chains, and the brief's seven demo scenarios.
//!
//! Tests, benchmarks, the fuzz seeds, `countersign demo-requests` and the console's embedded
//! demo all build requests here instead of copying JSON around, so a change to the contract
//! is made once.

#![deny(missing_docs)]

mod build;
pub mod demo;
pub mod python;
pub mod synthetic;

pub use build::{Cast, ChainDraft, HopDraft, Member, Prev, RequestDraft, evidence_item};
