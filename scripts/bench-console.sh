#!/usr/bin/env bash
# The console benchmark (tests/benches/console.rs): builds the UI and the release console, then
# drives it under Xvfb through WebDriver with 10,000 pending requests and prints the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-ui.sh
cargo build --release --locked -p countersign-console --features custom-protocol
# The baseline the idle memory is compared with, in the same run.
cargo build --release --locked -p countersign-bare-window --features custom-protocol
cargo bench --locked -p countersign-e2e --bench console --no-run
target="${CARGO_TARGET_DIR:-target}"
export COUNTERSIGN_CONSOLE_BIN="$PWD/$target/release/countersign-console"
export COUNTERSIGN_BARE_WINDOW_BIN="$PWD/$target/release/countersign-bare-window"
case "$target" in /*)
  export COUNTERSIGN_CONSOLE_BIN="$target/release/countersign-console"
  export COUNTERSIGN_BARE_WINDOW_BIN="$target/release/countersign-bare-window" ;;
esac
xvfb-run -a -s "-screen 0 1440x960x24" dbus-run-session -- \
  cargo bench --locked -p countersign-e2e --bench console
