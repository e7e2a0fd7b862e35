#!/usr/bin/env bash
# Builds the UI and the console (UI embedded), then runs the end-to-end tests against the real
# app under Xvfb, in a private D-Bus session with a notification daemon. Screenshots land in
# docs/. The same builds as test.sh (scripts/build-flags.sh), so either reuses the other's.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/build-flags.sh
scripts/build-ui.sh --tests
cargo build "${NATIVE_BUILD[@]}" --all-targets
under_display cargo test "${NATIVE_BUILD[@]}" --test console
