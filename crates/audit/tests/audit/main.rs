//! Integration tests of the audit-log core: one module per concern, one test binary.

mod checkpoints;
mod frontier;
mod interop;
mod merkle_vectors;
mod notes;
mod proofs;
mod properties;
mod support;
mod tlog_proof;
mod witnessing;
