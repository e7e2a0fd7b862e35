#!/usr/bin/env bash
# The Python SDK's tests (sdk/python) against the real `countersign` and `countersign-gateway`
# binaries on loopback. Idempotent: the virtualenv (sdk/python/.venv, or $COUNTERSIGN_SDK_VENV)
# is created from PyPI only when missing, and packages are installed only when an import fails.
# Binaries come from $COUNTERSIGN_BIN_DIR, else ${CARGO_TARGET_DIR:-target}/debug; a missing
# binary fails the run (nothing is skipped). Extra arguments go to pytest.
# `--venv-only` (as the first argument) prepares the virtualenv and the SDK, then stops before
# the binaries and the tests (scripts/python-api-docs.sh uses it).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv=${COUNTERSIGN_SDK_VENV:-$root/sdk/python/.venv}
venv_only=false
if [ "${1:-}" = "--venv-only" ]; then venv_only=true; shift; fi
export COUNTERSIGN_BIN_DIR=${COUNTERSIGN_BIN_DIR:-${CARGO_TARGET_DIR:-$root/target}/debug}
for bin in countersign countersign-gateway; do
  $venv_only || [ -x "$COUNTERSIGN_BIN_DIR/$bin" ] || {
    echo "test-python: $COUNTERSIGN_BIN_DIR/$bin is missing (cargo build -p countersign-cli -p countersign-gateway)" >&2
    exit 1
  }
done

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
py="$venv/bin/python"
"$py" -c 'import sys; assert sys.version_info >= (3, 10), sys.version' 
# Third-party packages (pinned to what was tested; PyPI only).
if ! "$py" -c 'import jwt, cryptography, rfc8785, httpx, pydantic, langgraph, langgraph.checkpoint.sqlite, agents, pytest, build, jsonschema, pdoc, mcp.client' 2>/dev/null; then
  "$py" -m pip install --quiet --upgrade pip
  "$py" -m pip install --quiet 'pyjwt[crypto]==2.15.1' 'cryptography==50.0.2' 'rfc8785==0.1.4' \
    'httpx==0.29.0' 'pydantic==2.14.4' 'langgraph==1.2.24' 'langgraph-checkpoint-sqlite==3.1.2' \
    'openai-agents==0.24.0' 'pytest==9.2.0' 'build==1.6.1' 'hatchling>=1.24' \
    'jsonschema==4.25.1' 'pdoc==16.0.0' 'mcp==2.3.0'
fi
# The SDK itself, installed as a user would (not editable), from this checkout, every run.
"$py" -m pip install --quiet --no-deps --no-build-isolation --force-reinstall "$root/sdk/python"
$venv_only && exit 0

cd "$root/sdk/python"
"$py" -m pytest -q "$@"
