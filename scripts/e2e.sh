#!/usr/bin/env bash
# Builds the UI and the console (UI embedded), then runs the end-to-end tests against the real
# app under Xvfb, in a private D-Bus session with a notification daemon. Screenshots land in docs/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-ui.sh
cargo build --locked -p countersign-console --features custom-protocol
cargo test --locked -p countersign-e2e --no-run
xvfb-run -a -s "-screen 0 1440x960x24" dbus-run-session -- scripts/e2e-session.sh
