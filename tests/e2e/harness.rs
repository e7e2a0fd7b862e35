//! End-to-end tests live in `e2e/console.rs`; run them with `scripts/e2e.sh`, which builds the
//! UI and the console and provides Xvfb, a D-Bus session and a notification daemon.
