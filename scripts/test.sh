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
cargo test --workspace --locked --no-fail-fast --exclude countersign-e2e

step "UI logic as WebAssembly (wasm-bindgen-test in Node)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test --locked --target wasm32-unknown-unknown -p countersign-ui --lib

step "end-to-end: the real console under Xvfb through WebDriver"
scripts/e2e.sh

step "benchmarks compile (run them with: cargo bench -p countersign-chain -p countersign-gateway -p countersign-bundle; scripts/bench-console.sh)"
cargo bench --locked --no-run -p countersign-chain -p countersign-gateway -p countersign-bundle -p countersign-e2e
