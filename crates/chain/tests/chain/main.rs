//! Integration tests of the chain verifier: one module per concern, one test binary.

mod canonical;
mod findings;
mod interop;
mod malformed;
mod properties;
mod scenarios;
mod support;
