#!/usr/bin/env bash
# Sets up everything (idempotently) and runs every check and test. This is the README's test
# command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

step() { printf '\n== %s\n' "$*"; }

step "format"
cargo fmt --all --check

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "wire types compile for the UI (wasm32)"
cargo check -p countersign-wire --target wasm32-unknown-unknown --locked

step "tests"
cargo test --workspace --locked --no-fail-fast

step "benchmarks compile (run them with: cargo bench -p countersign-chain)"
cargo bench --workspace --locked --no-run
