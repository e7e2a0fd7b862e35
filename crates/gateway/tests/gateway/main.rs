//! The gateway over real HTTP on loopback, with a real SQLite file and a pinned clock.

mod a2a;
mod audit;
mod crash;
mod decisions;
mod delivery;
mod demo;
mod envelopes;
mod intake;
mod mcp;
mod operations;
mod supervision;
mod transparency;
