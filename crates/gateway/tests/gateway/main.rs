//! The gateway over real HTTP on loopback, with a real SQLite file and a pinned clock.

mod crash;
mod decisions;
mod delivery;
mod demo;
mod intake;
mod support;
