# Sourced by test.sh and e2e.sh: what their builds share, so that each reuses the other's.
#
# One package selection and one feature set for every native build and test run. A `-p` build
# (or `--exclude` of one more package) resolves features differently and recompiles hundreds of
# dependencies; so the console is built with its UI embedded (`custom-protocol`) in the same
# invocation as every test, and the end-to-end tests run in the same `cargo test`. The UI is
# left out of the native builds: it is a wasm32 crate, linted, built and tested as one.
NATIVE_BUILD=(--workspace --exclude countersign-ui --features countersign-console/custom-protocol --locked)
# The UI: release, since the same build is what the console embeds and what its tests run in.
UI_BUILD=(--release --target wasm32-unknown-unknown -p countersign-ui --locked)

# Clippy compiles the workspace's own crates: `cargo clippy` only type-checks, so it builds every
# dependency a second time in check mode; as the workspace wrapper it lints each target while
# building it for real, dependencies once. `-D warnings` as `cargo clippy -- -D warnings` passes
# it. Lint levels beyond that are the workspace's `[workspace.lints]`.
export RUSTC_WORKSPACE_WRAPPER=clippy-driver
export CLIPPY_ARGS=-Dwarnings

# Runs a command on a private X display (Xvfb) in a private D-Bus session with a notification
# daemon: what the console's end-to-end tests and its benchmark need.
under_display() {
  xvfb-run -a -s "-screen 0 1440x960x24" dbus-run-session -- scripts/with-notifications.sh "$@"
}
