#!/usr/bin/env bash
# Sets up everything (idempotently) and runs the main job.
#
# Until the desktop console lands, the main job is the verifier on the brief's seven demo
# scenarios: it writes them to demo-out/ and prints each verification report.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release -q -p countersign-cli --locked
bin=target/release/countersign
[ -n "${CARGO_TARGET_DIR:-}" ] && bin="$CARGO_TARGET_DIR/release/countersign"
out=demo-out
"$bin" demo-requests "$out"
for request in "$out"/0*.json; do
  printf '\n== %s\n' "$request"
  "$bin" verify "$request" --trust "$out/trust.json" || true
done
