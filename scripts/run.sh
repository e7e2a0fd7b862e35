#!/usr/bin/env bash
# Sets up everything (idempotently), builds the console with its UI embedded, and starts it.
# With no configuration the console runs its embedded demo: a gateway on loopback, a fresh
# local reviewer key, and the demo workflow submitting the brief's seven scenarios.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-ui.sh
cargo build --release --locked -p countersign-console --features custom-protocol
target="${CARGO_TARGET_DIR:-target}"
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "No display: run this from a desktop session, or under Xvfb: xvfb-run -a $0" >&2
  exit 1
fi
exec "$target/release/countersign-console"
