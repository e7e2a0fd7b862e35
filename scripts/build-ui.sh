#!/usr/bin/env bash
# Builds the Leptos UI into ui/dist without trunk: cargo for wasm32, then wasm-bindgen (the
# version pinned in Cargo.lock, installed by setup.sh). No wasm-opt: Debian's is too old.
# Extra arguments go to cargo (test.sh passes --tests to build the UI's tests in the same go).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
cargo build --release --locked --target wasm32-unknown-unknown -p countersign-ui --lib "$@"
find ui/dist -mindepth 1 ! -name .gitkeep -delete
wasm-bindgen --target web --no-typescript --out-dir ui/dist "$target/wasm32-unknown-unknown/release/countersign_ui.wasm"
cp ui/index.html ui/main.js ui/style.css ui/dist/
