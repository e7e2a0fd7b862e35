#!/usr/bin/env bash
# The latency the MCP approval proxy adds to a pass-through call (p50/p99 against calling the
# upstream directly, measured in the same run): builds the release `countersign`, prepares the
# SDK's virtualenv (scripts/test-python.sh --venv-only) and runs
# sdk/python/benchmarks/mcp_proxy_latency.py. Extra argument: the number of calls per side.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p countersign-cli
scripts/test-python.sh --venv-only
venv=${COUNTERSIGN_SDK_VENV:-$PWD/sdk/python/.venv}
"$venv/bin/python" sdk/python/benchmarks/mcp_proxy_latency.py \
  "${CARGO_TARGET_DIR:-target}/release/countersign" "$@"
