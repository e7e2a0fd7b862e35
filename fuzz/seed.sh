#!/usr/bin/env bash
# Writes the seed corpus: the demo scenarios as of the fuzz target's pinned time.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p fuzz/corpus/verify_request
dir=$(mktemp -d)
cargo run -q -p countersign-cli -- demo-requests "$dir" --at 2026-11-22T09:00:00Z --run-id fuzz >/dev/null
cp "$dir"/0*.json fuzz/corpus/verify_request/
rm -rf "$dir"
