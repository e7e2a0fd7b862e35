#!/usr/bin/env bash
# Inside Xvfb and a D-Bus session (see e2e.sh): a notification daemon, then the tests, one app
# at a time (each test launches the console through its own tauri-driver).
set -uo pipefail
cd "$(dirname "$0")/.."
dunst >/dev/null 2>&1 &
dunst_pid=$!
cargo test --locked -p countersign-e2e -- --test-threads=1
status=$?
kill "$dunst_pid" 2>/dev/null
exit $status
